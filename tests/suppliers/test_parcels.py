"""Shipping a dispatch in parcels: every unit in exactly one parcel, known carriers, valid and unused numbers."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.states import IllegalTransition
from orders.lifecycle import dispatch_changed
from orders.models import Order
from orders.routing.services import route_orders
from suppliers.dispatch_states import dispatch_transition
from suppliers.models import Dispatch, DispatchEvent, DispatchLine, Parcel, ParcelLine
from suppliers.shipping import ParcelSpec, dispatch_ship, parcels_problems
from tests.orders.routing_factories import add_source, make_order, make_product, make_supplier, map_listing
from tests.orders.routing_reads import reload, stock_of

D = Dispatch.Status
UPS = "1Z999AA10123456784"  # UPS's own published sample number
UPS_2 = "1Z12345E6605272234"
SF = "SF1234567890123"


@pytest.fixture
def acme(in_a):
    return make_supplier("Acme")


@pytest.fixture
def routed(store, acme):
    """An order of 2 mugs and 1 tee at Acme (stock 5 each), routed into one pending dispatch; (order, dispatch, lines)."""
    sources = {}
    for sku in ("MUG", "TEE"):
        product = make_product(sku)
        map_listing(sku, (product, 1))
        sources[sku] = add_source(product, acme, stock=5)
    order = make_order(store, ("MUG", 2), ("TEE", 1))
    route_orders(order_ids=[order.pk], trigger="ingest")
    dispatch = Dispatch.objects.filter(lines__order=order).distinct().get()
    lines = {line.listing_sku: line for line in DispatchLine.objects.filter(dispatch=dispatch)}
    return order, dispatch, lines, sources


def _nothing_written(dispatch):
    assert reload(dispatch).status == D.PENDING
    assert not Parcel.objects.exists()
    assert not DispatchEvent.objects.filter(dispatch=dispatch).exists()


def test_one_parcel_holds_every_unit_and_the_order_ships(routed):
    order, dispatch, _lines, sources = routed

    dispatch_ship(dispatch=dispatch, parcels=[ParcelSpec("ups", UPS)])
    dispatch_changed(dispatch_id=dispatch.pk)

    dispatch = reload(dispatch)
    assert dispatch.status == D.SHIPPED and dispatch.shipped_at is not None
    parcel = Parcel.objects.get()
    assert (parcel.carrier, parcel.tracking_number) == ("ups", UPS)
    assert UPS in parcel.tracking_url
    assert sorted(ParcelLine.objects.values_list("dispatch_line__listing_sku", "quantity")) == [("MUG", 2), ("TEE", 1)]
    assert reload(order).status == Order.Status.SHIPPED
    assert stock_of(sources["MUG"]) == (3, 0)
    assert "ups " + UPS in DispatchEvent.objects.get(dispatch=dispatch).reason


def test_lines_split_across_two_parcels(routed):
    _, dispatch, lines, _ = routed
    mug, tee = lines["MUG"], lines["TEE"]

    dispatch_ship(
        dispatch=dispatch,
        parcels=[ParcelSpec("UPS", UPS, {mug.pk: 1}), ParcelSpec("顺丰", SF, {mug.pk: 1, tee.pk: 1})],
    )

    by_parcel = sorted(
        ParcelLine.objects.values_list("parcel__tracking_number", "dispatch_line__listing_sku", "quantity")
    )
    assert by_parcel == [(UPS, "MUG", 1), (SF, "MUG", 1), (SF, "TEE", 1)]
    assert set(Parcel.objects.values_list("carrier", flat=True)) == {"ups", "sf"}


def test_an_open_parcel_takes_what_the_others_do_not_name(routed):
    _, dispatch, lines, _ = routed

    dispatch_ship(dispatch=dispatch, parcels=[ParcelSpec("ups", UPS, {lines["TEE"].pk: 1}), ParcelSpec("sf", SF)])

    assert sorted(
        ParcelLine.objects.values_list("parcel__tracking_number", "dispatch_line__listing_sku", "quantity")
    ) == [
        (UPS, "TEE", 1),
        (SF, "MUG", 2),
    ]


@pytest.mark.parametrize(
    ("parcels", "field", "message"),
    [
        ([], "tracking_number", "at least one"),
        ([ParcelSpec("Pigeon Post", "123456")], "carrier", "Unknown carrier"),
        ([ParcelSpec("ups", "1Z999AA10123456785")], "tracking_number", ""),  # check digit wrong
        ([ParcelSpec("ups", "")], "tracking_number", "missing"),
        ([ParcelSpec("ups", UPS, {}), ParcelSpec("ups", UPS)], "tracking_number", "given twice"),
        ([ParcelSpec("ups", UPS), ParcelSpec("sf", SF)], "lines", "Name the lines"),
        ([ParcelSpec("ups", UPS, {999999: 1})], "lines", "not on this dispatch"),
    ],
)
def test_a_bad_shipment_is_refused_by_field_and_writes_nothing(routed, parcels, field, message):
    _, dispatch, _, _ = routed

    with pytest.raises(ValidationError) as caught:
        dispatch_ship(dispatch=dispatch, parcels=parcels)

    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    _nothing_written(dispatch)


def test_parcels_must_hold_every_unit_and_no_more(routed):
    _, dispatch, lines, _ = routed
    mug, tee = lines["MUG"], lines["TEE"]

    too_few = parcels_problems(dispatch=dispatch, parcels=[ParcelSpec("ups", UPS, {mug.pk: 2})])
    too_many = parcels_problems(dispatch=dispatch, parcels=[ParcelSpec("ups", UPS, {mug.pk: 3, tee.pk: 1})])

    assert [p.message for p in too_few] == [f"No parcel holds these lines (units left): {tee.pk} (1)."]
    assert [p.message for p in too_many] == [f"The parcels hold 3 of line {mug.pk}, which has 2."]
    _nothing_written(dispatch)


def test_a_number_used_on_another_dispatch_is_refused(routed, store, acme):
    _, dispatch, _, _ = routed
    other = make_order(store, ("MUG", 1))
    route_orders(order_ids=[other.pk], trigger="ingest")
    other_dispatch = Dispatch.objects.exclude(pk=dispatch.pk).get()
    dispatch_ship(dispatch=other_dispatch, parcels=[ParcelSpec("ups", "1z 999 aa1 0123 4567 84")])  # typed loosely

    with pytest.raises(ValidationError, match="already used"):
        dispatch_ship(dispatch=dispatch, parcels=[ParcelSpec("ups", UPS)])

    assert reload(dispatch).status == D.PENDING
    assert Parcel.objects.get().dispatch_id == other_dispatch.pk


def test_a_cancelled_dispatch_cannot_ship(routed):
    _, dispatch, _, _ = routed
    dispatch_transition(dispatch=dispatch, to=D.CANCELLED, actor_label="channel", reason="Intercepted")

    problems = parcels_problems(dispatch=reload(dispatch), parcels=[ParcelSpec("ups", UPS)])
    with pytest.raises(IllegalTransition, match="cancelled"):
        dispatch_ship(dispatch=dispatch, parcels=[ParcelSpec("ups", UPS)])

    assert [p.field for p in problems] == ["dispatch"]
    assert not Parcel.objects.exists()


def test_other_carrier_ships_without_a_link(routed):
    _, dispatch, _, _ = routed

    dispatch_ship(dispatch=dispatch, parcels=[ParcelSpec("other", "LOCAL-COURIER-42")])

    parcel = Parcel.objects.get()
    assert (parcel.carrier, parcel.tracking_number, parcel.tracking_url) == ("other", "LOCALCOURIER42", "")
