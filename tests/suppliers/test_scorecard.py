"""The supplier scorecard (suppliers.scorecard): month by month in the tenant's time zone, on the supplier's page and
GET /api/v1/suppliers/<pk>/scorecard/; and routing's "best supplier record" ranking by the real on-time rate."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from orders.routing.loading import supplier_records
from orders.routing.services import route_orders
from suppliers.models import Dispatch, DispatchLine
from suppliers.scorecard import month_starts, rejections_total, supplier_scorecard
from tests.conftest import in_tenant
from tests.orders.routing_factories import activate_rules, add_source, make_order, make_product, make_supplier
from tests.orders.routing_reads import current_decision

D = Dispatch.Status
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def at(day: int, month: int = 11, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def dispatch(supplier, *, created, status=D.PENDING, accepted=None, shipped=None, ship_within=72, reject_code=""):
    """A dispatch routed at ``created`` with ship-by ``ship_within`` hours later; ``accepted``/``shipped`` in hours."""
    row = Dispatch.objects.create(number=f"T{Dispatch.objects.count()}-{supplier.pk}", supplier=supplier, status=status)
    Dispatch.objects.filter(pk=row.pk).update(
        number=f"D{row.pk:08d}",
        created=created,
        accept_by=created + 24 * H,
        ship_by=created + ship_within * H if ship_within is not None else None,
        accepted_at=created + accepted * H if accepted is not None else None,
        shipped_at=created + shipped * H if shipped is not None else None,
        reject_code=reject_code,
    )
    row.refresh_from_db()
    return row


@pytest.fixture
def november(in_a):
    """A supplier's dispatches: five decided in November (Shanghai time), one in October, plus undecided ones."""
    supplier = make_supplier("Acme")
    dispatch(supplier, created=at(2), status=D.SHIPPED, accepted=2, shipped=30)  # on time
    dispatch(supplier, created=at(3), status=D.SHIPPED, accepted=4, shipped=100)  # late
    dispatch(supplier, created=at(4), status=D.REJECTED, reject_code="out_of_stock")
    dispatch(supplier, created=at(5), status=D.REJECTED, reject_code="price_changed")
    dispatch(supplier, created=at(6))  # pending: not decided
    dispatch(supplier, created=at(7), status=D.CANCELLED)  # the merchant's doing: not decided
    # 31 October 17:00 UTC is 1 November 01:00 in Shanghai; shipped without accepting first
    dispatch(supplier, created=dt.datetime(2026, 10, 31, 17, tzinfo=dt.UTC), status=D.SHIPPED, shipped=6)
    dispatch(supplier, created=at(10, month=10), status=D.REJECTED, reject_code="out_of_stock")
    dispatch(supplier, created=at(10, month=3), status=D.REJECTED, reject_code="other")  # before the window
    return supplier


def test_month_by_month_in_the_tenant_time_zone(november):
    scores = supplier_scorecard(supplier_id=november.pk, tz=SHANGHAI, months=6, now=NOW)

    assert [s.month for s in scores] == [dt.date(2026, m, 1) for m in range(6, 12)]
    nov = scores[-1]
    assert (nov.dispatches, nov.decided, nov.rejected, nov.shipped) == (7, 5, 2, 3)
    assert nov.median_accept == 4 * H  # 2 h, 4 h and 6 h (shipped straight away counts as accepted then)
    assert nov.median_ship == 30 * H  # 6 h, 30 h, 100 h
    assert (nov.on_time, nov.with_deadline) == (2, 3)
    assert nov.on_time_rate == pytest.approx(2 / 3)
    assert nov.rejection_rate == pytest.approx(0.4)
    assert nov.rejections == {"out_of_stock": 1, "price_changed": 1}
    oct_ = scores[-2]
    assert (oct_.dispatches, oct_.decided, oct_.rejected, oct_.rejections) == (1, 1, 1, {"out_of_stock": 1})
    assert oct_.on_time_rate is None and oct_.median_ship is None
    assert all(s.dispatches == 0 and s.rejection_rate is None for s in scores[:-2])


