"""The product import's templates (CSV and XLSX): the columns of inventory.imports with example rows.

The example rows name the tenant's own suppliers when it has some (the file then imports as it is), else two
made-up codes that the import will say it does not know."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from core import spreadsheets
from inventory.imports import COLUMNS

EXAMPLE_CODES = ("SUP-HZ", "SUP-US")


def _example_rows(codes: Sequence[str] = ()) -> list[dict[str, object]]:
    first, second = (list(codes) + list(EXAMPLE_CODES))[:2] if codes else EXAMPLE_CODES
    if len(codes) == 1:
        second = first
    return [
        {
            "sku": "TEE-RED-M",
            "name": "T恤 红色 M 码",
            "weight_grams": 180,
            "active": "yes",
            "source_position": 1,
            "supplier_code": first,
            "cost_price": Decimal("18.50"),
            "currency": "CNY",
            "regions": "CN:Zhejiang;CN:Shanghai",
            "lead_time_days": 2,
            "source_active": "yes",
            "on_hand": 120,
        },
        {
            "sku": "TEE-RED-M",
            "source_position": 2,
            "supplier_code": "",
            "cost_price": Decimal("21.00"),
            "currency": "CNY",
            "regions": "",
            "lead_time_days": 1,
            "source_active": "yes",
            "on_hand": 40,
        },
        {
            "sku": "MUG-01",
            "name": "马克杯",
            "weight_grams": 350,
            "active": "yes",
            "source_position": 1,
            "supplier_code": second,
            "cost_price": Decimal("3.2500"),
            "currency": "USD",
            "regions": "US",
            "lead_time_days": 5,
            "source_active": "yes",
            "on_hand": "",
        },
    ]


def template_csv(*, supplier_codes: Sequence[str] = ()) -> bytes:
    return spreadsheets.template_csv(columns=COLUMNS, rows=_example_rows(supplier_codes))


def template_xlsx(*, supplier_codes: Sequence[str] = ()) -> bytes:
    return spreadsheets.template_xlsx(
        columns=COLUMNS,
        rows=_example_rows(supplier_codes),
        sheet_title="products",
        number_formats={
            "weight_grams": "0",
            "source_position": "0",
            "cost_price": "0.00##",
            "lead_time_days": "0",
            "on_hand": "0",
        },
    )
