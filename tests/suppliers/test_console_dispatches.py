"""The merchant's dispatch list across suppliers: /dispatches/ and GET /api/v1/dispatches/ — filters, search, overdue
deadlines flagged, rejection reasons, keyset pagination, roles and tenants."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.routing.services import route_orders
from suppliers import selectors
from suppliers.actions import dispatch_accept, dispatch_reject
from suppliers.models import Dispatch
from tests.conftest import in_tenant
from tests.orders.routing_factories import make_order, make_supplier, mapped_product
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.portal_factories import make_dispatch

D = Dispatch.Status
H = dt.timedelta(hours=1)


def routed(store, sku: str):
    order = make_order(store, (sku, 1), external_id=f"E-{sku}-{Dispatch.objects.count()}")
    route_orders(order_ids=[order.pk], trigger="ingest")
    return order, Dispatch.objects.filter(lines__order=order).distinct().get()


@pytest.fixture
def board(store):
    """Acme ships mugs, Bolt tees. Three dispatches: Acme's not accepted in time, Bolt's accepted but not shipped in
    time, and a fresh one of Acme rejected as discontinued."""
    acme, bolt = make_supplier("Acme"), make_supplier("Bolt")
    mapped_product("MUG", (acme, "5.00"))
    mapped_product("TEE", (bolt, "3.00"))
    now = timezone.now()
    late_order, late_accept = routed(store, "MUG")
    Dispatch.objects.filter(pk=late_accept.pk).update(
        created=now - 50 * H, accept_by=now - 26 * H, ship_by=now + 22 * H
    )
    ship_order, late_ship = routed(store, "TEE")
    dispatch_accept(dispatch=late_ship)
    Dispatch.objects.filter(pk=late_ship.pk).update(created=now - 40 * H, accept_by=now - 16 * H, ship_by=now - 1 * H)
    _order, rejected = routed(store, "MUG")
    dispatch_reject(dispatch=rejected, reason_code="discontinued")
    return {
        "acme": acme, "bolt": bolt, "late_accept": late_accept, "late_ship": late_ship, "rejected": rejected,
        "ship_order": ship_order, "late_order": late_order,
    }  # fmt: skip


def numbers(response) -> list[str]:
    return [row.dispatch.number for row in response.context["page"].rows]


def test_the_list_shows_every_supplier_newest_first_with_deadlines_and_reasons(board, console):
    response = console.get("/dispatches/")

    assert response.status_code == 200
    rows = response.context["page"].rows
    assert [r.dispatch.number for r in rows] == [board[k].number for k in ("rejected", "late_ship", "late_accept")]
    assert [(r.overdue, r.ship_overdue) for r in rows] == [("", False), ("ship", True), ("accept", False)]
    assert rows[2].orders == [(board["late_order"].pk, board["late_order"].order_number)]
    body = response.content.decode()
    assert body.count('class="overdue"') == 2
    assert "Not shipped in time" in body and "Not accepted in time" in body
    assert "Discontinued" in body
    assert f'href="/orders/{board["late_order"].pk}/"' in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("supplier={acme}", ["rejected", "late_accept"]),
        ("supplier=own", []),
        ("status=rejected", ["rejected"]),
        ("status=accepted", ["late_ship"]),
        ("overdue=any", ["late_ship", "late_accept"]),
        ("overdue=accept", ["late_accept"]),
        ("overdue=ship", ["late_ship"]),
        ("supplier={bolt}&overdue=accept", []),
        ("q={late_ship}", ["late_ship"]),
        ("q={late_ship_short}", ["late_ship"]),
        ("q={ship_order}", ["late_ship"]),
        ("q={ship_order_bare}", ["late_ship"]),
        ("q=nothing-like-it", []),
    ],
)
def test_filters_and_search(board, console, query, expected):
    query = query.format(
        acme=board["acme"].pk,
        bolt=board["bolt"].pk,
        late_ship=board["late_ship"].number,
        late_ship_short=str(board["late_ship"].pk),
        ship_order=quote(board["ship_order"].order_number),  # "#E-TEE-1": the # must not start a fragment
        ship_order_bare=board["ship_order"].order_number.lstrip("#"),
    )

    assert numbers(console.get(f"/dispatches/?{query}")) == [board[key].number for key in expected]


def test_the_date_range_reads_days_in_the_tenant_time_zone(board, console, in_a):
    today = timezone.now().astimezone(in_a.tz).date()
    older = (timezone.now() - 40 * H).astimezone(in_a.tz).date()

    today_only = numbers(console.get(f"/dispatches/?created_from={today}&created_to={today}"))
    until_older = numbers(console.get(f"/dispatches/?created_to={older}"))

    assert today_only == [board["rejected"].number]
    assert board["late_ship"].number in until_older and board["rejected"].number not in until_older
    refused = console.get(f"/dispatches/?created_from={today}&created_to={older}")
    assert "must not be after" in refused.content.decode()


def test_keyset_pages_walk_forward_and_back_without_gaps(in_a):
    supplier = make_supplier()
    base = timezone.now() - dt.timedelta(days=1)
    rows = Dispatch.objects.bulk_create(Dispatch(number=f"X{i:05d}", supplier=supplier) for i in range(7))
    for i, row in enumerate(rows):
        # two share a timestamp: the id breaks the tie
        Dispatch.objects.filter(pk=row.pk).update(created=base + dt.timedelta(minutes=min(i, 5)))
    qs = Dispatch.objects.all()
    now = timezone.now()

    pages, cursor = [], ""
    while True:
        page = selectors.dispatches_page(qs, now=now, after=cursor, size=3)
        pages.append([r.dispatch.number for r in page.rows])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    back = selectors.dispatches_page(qs, now=now, before=page.prev_cursor, size=3)

    assert pages == [["X00006", "X00005", "X00004"], ["X00003", "X00002", "X00001"], ["X00000"]]
    assert [r.dispatch.number for r in back.rows] == pages[1]


def test_the_page_costs_the_same_queries_for_3_or_60_dispatches(board, console):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert console.get("/dispatches/").status_code == 200
        return len(captured)

    few = queries()
    Dispatch.objects.bulk_create(Dispatch(number=f"Y{i:05d}", supplier=board["bolt"]) for i in range(60))

    assert queries() == few


def test_page_and_api_read_a_constant_number_of_queries_over_many_suppliers_and_orders(
    in_a, console, api, django_assert_max_num_queries
):
    for n in range(30):  # each its own supplier and order: nothing a row shows is shared with another
        make_dispatch(SupplierFactory(label=f"Many {n}"), lines=(("MUG", 1, "4.00"), ("TEE", 2, "3.00")))

    with django_assert_max_num_queries(10):
        assert len(console.get("/dispatches/").context["page"].rows) == 30
    with django_assert_max_num_queries(8):
        assert len(api.get("/api/v1/dispatches/").json()["results"]) == 30


def test_the_next_page_link_keeps_the_filters(board, console):
    Dispatch.objects.bulk_create(Dispatch(number=f"Y{i:05d}", supplier=board["bolt"]) for i in range(55))

    first = console.get(f"/dispatches/?supplier={board['bolt'].pk}")
    second = console.get(f"/dispatches/?{first.context['next_query']}")

    assert len(first.context["page"].rows) == 50
    assert f"supplier={board['bolt'].pk}" in first.context["next_query"]
    assert numbers(second)[-1] == board["late_ship"].number
    assert set(numbers(first)).isdisjoint(numbers(second))


# ---------------------------------------------------------------- the API


def test_the_api_lists_filters_and_pages(board, api):
    body = api.get("/api/v1/dispatches/").json()

    assert [r["number"] for r in body["results"]] == [board[k].number for k in ("rejected", "late_ship", "late_accept")]
    rejected, late_ship, late_accept = body["results"]
    assert (rejected["status"], rejected["reject_code"], rejected["reject_reason"]) == (
        "rejected", "discontinued", "Discontinued",
    )  # fmt: skip
    assert (late_ship["overdue"], late_ship["ship_overdue"], late_ship["supplier_name"]) == (
        "ship", True, board["bolt"].name,
    )  # fmt: skip
    assert late_accept["orders"] == [{"id": board["late_order"].pk, "number": board["late_order"].order_number}]
    assert body["next"] is None
    overdue = api.get(f"/api/v1/dispatches/?overdue=accept&supplier={board['acme'].pk}").json()
    assert [r["number"] for r in overdue["results"]] == [board["late_accept"].number]


def test_the_api_follows_the_cursor(board, api):
    Dispatch.objects.bulk_create(Dispatch(number=f"Y{i:05d}", supplier=board["bolt"]) for i in range(55))

    first = api.get("/api/v1/dispatches/").json()
    second = api.get(f"/api/v1/dispatches/?after={first['next']}").json()

    assert len(first["results"]) == 50 and len(second["results"]) == 8
    assert second["next"] is None


@pytest.mark.parametrize(
    "query",
    ["status=lost", "overdue=soon", "supplier=x", "supplier=-1", "created_from=yesterday", "status=", "created_to="],
)
def test_the_api_refuses_bad_filters(board, api, query):
    response = api.get(f"/api/v1/dispatches/?{query}")

    assert response.status_code == 400 and "errors" in response.json()


@pytest.mark.parametrize("query", ["supplier=999999", "created_from=2026-05-02&created_to=2026-05-01"])
def test_the_api_answers_a_filter_that_matches_nothing_with_an_empty_page(board, api, query):
    """A filter narrows the list: an id of no supplier, or a reversed range, matches nothing (not a 400)."""
    response = api.get(f"/api/v1/dispatches/?{query}")

    assert response.status_code == 200 and response.json()["results"] == []


# ---------------------------------------------------------------- who may, and whose


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_see_no_dispatch_list(role, tenant_a, make_user, make_supplier, client_for, api_for):
    supplier = make_supplier(tenant_a)
    user = make_user(tenant_a, role, supplier=supplier if role == "supplier" else None)

    assert client_for(tenant_a, user).get("/dispatches/").status_code == 403
    assert api_for(tenant_a, user).get("/api/v1/dispatches/").status_code == 403


def test_tenant_b_dispatches_are_not_listed_here(board, tenant_a, tenant_b, console, api):
    with in_tenant(tenant_b):
        beta = make_supplier("Beta")
        Dispatch.objects.create(number="DBETA0001", supplier=beta)
    connection.set_tenant(tenant_a)

    assert "DBETA0001" not in numbers(console.get("/dispatches/"))
    assert "DBETA0001" not in numbers(console.get("/dispatches/?q=DBETA0001"))
    assert "DBETA0001" not in [r["number"] for r in api.get("/api/v1/dispatches/").json()["results"]]
    assert api.get(f"/api/v1/dispatches/?supplier={beta.pk + 1000}").json()["results"] == []


# ---------------------------------------------------------------- overdue on the supplier pages


def test_the_supplier_page_counts_and_flags_overdue_dispatches(board, console):
    acme, bolt = board["acme"], board["bolt"]

    acme_page = console.get(f"/suppliers/{acme.pk}/")
    bolt_page = console.get(f"/suppliers/{bolt.pk}/")

    assert (acme_page.context["overdue"].accept, acme_page.context["overdue"].ship) == (1, 0)
    assert (bolt_page.context["overdue"].accept, bolt_page.context["overdue"].ship) == (0, 1)
    recent = acme_page.context["recent"]
    assert [(r.dispatch.number, r.overdue) for r in recent] == [
        (board["rejected"].number, ""),
        (board["late_accept"].number, "accept"),
    ]
    body = acme_page.content.decode()
    assert f"?supplier={acme.pk}&amp;overdue=accept" in body
    assert "Not accepted, due" in body
    assert "Discontinued" in body  # the rejection's reason, in the recent list and the rejections table


def test_the_supplier_list_shows_how_many_are_overdue(board, console):
    page = console.get("/suppliers/").context["page"]

    assert {s.pk: s.overdue_count for s in page} == {board["acme"].pk: 1, board["bolt"].pk: 1}
