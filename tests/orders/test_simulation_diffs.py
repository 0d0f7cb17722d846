"""The simulation page: progress while it runs, then the orders decided differently — filtered, sorted, paged
and downloaded (CSV, XLSX) — with money in each currency's decimals."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.utils import translation

from orders.models import Order, Simulation
from orders.routing import simulation
from tests.orders.factories import RuleFactory, RuleSetFactory, SimulationFactory
from tests.orders.routing_factories import activate_rules, make_store, make_supplier, mapped_product, recent_order


@pytest.fixture(autouse=True)
def _english_after():
    # A request leaves its language active in the thread; the next test starts in English.
    yield
    translation.activate("en")


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(book.active.iter_rows(values_only=True))


@pytest.fixture
def done(store, operator):
    """A finished simulation: the active set holds totals above 100, the draft holds VIPs and buys cheap.

    small   A×2  (total 20,  first store)   moves First → Second
    vip     A×1  (total 10,  second store)  newly held, moves
    big     A×20 (total 200, first store)   no longer held, moves
    same    B×1                             decided the same: not listed
    """
    first, second = make_supplier("First"), make_supplier("Second")
    mapped_product("A", (first, "5.00"), (second, "4.00"))
    mapped_product("B", (first, "3.00"))
    activate_rules(("hold", {"total_above": "100"}), version=1)
    draft = RuleSetFactory(version=2)
    RuleFactory(ruleset=draft, position=1, kind="hold", name="VIP", params={"tags": ["vip"]})
    RuleFactory(ruleset=draft, position=2, kind="sourcing", params={"strategy": "cheapest"})
    other = make_store(name="Other")
    orders = {
        "small": recent_order(store, ("A", 2)),
        "vip": recent_order(other, ("A", 1), tags=("vip",)),
        "big": recent_order(store, ("A", 20)),
        "same": recent_order(store, ("B", 1)),
    }
    Order.objects.filter(pk=orders["big"].pk).update(order_number="=SUM(A1:A9)")
    sim = simulation.simulation_run(simulation=SimulationFactory(ruleset=draft, days=7, created_by=operator))
    assert sim.status == "done"
    return {"sim": sim, "orders": orders, "first": first, "second": second, "other": other, "url": f"/routing/simulations/{sim.pk}/"}  # fmt: skip


def _ids(page) -> list[int]:
    return [row["order"] for row in page.context["diff_rows"]]


def test_the_result_lists_each_order_decided_differently(done):
    orders, first, second = done["orders"], str(done["first"].pk), str(done["second"].pk)

    diffs = {entry["order"]: entry for entry in done["sim"].result["diffs"]}

    assert set(diffs) == {orders["small"].pk, orders["vip"].pk, orders["big"].pk}
    assert done["sim"].result["diffs_total"] == 3
    vip = diffs[orders["vip"].pk]
    assert (vip["held"], vip["reasons"], vip["store"]) == ([False, True], [[], ["hold_tag"]], done["other"].pk)
    assert vip["lines"] == [{"sku": "A", "quantity": 1, "gift": False, "from": first, "to": second}]
    assert simulation.diff_changes(diffs[orders["big"].pk]) == ["released", "moved"]


def test_the_page_says_how_many_orders_route_differently_and_lists_them_newest_first(console, done):
    page = console.get(done["url"])

    body = page.content.decode()
    assert "3 of 4 orders would be decided differently." in body
    assert "Cost in USD: 118.00 now, 95.00 with the draft (−23.00)." in body  # currency decimals, not 4
    assert _ids(page) == [done["orders"][k].pk for k in ("big", "vip", "small")]
    assert "Newly held" in body and "No longer held" in body
    assert f"A × 1: {done['first'].name} → {done['second'].name}" in body
    assert "Download 3 rows:" in body


def test_filters_combine_and_sort_by_total(console, done):
    orders = done["orders"]

    held = console.get(done["url"], {"change": "held"})
    first_store = console.get(done["url"], {"store": orders["small"].store_id, "sort": "total"})
    by_supplier = console.get(done["url"], {"supplier": str(done["second"].pk), "sort": "-total"})
    searched = console.get(done["url"], {"q": "SUM"})

    assert _ids(held) == [orders["vip"].pk]
    assert _ids(first_store) == [orders["small"].pk, orders["big"].pk]
    assert _ids(by_supplier) == [orders["big"].pk, orders["small"].pk, orders["vip"].pk]
    assert _ids(searched) == [orders["big"].pk]
    assert '<option value="held" selected>' in held.content.decode()  # the filter keeps its value


def test_a_filter_that_matches_nothing_says_so(console, done):
    page = console.get(done["url"], {"q": "no such order"})

    assert page.context["diff_rows"] == []
    assert "No order matches these filters" in page.content.decode()


def test_the_differences_are_paged(console, done, monkeypatch):
    monkeypatch.setattr("orders.routing.views.DIFFS_PAGE_SIZE", 2)

    first, second = console.get(done["url"]), console.get(done["url"], {"page": "2"})

    assert len(_ids(first)) == 2 and len(_ids(second)) == 1
    assert "Page 1 of 2" in first.content.decode()


def test_download_holds_exactly_the_filtered_differences(console, done):
    orders = done["orders"]
    query = {"store": orders["small"].store_id, "sort": "total"}

    rows = _csv_rows(console.get(done["url"], {**query, "export": "csv"}))
    sheet = _xlsx_rows(console.get(done["url"], {**query, "export": "xlsx"}))

    assert rows[0] == [
        "Order", "Store", "Placed", "Total", "Currency", "What changes", "Held now", "Held with the draft",
        "Hold reasons now", "Hold reasons with the draft", "Product", "Quantity", "From", "To",
    ]  # fmt: skip
    assert [r[0] for r in rows[1:]] == [orders["small"].order_number, "'=SUM(A1:A9)"]  # formula neutralised
    big = rows[2]
    assert big[3:10] == [
        "200.00",
        "USD",
        "No longer held, Lines move to another source",
        "Yes",
        "No",
        "Total above a limit",
        "",
    ]
    assert big[10:] == ["A", "20", done["first"].name, done["second"].name]
    assert [r[0] for r in sheet[1:]] == [orders["small"].order_number, "'=SUM(A1:A9)"]
    assert sheet[2][3] == 200


def test_running_simulation_shows_progress_and_waits_for_a_worker(console, in_a):
    sim = SimulationFactory(ruleset=RuleSetFactory(version=1), days=3)

    body = console.get(f"/routing/simulations/{sim.pk}/").content.decode()
    Simulation.objects.filter(pk=sim.pk).update(orders_total=200, orders_done=50)
    later = console.get(f"/routing/simulations/{sim.pk}/").content.decode()

    assert "Waiting for a worker to start" in body
    assert '<noscript><meta http-equiv="refresh"' in body
    assert 'aria-valuenow="25"' in later and "50 of 200 orders" in later
    assert console.get(f"/routing/simulations/{sim.pk}/", {"export": "csv"}).status_code == 200  # the page, no file


def test_another_tenants_simulation_is_not_found_nor_downloaded(tenant_b, make_user, client_for, done):
    client = client_for(tenant_b, make_user(tenant_b, "operator"))

    assert client.get(done["url"]).status_code == 404
    assert client.get(done["url"], {"export": "csv"}).status_code == 404


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_the_download_is_refused_to_other_roles(tenant_a, make_user, make_supplier, client_for, done, role):
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    client = client_for(tenant_a, make_user(tenant_a, role, supplier=supplier))

    assert client.get(done["url"], {"export": "xlsx"}).status_code == 403


def test_the_page_reads_in_chinese(console, done):
    body = console.get(done["url"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "决策结果不同的订单" in body and "新增挂起" in body
    assert "Orders decided differently" not in body
