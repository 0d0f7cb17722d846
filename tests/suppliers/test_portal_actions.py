"""What a supplier does in the portal, by page and by API: accept with a promised date, reject with a reason,
accept in part (the rejected lines routed on), and the same for many dispatches at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orders.models import RoutingDecision
from orders.routing.services import route_orders
from suppliers.models import Dispatch, DispatchEvent
from tests.orders.routing_factories import add_source, make_product, map_listing
from tests.suppliers.portal_factories import make_dispatch, new_order, snapshot

D = Dispatch.Status
TOMORROW = timezone.localdate() + dt.timedelta(days=1)
YESTERDAY = timezone.localdate() - dt.timedelta(days=1)


# ---------------------------------------------------------------- accept


def test_accept_on_the_page_records_the_promised_date(portal, acme, acme_user):
    dispatch = make_dispatch(acme)

    response = portal.post(f"/portal/dispatches/{dispatch.pk}/accept/", {"promised_ship_date": TOMORROW.isoformat()})

    assert response.status_code == 302
    dispatch.refresh_from_db()
    assert (dispatch.status, dispatch.promised_ship_date) == (D.ACCEPTED, TOMORROW)
    assert dispatch.accepted_at is not None
    event = DispatchEvent.objects.get(dispatch=dispatch)
    assert (event.from_state, event.to_state, event.actor_id) == ("pending", "accepted", acme_user.pk)
    assert TOMORROW.isoformat() in event.reason
    assert "accepted" in portal.get(response["Location"]).content.decode()


def test_accept_with_a_date_in_the_past_is_refused_and_changes_nothing(portal, portal_api, acme):
    dispatch = make_dispatch(acme)
    before = snapshot(dispatch)

    page = portal.post(f"/portal/dispatches/{dispatch.pk}/accept/", {"promised_ship_date": YESTERDAY.isoformat()})
    api = portal_api.post(
        f"/api/v1/portal/dispatches/{dispatch.pk}/accept/",
        {"promised_ship_date": YESTERDAY.isoformat()},
        content_type="application/json",
    )

    assert page.status_code == 400
    assert "in the past" in page.context["accept_form"].errors["promised_ship_date"][0]
    assert api.status_code == 400
    assert "in the past" in api.json()["promised_ship_date"][0]
    assert snapshot(dispatch) == before


def test_accept_on_the_page_needs_a_date(portal, acme):
    dispatch = make_dispatch(acme)
    before = snapshot(dispatch)

    response = portal.post(f"/portal/dispatches/{dispatch.pk}/accept/", {})

    assert response.status_code == 400
    assert "promised_ship_date" in response.context["accept_form"].errors
    assert snapshot(dispatch) == before


def test_accept_by_api_answers_the_dispatch(portal_api, acme):
    dispatch = make_dispatch(acme)

    response = portal_api.post(
        f"/api/v1/portal/dispatches/{dispatch.pk}/accept/",
        {"promised_ship_date": TOMORROW.isoformat()},
        content_type="application/json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["promised_ship_date"], body["number"]) == (
        "accepted",
        TOMORROW.isoformat(),
        dispatch.number,
    )
    assert [e["to_state"] for e in body["events"]] == ["accepted"]


def test_accepting_twice_is_refused_with_the_reason(portal_api, acme):
    dispatch = make_dispatch(acme, status="accepted")
    before = snapshot(dispatch)

    response = portal_api.post(f"/api/v1/portal/dispatches/{dispatch.pk}/accept/", {}, content_type="application/json")

    assert response.status_code == 400
    assert "accepted already" in response.json()["detail"][0]
    assert snapshot(dispatch) == before


# ---------------------------------------------------------------- reject


@pytest.mark.parametrize("code", ["out_of_stock", "discontinued", "cannot_ship_region", "price_changed", "other"])
def test_reject_with_each_reason_code(code, portal, portal_api, acme, run_enqueued):
    by_page, by_api = make_dispatch(acme), make_dispatch(acme, status="accepted")

    with run_enqueued():
        page = portal.post(
            f"/portal/dispatches/{by_page.pk}/reject/", {"reason_code": code, "comment": "Factory closed"}
        )
        api = portal_api.post(
            f"/api/v1/portal/dispatches/{by_api.pk}/reject/",
            {"reason_code": code, "comment": "Factory closed"},
            content_type="application/json",
        )

    assert page.status_code == 302
    assert api.status_code == 200
    label = str(Dispatch.RejectReason(code).label)
    for dispatch in (by_page, by_api):
        dispatch.refresh_from_db()
        assert (dispatch.status, dispatch.reject_code) == (D.REJECTED, code)
        assert dispatch.reason == f"{label}: Factory closed"
    assert api.json()["reject_code"] == code


def test_reject_other_without_a_comment_is_refused(portal, portal_api, acme):
    dispatch = make_dispatch(acme)
    before = snapshot(dispatch)

    page = portal.post(f"/portal/dispatches/{dispatch.pk}/reject/", {"reason_code": "other", "comment": "  "})
    api = portal_api.post(
        f"/api/v1/portal/dispatches/{dispatch.pk}/reject/", {"reason_code": "other"}, content_type="application/json"
    )
    unknown = portal_api.post(
        f"/api/v1/portal/dispatches/{dispatch.pk}/reject/", {"reason_code": "bored"}, content_type="application/json"
    )

    assert page.status_code == 400
    assert "comment" in page.context["reject_form"].errors
    assert api.status_code == 400
    assert "comment" in api.json()
    assert unknown.status_code == 400
    assert "reason_code" in unknown.json()
    assert snapshot(dispatch) == before


def test_a_shipped_dispatch_cannot_be_rejected(portal, acme):
    dispatch = make_dispatch(acme, status="shipped")
    before = snapshot(dispatch)

    response = portal.post(f"/portal/dispatches/{dispatch.pk}/reject/", {"reason_code": "out_of_stock"})

    assert response.status_code == 400
    assert "cannot go from shipped" in response.content.decode()
    assert snapshot(dispatch) == before


# ---------------------------------------------------------------- accept in part, and the re-routing that follows


@pytest.fixture
def routed_to_acme(store, acme, bolt):
    """An order of a mug and a tee routed to Acme in one dispatch; the mug's path goes on to Bolt."""
    mug, tee = make_product("MUG"), make_product("TEE")
    map_listing("MUG", (mug, 1))
    map_listing("TEE", (tee, 1))
    add_source(mug, acme, cost="4.00")
    add_source(mug, bolt, cost="4.50")
    add_source(tee, acme, cost="3.00")
    order = new_order(("MUG", 1), ("TEE", 2))
    route_orders(order_ids=[order.pk], trigger="ingest")
    return Dispatch.objects.get(supplier=acme, lines__order=order, lines__listing_sku="MUG")