def test_the_same_dispatches_fall_in_other_months_in_another_time_zone(november):
    scores = supplier_scorecard(supplier_id=november.pk, tz=dt.UTC, months=2, now=NOW)

    assert [(s.month.month, s.dispatches) for s in scores] == [(10, 2), (11, 6)]


def test_the_median_interpolates_between_two(in_a):
    supplier = make_supplier()
    dispatch(supplier, created=at(2), status=D.ACCEPTED, accepted=2)
    dispatch(supplier, created=at(3), status=D.ACCEPTED, accepted=5)

    (score,) = supplier_scorecard(supplier_id=supplier.pk, tz=SHANGHAI, months=1, now=NOW)

    assert score.median_accept == dt.timedelta(hours=3, minutes=30)
    assert score.median_ship is None


def test_the_scorecard_is_two_queries_whatever_the_dispatches(in_a, django_assert_num_queries):
    supplier = make_supplier()
    for day in range(1, 20):
        dispatch(supplier, created=at(day), status=D.SHIPPED, accepted=1, shipped=day)

    with django_assert_num_queries(2):
        supplier_scorecard(supplier_id=supplier.pk, tz=SHANGHAI, months=6, now=NOW)


def test_month_starts_cross_the_year():
    starts = month_starts(months=3, tz=SHANGHAI, now=dt.datetime(2027, 1, 31, 20, tzinfo=dt.UTC))

    assert starts == [dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1)]


def test_rejections_total_lists_every_reason_most_frequent_first(november):
    scores = supplier_scorecard(supplier_id=november.pk, tz=SHANGHAI, months=6, now=NOW)

    rows = rejections_total(scores)

    assert rows[0] == ("out_of_stock", "Out of stock", 2)
    assert {code for code, _label, _count in rows} == {
        "out_of_stock", "discontinued", "cannot_ship_region", "price_changed", "other",
    }  # fmt: skip


# ---------------------------------------------------------------- on the supplier's page and in the API


def test_the_supplier_page_shows_the_scorecard_and_the_rejections(november, console):
    with time_machine.travel(NOW, tick=False):
        response = console.get(f"/suppliers/{november.pk}/")

    assert response.status_code == 200
    rows = response.context["scores"]
    assert rows[0]["month"] == dt.date(2026, 11, 1)  # newest first
    assert (rows[0]["median_accept"], rows[0]["median_ship"], rows[0]["on_time_rate"]) == ("4.0 h", "30.0 h", "67%")
    assert rows[0]["rejection_rate"] == "40%"
    body = response.content.decode()
    assert "Rejections by reason" in body and "Price changed" in body


def test_the_scorecard_api(november, api):
    with time_machine.travel(NOW, tick=False):
        body = api.get(f"/api/v1/suppliers/{november.pk}/scorecard/?months=3").json()

    assert body["supplier"] == november.pk
    assert body["time_zone"] == "Asia/Shanghai"
    assert [m["month"] for m in body["months"]] == ["2026-09", "2026-10", "2026-11"]
    nov = body["months"][-1]
    assert nov["median_accept_seconds"] == 4 * 3600
    assert nov["median_ship_seconds"] == 30 * 3600
    assert nov["on_time_rate"] == pytest.approx(2 / 3)
    assert nov["rejections"] == {"out_of_stock": 1, "price_changed": 1}
    assert body["months"][0]["on_time_rate"] is None


@pytest.mark.parametrize("months", ["0", "25", "six"])
def test_the_scorecard_api_refuses_a_bad_number_of_months(november, api, months):
    response = api.get(f"/api/v1/suppliers/{november.pk}/scorecard/?months={months}")

    assert response.status_code == 400 and "months" in response.json()


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_get_no_scorecard(role, tenant_a, make_user, make_supplier, client_for, api_for):
    supplier = make_supplier(tenant_a)
    user = make_user(tenant_a, role, supplier=supplier if role == "supplier" else None)

    assert client_for(tenant_a, user).get(f"/suppliers/{supplier.pk}/").status_code == 403
    assert api_for(tenant_a, user).get(f"/api/v1/suppliers/{supplier.pk}/scorecard/").status_code == 403


