"""Payout import and column mapping as forms: a refused submit keeps what was chosen, with the message next to the
field; an import's page says what it brought in (per currency, matched or not) and where to reconcile it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from settlement.models import PayoutImport, PayoutSettings
from tests.channels.factories import StoreFactory
from tests.orders.factories import OrderFactory

FIXTURES = Path(__file__).parent / "fixtures" / "payouts"
PLACED = dt.datetime(2026, 10, 20, 4, 0, tzinfo=dt.UTC)


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FIXTURES / name).read_bytes())


@pytest.fixture
def books(in_a, finance, client_for):
    return client_for(in_a, finance)


@pytest.fixture
def shop(in_a):
    store = StoreFactory(name="天猫旗舰店")
    for number, price in (("RL-1001", "199.00"), ("RL-1002", "159.00"), ("RL-2001", "120.00")):
        OrderFactory(store=store, external_id=number, order_number=number, price=price, placed_at=PLACED)
    return store


def _field(page: str, name: str) -> str:
    """The HTML of the form field ``name`` (its wrapping div: label, input, help, errors)."""
    match = re.search(rf'<div class="field[^"]*">\s*<label for="id_{name}">.*?</div>', page, re.S)
    assert match, name
    return match.group(0)


def _mapping_step(books, shop) -> str:
    first = books.post(
        "/settlement/payouts/", {"store": shop.pk, "source": "generic", "file": upload("generic_payouts.csv")}
    )
    return first.context["form"].initial["token"]


def test_a_refused_mapping_keeps_every_choice_with_the_message_next_to_its_field(books, shop):
    token = _mapping_step(books, shop)

    refused = books.post(
        "/settlement/payouts/mapping/",
        {"token": token, "occurred_at": "Date", "amount": "Amount", "fee": "Amount", "description": "Memo",
         "default_currency": "CNY"},
    )  # fmt: skip

    page = refused.content.decode()
    assert refused.status_code == 400
    assert "Map the order number or the transaction reference" in _field(page, "order_number")
    assert "is chosen for Amount already" in _field(page, "fee")
    assert '<option value="Date" selected>' in _field(page, "occurred_at")
    assert '<option value="Memo" selected>' in _field(page, "description")
    assert 'value="CNY"' in _field(page, "default_currency")
    assert f'value="{token}"' in page  # the file still waits for its mapping
    assert not PayoutSettings.objects.exclude(column_mapping={}).exists()


def test_a_currency_unknown_is_refused_next_to_its_field(books, shop):
    token = _mapping_step(books, shop)

    refused = books.post(
        "/settlement/payouts/mapping/",
        {"token": token, "occurred_at": "Date", "order_number": "Order No.", "amount": "Amount",
         "default_currency": "QQQ"},
    )  # fmt: skip

    field = _field(refused.content.decode(), "default_currency")
    assert refused.status_code == 400 and 'class="error"' in field and 'value="QQQ"' in field


def test_a_refused_upload_keeps_the_store_and_the_kind_of_file(books, shop):
    refused = books.post("/settlement/payouts/", {"store": shop.pk, "source": "alipay"})

    page = refused.content.decode()
    assert refused.status_code == 400
    assert f'<option value="{shop.pk}" selected>' in _field(page, "store")
    assert '<option value="alipay" selected>' in _field(page, "source")
    assert 'class="error"' in _field(page, "file")


def test_the_import_page_says_what_came_in_and_where_to_reconcile_it(books, shop):
    books.post("/settlement/payouts/", {"store": shop.pk, "source": "wechat", "file": upload("wechat_bill_all.csv")})
    imported = PayoutImport.objects.get()
    items = imported.items.all()
    matched = items.filter(order__isnull=False).count()

    page = books.get(f"/settlement/payouts/{imported.pk}/")

    text = page.content.decode()
    (total,) = page.context["result"]["totals"]
    assert (total["currency"], total["count"], total["matched"]) == ("CNY", items.count(), matched)
    # an "other" line (a fee, an adjustment) names no order and is not counted as missing one
    money_without_order = items.filter(order__isnull=True, kind__in=("charge", "refund", "chargeback")).count()
    assert total["unmatched"] == money_without_order == items.count() - matched - 1 > 0
    assert f'href="/settlement/reconciliation/?store={shop.pk}&amp;month=2026-10"' in text
    assert "Reconcile 2026-10" in text
    unmatched = books.get(f"/settlement/payouts/{imported.pk}/", {"matched": "no"}).content.decode()
    assert "RL-2002" in unmatched and "RL-2001" not in unmatched


def test_tenant_b_and_other_roles_cannot_open_an_import(books, shop, in_a, tenant_b, make_user, client_for):
    books.post("/settlement/payouts/", {"store": shop.pk, "source": "wechat", "file": upload("wechat_bill_all.csv")})
    imported = PayoutImport.objects.get()

    assert (
        client_for(tenant_b, make_user(tenant_b, "finance")).get(f"/settlement/payouts/{imported.pk}/").status_code
        == 404
    )
    assert client_for(in_a, make_user(in_a, "operator")).get(f"/settlement/payouts/{imported.pk}/").status_code == 403


def test_the_mapping_page_is_in_chinese(books, shop):
    first = books.post(
        "/settlement/payouts/", {"store": shop.pk, "source": "generic", "file": upload("generic_payouts.csv")}
    )
    token = first.context["form"].initial["token"]
    with translation.override("en"):
        page = books.post("/settlement/payouts/mapping/", {"token": token}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "<h1>各列分别对应什么？</h1>" in page.content.decode()
