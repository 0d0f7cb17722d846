"""Factories for channels' rows, written in the current schema (tests set it to a tenant's)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from channels.models import Channel, Store


class StoreFactory(DjangoModelFactory):
    """A store without credentials: a spreadsheet store unless told otherwise.

    A store whose credentials matter is made through channels.services.store_create, which encrypts them.
    """

    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Shop {n}")
    channel = Channel.SPREADSHEET

    class Params:
        shopify = factory.Trait(channel=Channel.SHOPIFY, base_url="https://shop.myshopify.com")