def test_accept_in_part_routes_the_rejected_line_to_the_next_source(portal, routed_to_acme, acme, bolt, run_enqueued):
    dispatch = routed_to_acme
    mug_line = dispatch.lines.get(listing_sku="MUG")
    order = mug_line.order

    with run_enqueued():
        response = portal.post(
            f"/portal/dispatches/{dispatch.pk}/accept-partly/",
            {
                "rejected_lines": [mug_line.pk],
                "reason_code": "out_of_stock",
                "comment": "Mugs sold out",
                "promised_ship_date": TOMORROW.isoformat(),
            },
        )

    assert response.status_code == 302
    dispatch.refresh_from_db()
    assert dispatch.status == D.ACCEPTED
    assert dispatch.promised_ship_date == TOMORROW
    assert list(dispatch.lines.values_list("listing_sku", flat=True)) == ["TEE"]
    split = Dispatch.objects.get(lines=mug_line)
    assert (split.supplier_id, split.status, split.reject_code) == (acme.pk, D.REJECTED, "out_of_stock")
    # The mug went on to the next source on its path: a new pending dispatch at Bolt.
    at_bolt = Dispatch.objects.get(supplier=bolt, lines__order=order)
    assert at_bolt.status == D.PENDING
    assert list(at_bolt.lines.values_list("listing_sku", "quantity")) == [("MUG", 1)]
    # The decision and the timelines say why.
    decision = RoutingDecision.objects.filter(order=order).order_by("-pk").first()
    assert decision.trigger == "rejection"
    assert "rejected_before" in str(decision.lines)
    note = DispatchEvent.objects.filter(dispatch=dispatch, from_state="pending", to_state="pending").get()
    assert "MUG" in note.reason and split.number in note.reason and "Out of stock: Mugs sold out" in note.reason
    assert "Out of stock" in DispatchEvent.objects.get(dispatch=split, to_state="rejected").reason
    page = portal.get(f"/portal/dispatches/{dispatch.pk}/").content.decode()
    assert split.number in page and "Mugs sold out" in page


def test_accept_in_part_by_api(portal_api, routed_to_acme, bolt, run_enqueued):
    dispatch = routed_to_acme
    mug_line = dispatch.lines.get(listing_sku="MUG")

    with run_enqueued():
        response = portal_api.post(
            f"/api/v1/portal/dispatches/{dispatch.pk}/accept-partly/",
            {"rejected_line_ids": [mug_line.pk], "reason_code": "price_changed", "comment": ""},
            content_type="application/json",
        )

    assert response.status_code == 200
    body = response.json()
    assert body["dispatch"]["status"] == "accepted"
    assert [line["product_sku"] for line in body["dispatch"]["lines"]] == ["TEE"]
    assert body["rejected"]["number"] == Dispatch.objects.get(lines=mug_line).number
    assert Dispatch.objects.filter(supplier=bolt, status="pending").count() == 1