def test_tenant_b_suppliers_have_no_scorecard_here(console, api, tenant_a, tenant_b, make_supplier):
    other = make_supplier(tenant_b)
    connection.set_tenant(tenant_a)

    assert console.get(f"/suppliers/{other.pk}/").status_code == 404
    assert api.get(f"/api/v1/suppliers/{other.pk}/scorecard/").status_code == 404


def test_the_api_of_tenant_b_does_not_answer_with_a_token_of_tenant_a(tenant_a, tenant_b, make_user, api_for):
    token_client = api_for(tenant_a, make_user(tenant_a, "operator"))
    with in_tenant(tenant_b):
        other = make_supplier("Beta")
    beta = Client(
        HTTP_HOST=tenant_b.get_primary_domain().domain, HTTP_AUTHORIZATION=token_client.defaults["HTTP_AUTHORIZATION"]
    )

    assert beta.get(f"/api/v1/suppliers/{other.pk}/scorecard/").status_code in (401, 403)


# ---------------------------------------------------------------- routing's "best supplier record"


def test_records_count_only_shipped_dispatches_with_a_deadline(in_a):
    prompt, unknown, rejecting = make_supplier("Prompt"), make_supplier("Unknown"), make_supplier("Rejecting")
    now = dt.datetime.now(dt.UTC)
    dispatch(prompt, created=now - 100 * H, status=D.SHIPPED, accepted=1, shipped=10)
    dispatch(prompt, created=now - 90 * H, status=D.REJECTED, reject_code="discontinued")
    dispatch(unknown, created=now - 90 * H, status=D.SHIPPED, shipped=10, ship_within=None)  # no deadline
    dispatch(rejecting, created=now - 90 * H, status=D.REJECTED, reject_code="out_of_stock")
    dispatch(prompt, created=now - 400 * 24 * H, status=D.SHIPPED, shipped=500)  # long ago: outside the window

    records = supplier_records(supplier_ids=[prompt.pk, unknown.pk, rejecting.pk])

    assert (records[prompt.pk].on_time_rate, records[prompt.pk].rejection_rate, records[prompt.pk].shipped) == (
        1.0, 0.5, 1,
    )  # fmt: skip
    assert records[unknown.pk].shipped == 0  # no record to rank by
    assert records[rejecting.pk].shipped == 0


def test_a_late_supplier_ranks_below_an_on_time_one_under_best_record(store):
    # given: the same product first at Late, then at Prompt; neither rejects, Late ships after its deadline
    late, prompt = make_supplier("Late"), make_supplier("Prompt")
    mug = make_product("MUG")
    add_source(mug, late)
    add_source(mug, prompt)
    now = dt.datetime.now(dt.UTC)
    for days in (10, 9):
        dispatch(late, created=now - days * 24 * H, status=D.SHIPPED, accepted=1, shipped=80)  # ship_by at 72 h
        dispatch(prompt, created=now - days * 24 * H, status=D.SHIPPED, accepted=1, shipped=20)
    activate_rules(("sourcing", {"strategy": "best_record"}))
    order = make_order(store, ("MUG", 1))

    # when
    route_orders(order_ids=[order.pk], trigger="ingest")

    # then: Prompt ships it, and the decision says why Late did not
    assert DispatchLine.objects.get(order=order).dispatch.supplier_id == prompt.pk
    considered = {c["supplier_id"]: c["reasons"][0] for c in current_decision(order).lines[0]["considered"]}
    assert considered[prompt.pk]["code"] == "chosen"
    assert considered[late.pk]["code"] == "worse_record"
    assert considered[late.pk]["params"]["on_time_rate"] == "0.0%"
    assert considered[late.pk]["params"]["chosen_on_time_rate"] == "100.0%"
