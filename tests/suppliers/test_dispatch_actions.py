"""A supplier's answers to a dispatch: accept with a promise, reject with a reason, accept in part, many at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.states import IllegalTransition
from orders.lifecycle import dispatch_changed
from orders.models import Order
from orders.routing.services import route_orders
from suppliers.actions import (
    dispatch_accept,
    dispatch_accept_partly,
    dispatch_reject,
    dispatches_accept,
    dispatches_reject,
)
from suppliers.dispatch_states import dispatch_transition
from suppliers.models import Dispatch, DispatchEvent, DispatchLine
from tests.orders.routing_factories import add_source, make_order, make_product, make_supplier, map_listing
from tests.orders.routing_reads import current_decision, reload, stock_of

D = Dispatch.Status


@pytest.fixture
def acme(in_a):
    supplier = make_supplier("Acme")
    supplier.accept_within_hours, supplier.ship_within_hours = 12, 48
    supplier.save()
    return supplier


@pytest.fixture
def bolt(in_a):
    return make_supplier("Bolt")


@pytest.fixture
def two_lines(store, acme, bolt):
    """An order of a mug and a tee, both first at Acme (stock 5) then at Bolt (stock 5), routed: one dispatch."""
    sources = {}
    for sku in ("MUG", "TEE"):
        product = make_product(sku)
        map_listing(sku, (product, 1))
        sources[sku] = (add_source(product, acme, stock=5), add_source(product, bolt, stock=5))
    order = make_order(store, ("MUG", 2), ("TEE", 1), country="CN", province="Zhejiang")
    route_orders(order_ids=[order.pk], trigger="ingest")
    return order, Dispatch.objects.filter(lines__order=order, supplier=acme).distinct().get(), sources


def test_routing_writes_the_deadlines_from_the_terms_and_the_buyer_snapshot(two_lines, acme):
    order, dispatch, _ = two_lines

    assert dispatch.accept_by - dispatch.created == dt.timedelta(hours=12)
    assert dispatch.ship_by - dispatch.created == dt.timedelta(hours=48)
    assert dispatch.buyer_name == order.buyer_name
    assert dispatch.buyer_email == order.buyer_email
    assert dispatch.ship_to["province"] == "Zhejiang"
    assert dispatch.ship_to["country"] == "CN"


def test_accept_records_the_promise_and_when(two_lines):
    _, dispatch, _ = two_lines
    promised = timezone.localdate() + dt.timedelta(days=2)

    dispatch_accept(dispatch=dispatch, promised_ship_date=promised)

    dispatch = reload(dispatch)
    assert dispatch.status == D.ACCEPTED
    assert dispatch.promised_ship_date == promised
    assert dispatch.accepted_at is not None
    event = DispatchEvent.objects.get(dispatch=dispatch)
    assert promised.isoformat() in event.reason


def test_a_promise_in_the_past_is_refused_and_changes_nothing(two_lines):
    _, dispatch, _ = two_lines

    with pytest.raises(ValidationError, match="in the past"):
        dispatch_accept(dispatch=dispatch, promised_ship_date=timezone.localdate() - dt.timedelta(days=1))

    dispatch = reload(dispatch)
    assert (dispatch.status, dispatch.accepted_at) == (D.PENDING, None)
    assert not DispatchEvent.objects.filter(dispatch=dispatch).exists()


@pytest.mark.parametrize(("code", "comment", "reason"), [
    ("out_of_stock", "", "Out of stock"),
    ("discontinued", "", "Discontinued"),
    ("cannot_ship_region", "no Zhejiang", "Cannot ship to the region: no Zhejiang"),
    ("price_changed", "", "Price changed"),
    ("other", "factory closed", "Other: factory closed"),
])  # fmt: skip
def test_reject_keeps_the_reason_code_and_routes_on(two_lines, bolt, code, comment, reason):
    order, dispatch, sources = two_lines

    dispatch_reject(dispatch=dispatch, reason_code=code, comment=comment)
    dispatch_changed(dispatch_id=dispatch.pk)

    dispatch = reload(dispatch)
    assert (dispatch.status, dispatch.reject_code, dispatch.reason) == (D.REJECTED, code, reason)
    assert set(DispatchLine.objects.filter(order=order, dispatch__status=D.PENDING).values_list(
        "dispatch__supplier", flat=True)) == {bolt.pk}  # fmt: skip
    assert stock_of(sources["MUG"][0]) == (5, 0)
    assert stock_of(sources["MUG"][1]) == (5, 2)


@pytest.mark.parametrize(("code", "comment", "message"), [
    ("", "", "Choose why"),
    ("bored", "", "Choose why"),
    ("other", "  ", "Say why in a comment"),
])  # fmt: skip
def test_a_rejection_without_a_valid_reason_is_refused_and_changes_nothing(two_lines, code, comment, message):
    _, dispatch, _ = two_lines

    with pytest.raises(ValidationError, match=message):
        dispatch_reject(dispatch=dispatch, reason_code=code, comment=comment)

    assert reload(dispatch).status == D.PENDING
    assert not DispatchEvent.objects.filter(dispatch=dispatch).exists()


def test_accepting_in_part_sends_the_rejected_line_to_the_next_source(two_lines, acme, bolt):
    order, dispatch, sources = two_lines
    tee_line = DispatchLine.objects.get(dispatch=dispatch, listing_sku="TEE")

    kept, split = dispatch_accept_partly(dispatch=dispatch, rejected_line_ids=[tee_line.pk], reason_code="out_of_stock")
    dispatch_changed(dispatch_id=split.pk)

    assert reload(kept).status == D.ACCEPTED
    assert list(DispatchLine.objects.filter(dispatch=kept).values_list("listing_sku", flat=True)) == ["MUG"]
    split = reload(split)
    assert (split.status, split.supplier_id, split.reject_code) == (D.REJECTED, acme.pk, "out_of_stock")
    assert f"Split from {dispatch.number}" in split.reason
    assert split.ship_to == reload(dispatch).ship_to
    # the tee went to Bolt; Acme's tee stock is given back, its mug stock still held
    bolt_lines = DispatchLine.objects.filter(order=order, dispatch__supplier=bolt, dispatch__status=D.PENDING)
    assert list(bolt_lines.values_list("listing_sku", "quantity")) == [("TEE", 1)]
    assert stock_of(sources["TEE"][0]) == (5, 0)
    assert stock_of(sources["TEE"][1]) == (5, 1)
    assert stock_of(sources["MUG"][0]) == (5, 2)
    # the order's decision and the dispatch's timeline say why
    assert current_decision(order).trigger == "rejection"
    note = DispatchEvent.objects.filter(dispatch=kept, from_state=D.PENDING, to_state=D.PENDING).get()
    assert "TEE" in note.reason and split.number in note.reason
    assert reload(order).status == Order.Status.ROUTED


def test_accepting_in_part_with_every_line_rejects_the_whole(two_lines):
    _, dispatch, _ = two_lines
    ids = list(DispatchLine.objects.filter(dispatch=dispatch).values_list("pk", flat=True))

    kept, split = dispatch_accept_partly(dispatch=dispatch, rejected_line_ids=ids, reason_code="discontinued")

    assert split is None
    assert reload(kept).status == D.REJECTED
    assert Dispatch.objects.count() == 1


def test_accepting_in_part_refuses_a_line_of_another_dispatch_and_changes_nothing(two_lines, store, acme):
    _, dispatch, _ = two_lines
    other = make_order(store, ("MUG", 1))
    route_orders(order_ids=[other.pk], trigger="ingest")
    foreign = DispatchLine.objects.get(order=other)
    before = Dispatch.objects.count()

    with pytest.raises(ValidationError, match="not on dispatch"):
        dispatch_accept_partly(dispatch=dispatch, rejected_line_ids=[foreign.pk], reason_code="out_of_stock")

    assert reload(dispatch).status == D.PENDING
    assert Dispatch.objects.count() == before
    assert reload(foreign).dispatch_id != dispatch.pk


def test_another_suppliers_dispatch_is_refused(two_lines, bolt):
    _, dispatch, _ = two_lines

    with pytest.raises(ValidationError, match="not yours"):
        dispatch_accept(dispatch=dispatch, supplier=bolt)
    with pytest.raises(ValidationError, match="not yours"):
        dispatch_reject(dispatch=dispatch, reason_code="out_of_stock", supplier=bolt)

    assert reload(dispatch).status == D.PENDING


def test_bulk_accept_does_what_it_can_and_names_what_it_refused(store, acme):
    product = make_product("CUP")
    map_listing("CUP", (product, 1))
    add_source(product, acme)
    orders = [make_order(store, ("CUP", 1)) for _ in range(3)]
    route_orders(order_ids=[o.pk for o in orders], trigger="ingest")
    first, second, third = (Dispatch.objects.get(lines__order=o) for o in orders)
    dispatch_transition(dispatch=second, to=D.CANCELLED, actor_label="channel", reason="Cancelled on the channel")

    result = dispatches_accept(dispatches=[first, second, third], supplier=acme)

    assert result.done == [first.number, third.number]
    assert [number for number, _ in result.refused] == [second.number]
    assert "cancelled" in result.refused[0][1]
    assert [reload(d).status for d in (first, second, third)] == [D.ACCEPTED, D.CANCELLED, D.ACCEPTED]


def test_bulk_reject_checks_the_reason_before_touching_any(store, acme):
    product = make_product("CUP")
    map_listing("CUP", (product, 1))
    add_source(product, acme)
    orders = [make_order(store, ("CUP", 1)) for _ in range(2)]
    route_orders(order_ids=[o.pk for o in orders], trigger="ingest")
    dispatches = list(Dispatch.objects.order_by("pk"))

    with pytest.raises(ValidationError):
        dispatches_reject(dispatches=dispatches, reason_code="other", supplier=acme)
    assert {reload(d).status for d in dispatches} == {D.PENDING}

    result = dispatches_reject(dispatches=dispatches, reason_code="price_changed", supplier=acme)
    assert len(result.done) == 2 and not result.refused
    assert {reload(d).reject_code for d in dispatches} == {"price_changed"}


def test_a_shipped_dispatch_cannot_be_accepted_in_part(two_lines):
    _, dispatch, _ = two_lines
    dispatch_transition(dispatch=dispatch, to=D.SHIPPED, actor_label="supplier")
    line = DispatchLine.objects.filter(dispatch=dispatch).first()

    with pytest.raises(IllegalTransition, match="only a pending or accepted"):
        dispatch_accept_partly(dispatch=dispatch, rejected_line_ids=[line.pk], reason_code="out_of_stock")
    assert DispatchLine.objects.filter(dispatch=dispatch).count() == 2
