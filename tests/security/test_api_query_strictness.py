"""The API's query strings and bodies are held to what its schema says (core/api.py): a typed parameter that is
empty, of the wrong type or out of its enum is a 400; a filter that matches nothing is an empty page; the
bounds the services check are in the schema; a body naming a missing row is a 400 on its field. The schema
fuzz (test_schema_fuzz.py) finds these with random input; these tests pin each one down."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import in_tenant
from tests.orders.factories import OrderFactory


@pytest.fixture
def finance_api(in_a, make_user, api_for):
    return api_for(in_a, make_user(in_a, "finance"))


@pytest.fixture
def portal_api(in_a, make_user, make_supplier, api_for):
    return api_for(in_a, make_user(in_a, "supplier", supplier=make_supplier(in_a)))


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator(urlconf="erp.urls").get_schema(request=None, public=True)


def _query(schema: dict, path: str, name: str) -> dict:
    (parameter,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name and p["in"] == "query"]
    return parameter["schema"]


@pytest.mark.parametrize(
    "query",
    ["status=", "status=pk", "payment=", "store=", "store=x", "store=0", "placed_to=", "placed_from=1.5.2026"],
)
def test_the_order_list_refuses_an_empty_or_ill_typed_filter(api, query):
    response = api.get(f"/api/v1/orders/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["errors"]


@pytest.mark.parametrize(
    "query",
    [
        "store=999999",
        "placed_from=2026-11-09&placed_to=2026-11-01",
        "status=cancelled&payment=refunded",
    ],
)
def test_a_filter_that_matches_nothing_is_an_empty_page(store, api, query):
    OrderFactory(store=store)

    response = api.get(f"/api/v1/orders/?{query}")

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_calendar_edges_keep_every_order_in_range(store, api):
    order = OrderFactory(store=store)

    listed = api.get("/api/v1/orders/?placed_from=0001-01-01&placed_to=9999-12-31").json()["results"]

    assert [row["id"] for row in listed] == [order.pk]


def test_the_schema_enumerates_what_the_lists_accept(schema):
    assert "open" in _query(schema, "/api/v1/orders/", "status")["enum"]
    assert _query(schema, "/api/v1/orders/", "payment")["enum"] == ["paid", "unpaid", "refunded"]
    assert _query(schema, "/api/v1/orders/", "store")["minimum"] == 1
    assert _query(schema, "/api/v1/dispatches/", "supplier")["pattern"].startswith("^(?:own|")
    assert _query(schema, "/api/v1/portal/statements/", "page")["minimum"] == 1


@pytest.mark.parametrize("query", ["state=", "overdue=", "overdue=5357", "created_to=", "sort="])
def test_the_portal_dispatch_list_refuses_an_empty_or_ill_typed_filter(portal_api, query):
    response = portal_api.get(f"/api/v1/portal/dispatches/?{query}")

    assert response.status_code == 400 and query.split("=")[0] in response.json()["errors"]


def test_the_portal_dispatch_list_takes_a_reversed_range_as_nothing(portal_api):
    response = portal_api.get("/api/v1/portal/dispatches/?created_from=2026-05-02&created_to=2026-05-01")

    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize("query", ["status=", "status=draft", "page=null", "page=true", "page=0"])
def test_the_portal_statement_list_refuses_an_empty_or_ill_typed_value(portal_api, query):
    response = portal_api.get(f"/api/v1/portal/statements/?{query}")

    assert response.status_code == 400 and query.split("=")[0] in response.json()


def test_an_empty_search_of_the_portal_stock_lists_everything(portal_api):
    assert portal_api.get("/api/v1/portal/stock/?q=").status_code == 200
    assert portal_api.get("/api/v1/portal/stock/?page=").status_code == 400


@pytest.mark.parametrize("query", ["direction=", "placed_to=", "group=", "store=-1", "supplier=ours", "sort=x"])
def test_the_margin_report_refuses_an_empty_or_ill_typed_filter(finance_api, query):
    response = finance_api.get(f"/api/v1/settlement/margins/?{query}")

    assert response.status_code == 400 and query.split("=")[0] in response.json()["errors"]


def test_a_write_off_naming_a_missing_store_is_refused_on_its_field(finance_api):
    response = finance_api.post(
        "/api/v1/settlement/reconciliation/write-off/", {"store": 987654, "all": True}, content_type="application/json"
    )

    assert response.status_code == 400 and "store" in response.json()


def test_a_missing_store_in_the_reconciliation_address_is_not_found(finance_api):
    assert finance_api.get("/api/v1/settlement/reconciliation/?store=987654").status_code == 404


def test_the_supplier_schema_states_the_bounds_the_service_checks(schema, api):
    fields = schema["components"]["schemas"]["SupplierRequest"]["properties"]

    assert (fields["accept_within_hours"]["minimum"], fields["accept_within_hours"]["maximum"]) == (1, 720)
    assert (fields["payment_terms_days"]["minimum"], fields["payment_terms_days"]["maximum"]) == (0, 365)
    assert fields["late_ship_penalty"]["pattern"] == r"^0*(?:\d{1,6}(?:\.\d{0,2})?|\.\d{1,2})$"
    refused = api.post(
        "/api/v1/suppliers/",
        {"name": "Acme", "code": "ACME", "accept_within_hours": 721, "late_ship_penalty": "-1", "contact_phone": "+"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert {"accept_within_hours", "late_ship_penalty", "contact_phone"} <= set(refused.json())


def test_every_operation_that_reads_a_body_documents_415(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "415" in operation["responses"], f"{method.upper()} {path}"


@pytest.mark.parametrize("role", ["supplier", "finance"])
def test_a_wrong_role_is_refused_before_its_query_is_read(in_a, make_user, make_supplier, api_for, role):
    supplier = make_supplier(in_a) if role == "supplier" else None
    client = api_for(in_a, make_user(in_a, role, supplier=supplier))

    assert client.get("/api/v1/orders/?status=pk").status_code == 403
    assert client.get("/api/v1/dispatches/?supplier=x").status_code == 403


def test_another_tenant_lists_none_of_these_orders(store, tenant_b, make_user, api_for):
    OrderFactory(store=store)
    with in_tenant(tenant_b):
        other = make_user(tenant_b, "owner")

    response = api_for(tenant_b, other).get(f"/api/v1/orders/?store={store.pk}")

    assert response.status_code == 200 and response.json()["results"] == []