def test_accept_in_part_refuses_lines_of_another_dispatch(portal_api, acme):
    dispatch, other = make_dispatch(acme, lines=(("MUG", 1, "4.00"), ("TEE", 1, "3.00"))), make_dispatch(acme)
    before, other_before = snapshot(dispatch), snapshot(other)

    response = portal_api.post(
        f"/api/v1/portal/dispatches/{dispatch.pk}/accept-partly/",
        {"rejected_line_ids": [other.lines.get().pk], "reason_code": "out_of_stock"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "not on dispatch" in response.json()["lines"][0]
    assert (snapshot(dispatch), snapshot(other)) == (before, other_before)


# ---------------------------------------------------------------- bulk


def test_bulk_accept_on_the_page_does_the_others_and_names_the_refused(portal, acme):
    first, second, cancelled = make_dispatch(acme), make_dispatch(acme), make_dispatch(acme, status="cancelled")
    before = snapshot(cancelled)

    response = portal.post(
        "/portal/dispatches/bulk/",
        {
            "action": "accept",
            "ids": [first.pk, second.pk, cancelled.pk],
            "promised_ship_date": TOMORROW.isoformat(),
            "back": "state=pending",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == "/portal/dispatches/?state=pending"
    text = response.content.decode()
    assert f"2 dispatches accepted: {first.number}, {second.number}." in text
    assert (
        f"1 refused, nothing changed on it: {cancelled.number} — Dispatch {cancelled.number} cannot go from cancelled"
        in text
    )
    assert set(Dispatch.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"accepted"}
    assert snapshot(cancelled) == before


def test_bulk_reject_by_api(portal_api, acme, run_enqueued):
    first, second, cancelled = (
        make_dispatch(acme),
        make_dispatch(acme, status="accepted"),
        make_dispatch(acme, status="cancelled"),
    )
    before = snapshot(cancelled)

    with run_enqueued():
        response = portal_api.post(
            "/api/v1/portal/dispatches/bulk-reject/",
            {"ids": [first.pk, second.pk, cancelled.pk], "reason_code": "discontinued", "comment": "Line ended"},
            content_type="application/json",
        )

    assert response.status_code == 200
    body = response.json()
    assert body["done"] == [first.number, second.number]
    assert body["refused"] == [{"id": cancelled.pk, "number": cancelled.number, "reason": body["refused"][0]["reason"]}]
    assert "cancelled" in body["refused"][0]["reason"]
    for dispatch in (first, second):
        dispatch.refresh_from_db()
        assert (dispatch.status, dispatch.reject_code, dispatch.reason) == (
            D.REJECTED, "discontinued", "Discontinued: Line ended",
        )  # fmt: skip
    assert snapshot(cancelled) == before


def test_bulk_accept_by_api(portal_api, acme):
    first, shipped = make_dispatch(acme), make_dispatch(acme, status="shipped")

    response = portal_api.post(
        "/api/v1/portal/dispatches/bulk-accept/",
        {"ids": [first.pk, shipped.pk], "promised_ship_date": TOMORROW.isoformat()},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["done"] == [first.number]
    assert [r["number"] for r in response.json()["refused"]] == [shipped.number]


def test_bulk_refusals_of_the_whole_batch_change_nothing(portal, portal_api, acme):
    first, second = make_dispatch(acme), make_dispatch(acme)
    before = [snapshot(first), snapshot(second)]

    past = portal_api.post(
        "/api/v1/portal/dispatches/bulk-accept/",
        {"ids": [first.pk, second.pk], "promised_ship_date": YESTERDAY.isoformat()},
        content_type="application/json",
    )
    no_comment = portal_api.post(
        "/api/v1/portal/dispatches/bulk-reject/",
        {"ids": [first.pk, second.pk], "reason_code": "other"},
        content_type="application/json",
    )
    no_reason = portal.post("/portal/dispatches/bulk/", {"action": "reject", "ids": [first.pk]}, follow=True)
    none_ticked = portal.post(
        "/portal/dispatches/bulk/", {"action": "accept", "promised_ship_date": TOMORROW.isoformat()}, follow=True
    )
    empty = portal_api.post("/api/v1/portal/dispatches/bulk-accept/", {"ids": []}, content_type="application/json")

    assert past.status_code == 400 and "in the past" in past.json()["promised_ship_date"][0]
    assert no_comment.status_code == 400 and "comment" in no_comment.json()
    assert "Choose why you reject them." in no_reason.content.decode()
    assert "Tick at least one dispatch." in none_ticked.content.decode()
    assert empty.status_code == 400
    assert [snapshot(first), snapshot(second)] == before
