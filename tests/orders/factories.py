"""Factories for orders: canonical orders as channels produce them, ingested through the real upsert; rule sets.

``ChannelOrderFactory.build(...)`` makes the canonical order an adapter would hand over (no database);
``OrderFactory(store=…, …)`` ingests one through orders.services.orders_upsert and returns the Order row.
Lines come from ``items``: (listing SKU, quantity[, unit price]) tuples, or from ``lines`` given whole.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.db.models import Max
from django.utils import timezone
from factory.django import DjangoModelFactory

from orders.canonical import Address, ChannelOrder, ChannelOrderLine
from orders.models import Order, Rule, RuleSet, Simulation
from orders.services import orders_upsert

T = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


class AddressFactory(factory.Factory):
    class Meta:
        model = Address

    name = "Ada Lovelace"
    country = "US"
    province = "CA"
    city = "Springfield"
    line1 = "1 Main St"
    postal_code = "94000"


class ChannelOrderLineFactory(factory.Factory):
    class Meta:
        model = ChannelOrderLine

    external_id = factory.Sequence(lambda n: str(n + 1))
    listing_sku = "SKU-A"
    title = factory.LazyAttribute(lambda o: o.listing_sku)
    quantity = 1
    unit_price = Decimal("10.00")


def _lines(o) -> tuple[ChannelOrderLine, ...]:
    return tuple(
        ChannelOrderLine(
            external_id=str(n),
            listing_sku=item[0],
            title=item[0],
            quantity=item[1],
            unit_price=Decimal(item[2] if len(item) > 2 else o.price),
        )
        for n, item in enumerate(o.items, start=1)
    )


class ChannelOrderFactory(factory.Factory):
    """A canonical order whose amounts add up: total = subtotal − discounts + shipping + tax."""

    class Meta:
        model = ChannelOrder

    class Params:
        items = (("SKU-A", 1),)
        price = "10.00"
        # A tee at 10.00 and two mugs at 7.50, 3.00 off and 5.00 shipping: shares that do not divide evenly.
        discounted = factory.Trait(
            lines=(
                ChannelOrderLine(external_id="1", listing_sku="TEE-M", title="Tee", quantity=1, unit_price=Decimal("10.00")),
                ChannelOrderLine(external_id="2", listing_sku="MUG", title="Mug", quantity=2, unit_price=Decimal("7.50")),
            ),
            discount_total=Decimal("3.00"),
            shipping_total=Decimal("5.00"),
        )  # fmt: skip

    external_id = factory.Sequence(lambda n: f"O-{n}")
    order_number = factory.LazyAttribute(lambda o: f"#{o.external_id}")
    currency = "USD"
    placed_at = T
    updated_at = factory.LazyAttribute(lambda o: o.placed_at)
    lines = factory.LazyAttribute(_lines)
    subtotal = factory.LazyAttribute(lambda o: sum((line.unit_price * line.quantity for line in o.lines), Decimal(0)))
    discount_total = Decimal(0)
    shipping_total = Decimal(0)
    tax_total = Decimal(0)
    total = factory.LazyAttribute(lambda o: o.subtotal - o.discount_total + o.shipping_total + o.tax_total)
    buyer_name = "Ada Lovelace"
    buyer_email = "ada@example.com"
    shipping_address = factory.SubFactory(AddressFactory)


class OrderFactory(ChannelOrderFactory):
    """An order ingested the way channels do it: ``OrderFactory(store=store, items=[("MUG", 2)])``.

    ``raw`` is the channel payload stored beside it (by default ``{"id": external_id}``).
    """

    @classmethod
    def _create(cls, model_class, *args, store, raw=None, **kwargs) -> Order:
        canonical = model_class(*args, **kwargs)
        payload = {"id": canonical.external_id} if raw is None else raw
        orders_upsert(store_id=store.pk, orders=[(canonical, payload)])
        return Order.objects.get(store=store, external_id=canonical.external_id)


def _next_version() -> int:
    return (RuleSet.objects.aggregate(highest=Max("version"))["highest"] or 0) + 1


class RuleSetFactory(DjangoModelFactory):
    """A draft rule set with the next free version; the rule set services are tested on their own."""

    class Meta:
        model = RuleSet

    version = factory.LazyFunction(_next_version)
    status = RuleSet.Status.DRAFT

    class Params:
        active = factory.Trait(status=RuleSet.Status.ACTIVE, activated_at=factory.LazyFunction(timezone.now))


class RuleFactory(DjangoModelFactory):
    """A rule at the end of its rule set."""

    class Meta:
        model = Rule

    ruleset = factory.SubFactory(RuleSetFactory)
    position = factory.LazyAttribute(lambda o: o.ruleset.rules.count() + 1)
    kind = Rule.Kind.HOLD
    name = ""
    enabled = True
    params = factory.LazyFunction(dict)


class SimulationFactory(DjangoModelFactory):
    """A simulation of a draft over the last ``days``, not yet run (orders.routing.simulation runs it)."""

    class Meta:
        model = Simulation

    ruleset = factory.SubFactory(RuleSetFactory)
    days = 30
