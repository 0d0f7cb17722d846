"""The product import's templates (CSV and XLSX): the columns of inventory.imports with example rows."""

from __future__ import annotations

from decimal import Decimal

from core import spreadsheets
from inventory.imports import COLUMNS


def _example_rows() -> list[dict[str, object]]:
    return [
        {
            "sku": "TEE-RED-M",
            "name": "T恤 红色 M 码",
            "weight_grams": 180,
            "active": "yes",
            "source_position": 1,
            "supplier_code": "SUP-HZ",
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
            "supplier_code": "SUP-US",
            "cost_price": Decimal("3.2500"),
            "currency": "USD",
            "regions": "US",
            "lead_time_days": 5,
            "source_active": "yes",
            "on_hand": "",
        },
    ]


def template_csv() -> bytes:
    return spreadsheets.template_csv(columns=COLUMNS, rows=_example_rows())


def template_xlsx() -> bytes:
    return spreadsheets.template_xlsx(
        columns=COLUMNS,
        rows=_example_rows(),
        sheet_title="products",
        number_formats={
            "weight_grams": "0",
            "source_position": "0",
            "cost_price": "0.00##",
            "lead_time_days": "0",
            "on_hand": "0",
        },
    )
