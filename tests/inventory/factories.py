"""Factories for the catalog: products, listings (bundles), source paths and stock, in the current schema.

They write rows directly, for tests about what reads the catalog (routing, orders, pages); the tests of the
catalog's own services (tests/inventory) call those services instead.
"""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from inventory.models import Listing, ListingComponent, Product, Source, Stock


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"P-{n:05d}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    active = True


class StockFactory(DjangoModelFactory):
    class Meta:
        model = Stock

    on_hand = 0


class SourceFactory(DjangoModelFactory):
    """A source at the end of its product's path (unless ``position`` is given); ``stock=n`` tracks n on hand."""

    class Meta:
        model = Source
        skip_postgeneration_save = True

    product = factory.SubFactory(ProductFactory)
    position = factory.LazyAttribute(lambda o: o.product.sources.count() + 1)
    supplier = None
    cost_price = Decimal("5.00")
    currency = "USD"
    regions = factory.LazyFunction(list)
    active = True

    @factory.post_generation
    def stock(source, create, extracted, **kwargs):
        if create and extracted is not None:
            StockFactory(source=source, on_hand=extracted)


class ListingFactory(DjangoModelFactory):
    """A listing SKU mapped to ``components``: (product, quantity) pairs (a bundle when there are several)."""

    class Meta:
        model = Listing
        skip_postgeneration_save = True

    listing_sku = factory.Sequence(lambda n: f"L-{n:05d}")

    @factory.post_generation
    def components(listing, create, extracted, **kwargs):
        for product, quantity in extracted or ():
            ListingComponent.objects.create(listing=listing, product=product, quantity=quantity)
