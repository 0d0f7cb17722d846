"""The order and dispatch state machines: allowed moves are recorded, illegal ones refused with the reason."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.states import IllegalTransition
from inventory.models import Stock
from orders.models import Order, Transition
from orders.routing.services import route_orders
from orders.states import ALLOWED, order_transition
from suppliers.actions import dispatch_accept, dispatch_reject
from suppliers.dispatch_states import dispatch_transition
from suppliers.models import Dispatch, DispatchEvent
from suppliers.shipping import ParcelSpec, dispatch_ship
from tests.orders.routing_factories import add_source, make_order, make_product

S = Order.Status


@pytest.fixture
def routed(store, acme):
    """A routed order with one pending dispatch at a supplier holding 5 mugs (2 reserved)."""
    add_source(make_product("MUG"), acme, stock=5)
    order = make_order(store, ("MUG", 2))
    route_orders(order_ids=[order.pk], trigger="ingest")
    order.refresh_from_db()
    return order


def test_every_state_has_a_row_and_cancelled_is_final():
    assert set(ALLOWED) == set(S.values)
    assert ALLOWED[S.CANCELLED] == frozenset()


def test_an_allowed_transition_is_saved_and_recorded_with_who_and_why(routed, operator):
    order_transition(order=routed, to=S.HELD, actor=operator, actor_label="console", reason="Buyer called")

    routed.refresh_from_db()
    assert routed.status == S.HELD
    last = Transition.objects.filter(order=routed).last()
    assert (last.from_state, last.to_state, last.actor, last.actor_label, last.reason) == (
        "routed",
        "held",
        operator,
        operator.email,
        "Buyer called",
    )


def test_an_illegal_order_transition_is_refused_with_the_reason_and_changes_nothing(routed):
    order_transition(order=routed, to=S.CANCELLED, actor_label="channel")
    before = Transition.objects.filter(order=routed).count()

    with pytest.raises(IllegalTransition) as refused:
        order_transition(order=routed, to=S.ROUTED, actor_label="console")

    assert isinstance(refused.value, ValidationError)
    assert refused.value.messages == [
        f"Order {routed.order_number} cannot go from cancelled to routed: a cancelled order is final."
    ]
    routed.refresh_from_db()
    assert routed.status == S.CANCELLED
    assert Transition.objects.filter(order=routed).count() == before


def test_the_guard_reads_the_locked_row_not_a_stale_copy(routed):
    stale = Order.objects.get(pk=routed.pk)
    order_transition(order=routed, to=S.SHIPPED, actor_label="supplier")

    with pytest.raises(IllegalTransition, match="from shipped to held"):
        order_transition(order=stale, to=S.HELD, actor_label="console")


def test_new_cannot_ship_before_it_is_routed(store):
    order = make_order(store, ("MUG", 1))

    with pytest.raises(IllegalTransition, match="must be routed"):
        order_transition(order=order, to=S.SHIPPED, actor_label="supplier")

    order.refresh_from_db()
    assert order.status == S.NEW


def test_a_rejected_dispatch_cannot_be_accepted_or_shipped(routed):
    dispatch = Dispatch.objects.get(lines__order=routed)
    dispatch_reject(dispatch=dispatch, reason_code="other", comment="No")
    recorded = DispatchEvent.objects.filter(dispatch=dispatch).count()

    with pytest.raises(IllegalTransition, match="from rejected to accepted"):
        dispatch_accept(dispatch=dispatch)
    with pytest.raises(IllegalTransition, match="from rejected to shipped"):
        dispatch_ship(dispatch=dispatch, parcels=[ParcelSpec("other", "X12345")])

    dispatch.refresh_from_db()
    assert dispatch.status == Dispatch.Status.REJECTED
    assert DispatchEvent.objects.filter(dispatch=dispatch).count() == recorded


def test_shipping_a_cancelled_dispatch_is_refused_and_its_stock_untouched(routed):
    dispatch = Dispatch.objects.get(lines__order=routed)
    dispatch_transition(dispatch=dispatch, to=Dispatch.Status.CANCELLED, actor_label="console", reason="Intercepted")
    stock = Stock.objects.get()
    stock_before = (stock.on_hand, stock.reserved)

    with pytest.raises(IllegalTransition, match="cancelled"):
        dispatch_ship(dispatch=dispatch, parcels=[ParcelSpec("other", "X12345")])

    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == stock_before
    assert Order.objects.get(pk=routed.pk).status == S.ROUTED


def test_a_dispatch_transition_is_recorded_as_one_event_of_the_dispatch(routed):
    dispatch = Dispatch.objects.get(lines__order=routed)
    order_timeline = Transition.objects.filter(order=routed).count()

    dispatch_accept(dispatch=dispatch)

    row = DispatchEvent.objects.get(dispatch=dispatch)
    assert (row.from_state, row.to_state, row.actor_label) == ("pending", "accepted", "supplier")
    assert Transition.objects.filter(order=routed).count() == order_timeline  # the order did not change
    with pytest.raises(IllegalTransition, match="accepted already"):
        dispatch_accept(dispatch=dispatch)
