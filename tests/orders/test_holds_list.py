"""The holds queue as a list: reason filter with search and store, sort, and downloads of exactly what is filtered."""

import csv
import io

import openpyxl
import pytest

from orders.routing.services import route_orders
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant
from tests.orders.routing_factories import activate_rules, make_order


@pytest.fixture
def queue(console, catalog, store):
    """Held: two by the tag rule (one of another store, one with a formula-like buyer), one by an unmapped SKU;
    one routed."""
    activate_rules(("hold", {"tags": ["review"]}))
    other = StoreFactory(name="Second shop")
    orders = [
        make_order(store, ("A", 1), external_id="H-1", tags=("review",), email="zoe@shop.test", name="Zoe"),
        make_order(other, ("A", 2), external_id="H-2", tags=("review",), email="amy@shop.test", name="=cmd|x"),
        make_order(store, ("UNKNOWN", 1), external_id="H-3", email="bob@shop.test", name="Bob"),
        make_order(store, ("A", 1), external_id="H-4"),
    ]
    route_orders(order_ids=[o.pk for o in orders], trigger="ingest")
    return orders, other


def _numbers(console, query: str) -> list[str]:
    return [row["order"].order_number for row in console.get(f"/orders/holds/?{query}").context["rows"]]


def test_reason_search_and_store_filters_combine_with_a_sort(console, queue):
    _orders, other = queue

    assert _numbers(console, "") == ["#H-1", "#H-2", "#H-3"]
    assert _numbers(console, "reason=hold_tag&sort=-total") == ["#H-2", "#H-1"]
    assert _numbers(console, "reason=hold_tag&q=zoe") == ["#H-1"]
    assert _numbers(console, f"store={other.pk}") == ["#H-2"]
    assert _numbers(console, "reason=unmapped_sku&q=zoe") == []


def test_filters_keep_their_values_and_an_empty_result_says_what_to_do(console, queue):
    body = console.get("/orders/holds/?reason=unmapped_sku&q=nobody").content.decode()

    assert 'value="nobody"' in body and 'name="reason" value="unmapped_sku"' in body
    assert "No held order matches these filters." in body


def test_csv_export_holds_exactly_the_filtered_held_orders_with_their_reasons(console, queue):
    response = console.get("/orders/holds/?reason=hold_tag&export=csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Order", "Store", "Placed", "Buyer", "Total", "Currency", "Why it is held"]
    assert [row[0] for row in rows[1:]] == ["#H-1", "#H-2"]
    assert rows[2][3] == "'=cmd|x"  # neutralised
    assert "tagged review" in rows[1][6]


def test_xlsx_export_matches_the_page(console, queue):
    response = console.get("/orders/holds/?q=bob&export=xlsx")

    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    assert [row[0] for row in rows[1:]] == ["#H-3"]
    assert "not mapped" in rows[1][6]


def test_export_never_holds_another_tenants_orders(console, queue, tenant_b):
    with in_tenant(tenant_b):
        theirs = make_order(StoreFactory(name="B"), ("UNKNOWN", 1), external_id="THEIRS")
        route_orders(order_ids=[theirs.pk], trigger="ingest")
        theirs.refresh_from_db()
        assert theirs.status == "held"

    rows = list(csv.reader(io.StringIO(b"".join(console.get("/orders/holds/?export=csv").streaming_content).decode())))
    assert "#THEIRS" not in {row[0] for row in rows}


def test_supplier_and_finance_cannot_download_the_holds(tenant_a, make_user, make_supplier, client_for, queue):
    supplier = make_user(tenant_a, "supplier", supplier=make_supplier(tenant_a))
    for user in (supplier, make_user(tenant_a, "finance")):
        assert client_for(tenant_a, user).get("/orders/holds/?export=csv").status_code == 403
