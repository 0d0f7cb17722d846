"""Factories for suppliers' rows, written in the current schema (tests set it to a tenant's)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from suppliers.models import Supplier


class SupplierFactory(DjangoModelFactory):
    """A supplier named "<label> <n>" with the unique code "SUP-<n>"."""

    class Meta:
        model = Supplier

    class Params:
        label = "Supplier"

    name = factory.LazyAttributeSequence(lambda o, n: f"{o.label} {n}")
    code = factory.Sequence(lambda n: f"SUP-{n}")
