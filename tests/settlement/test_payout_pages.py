"""Payout and reconciliation pages and API: import, mapping step, write-off; roles, tenants and stores kept apart."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from settlement.models import ExportFile, PayoutImport, PayoutItem, PayoutSettings, WriteOff
from tests.channels.factories import StoreFactory
from tests.orders.factories import OrderFactory

FIXTURES = Path(__file__).parent / "fixtures" / "payouts"
PLACED = dt.datetime(2026, 10, 20, 4, 0, tzinfo=dt.UTC)


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content if content is not None else (FIXTURES / name).read_bytes())


@pytest.fixture
def shop(in_a):
    store = StoreFactory(name="天猫旗舰店")
    for number, price in (("RL-1001", "199.00"), ("RL-1002", "159.00"), ("RL-2001", "120.00")):
        OrderFactory(store=store, external_id=number, order_number=number, price=price, placed_at=PLACED)
    return store


@pytest.fixture
def books(in_a, finance, client_for):
    return client_for(in_a, finance)


def test_finance_imports_an_alipay_statement_once(books, shop):
    page = books.post(
        "/settlement/payouts/", {"store": shop.pk, "source": "alipay", "file": upload("alipay_account_statement.csv")}
    )

    imported = PayoutImport.objects.get()
    assert page.status_code == 302 and page["Location"] == f"/settlement/payouts/{imported.pk}/"
    assert imported.items_count == PayoutItem.objects.count() > 0
    assert PayoutItem.objects.filter(order__order_number="RL-1001").exists()
    detail = books.get(page["Location"])
    assert "RL-1001" in detail.content.decode()

    again = books.post(
        "/settlement/payouts/",
        {"store": shop.pk, "source": "alipay", "file": upload("alipay_account_statement.csv")},
        follow=True,
    )
    assert "imported already" in again.content.decode()
    assert PayoutImport.objects.count() == 1 and PayoutItem.objects.count() == imported.items_count


def test_a_bad_row_imports_nothing_and_names_the_row(books, shop):
    text = (FIXTURES / "generic_payouts.csv").read_text(encoding="utf-8").replace("12.35", "twelve")
    PayoutSettings.objects.create(
        store=shop,
        column_mapping={"occurred_at": "Date", "order_number": "Order No.", "reference": "Transaction ID",
                        "kind": "Type", "amount": "Amount", "fee": "Fee", "currency": "Currency"},
    )  # fmt: skip

    page = books.post(
        "/settlement/payouts/", {"store": shop.pk, "source": "generic", "file": upload("p.csv", text.encode())}
    )

    assert page.status_code == 400
    body = page.content.decode()
    assert "Nothing was imported" in body and "<td>2</td>" in body
    assert not PayoutImport.objects.exists() and not PayoutItem.objects.exists()


def test_a_generic_file_asks_for_its_columns_once_per_store(books, shop):
    first = books.post(
        "/settlement/payouts/", {"store": shop.pk, "source": "generic", "file": upload("generic_payouts.csv")}
    )
    assert first.status_code == 200 and "Which column is which?" in first.content.decode()
    token = first.context["form"].initial["token"]
    assert not PayoutImport.objects.exists()

    mapped = books.post(
        "/settlement/payouts/mapping/",
        {"token": token, "occurred_at": "Date", "order_number": "Order No.", "reference": "Transaction ID",
         "kind": "Type", "amount": "Amount", "fee": "Fee", "currency": "Currency", "description": "Memo",
         "default_currency": "CNY"},
    )  # fmt: skip

    assert mapped.status_code == 302, mapped.context and mapped.context["form"].errors
    assert PayoutSettings.objects.get(store=shop).column_mapping["amount"] == "Amount"
    count = PayoutItem.objects.count()
    assert count > 0
    changed = (FIXTURES / "generic_payouts.csv").read_text(encoding="utf-8").replace("T-9001", "T-9901")
    second = books.post(
        "/settlement/payouts/", {"store": shop.pk, "source": "generic", "file": upload("p2.csv", changed.encode())}
    )
    assert second.status_code == 302  # no mapping step: the store's mapping is kept
    assert PayoutItem.objects.count() == count + 1  # only the one new transaction


def test_mapping_requires_the_order_or_reference_and_a_currency(books, shop):
    first = books.post(
        "/settlement/payouts/", {"store": shop.pk, "source": "generic", "file": upload("generic_payouts.csv")}
    )
    token = first.context["form"].initial["token"]

    refused = books.post("/settlement/payouts/mapping/", {"token": token, "occurred_at": "Date", "amount": "Amount"})

    assert refused.status_code == 400
    assert "Map the order number or the transaction reference" in refused.content.decode()
    assert not PayoutSettings.objects.filter(store=shop).exclude(column_mapping={}).exists()
    assert not PayoutItem.objects.exists()


def test_reconciliation_page_and_write_off(books, shop, finance):
    books.post("/settlement/payouts/", {"store": shop.pk, "source": "wechat", "file": upload("wechat_bill_all.csv")})

    page = books.get(f"/settlement/reconciliation/?store={shop.pk}&month=2026-10")

    assert page.status_code == 200
    body = page.content.decode()
    assert "RL-2001" in body and "In Relay, not paid" in body
    rows = {r.order_number: r for r in page.context["rows"]}
    assert rows["RL-1001"].state == "unpaid"
    paid = rows["RL-2001"]
    assert paid.charged == Decimal("120.00")

    written = books.post(
        "/settlement/reconciliation/write-off/", {"store": shop.pk, "month": "2026-10", "order": [paid.id]}, follow=True
    )
    # RL-2001 was charged 120 and 30 refunded on WeChat but Relay expected 120: it differs, beyond a 0 tolerance.
    assert not WriteOff.objects.exists()
    assert "more than the tolerance" in written.content.decode()
    books.post("/settlement/reconciliation/tolerance/", {"store": shop.pk, "month": "2026-10", "tolerance": "30"})
    books.post("/settlement/reconciliation/write-off/", {"store": shop.pk, "month": "2026-10", "order": [paid.id]})
    assert WriteOff.objects.get().difference == Decimal("-30.00")


@pytest.mark.parametrize(
    "path",
    [
        "/settlement/payouts/",
        "/settlement/reconciliation/",
        "/api/v1/settlement/payouts/",
        "/api/v1/settlement/reconciliation/?store=1",
    ],
)
def test_operators_and_suppliers_are_refused(in_a, shop, make_user, client_for, api_for, make_supplier, path):
    operator = make_user(in_a, "operator")
    supplier_user = make_user(in_a, "supplier", supplier=make_supplier(in_a))
    for user in (operator, supplier_user):
        client = api_for(in_a, user) if path.startswith("/api/") else client_for(in_a, user)
        assert client.get(path).status_code in (302, 403)


def test_another_tenant_sees_nothing_and_changes_nothing(
    in_a, shop, books, finance, tenant_b, make_user, client_for, api_for
):
    books.post("/settlement/payouts/", {"store": shop.pk, "source": "wechat", "file": upload("wechat_bill_all.csv")})
    imported = PayoutImport.objects.get()
    with schema_context(tenant_b.schema_name):
        other = make_user(tenant_b, "finance")
    b_pages, b_api = client_for(tenant_b, other), api_for(tenant_b, other)

    assert b_pages.get(f"/settlement/payouts/{imported.pk}/").status_code == 404
    assert "天猫旗舰店" not in b_pages.get("/settlement/payouts/").content.decode()
    assert b_api.get(f"/api/v1/settlement/reconciliation/?store={shop.pk}").status_code == 404
    refused = b_api.post(
        "/api/v1/settlement/reconciliation/write-off/", {"store": shop.pk, "all": True}, content_type="application/json"
    )
    # A body naming a store tenant B does not have: refused on its field (the address itself exists).
    assert refused.status_code == 400 and "store" in refused.json()
    assert b_api.get("/api/v1/settlement/payouts/").json()["count"] == 0
    with schema_context(in_a.schema_name):
        assert not WriteOff.objects.exists()


def test_api_import_and_reconcile(in_a, shop, finance, api_for):
    api = api_for(in_a, finance)

    created = api.post(
        "/api/v1/settlement/payouts/", {"store": shop.pk, "source": "wechat", "file": upload("wechat_bill_all.csv")}
    )
    again = api.post(
        "/api/v1/settlement/payouts/", {"store": shop.pk, "source": "wechat", "file": upload("wechat_bill_all.csv")}
    )
    bad = api.post(
        "/api/v1/settlement/payouts/", {"store": shop.pk, "source": "alipay", "file": upload("x.csv", b"\xff\xfe")}
    )

    assert created.status_code == 201 and created.json()["imported"] > 0
    assert again.status_code == 200 and again.json()["already_imported"] is True
    assert bad.status_code == 400 and bad.json()["errors"]
    listing = api.get(f"/api/v1/settlement/reconciliation/?store={shop.pk}&month=2026-10").json()
    states = {r["order_number"]: r["state"] for r in listing["results"]}
    assert states["RL-1001"] == "unpaid" and states["RL-2001"] == "differs"
    written = api.post(
        "/api/v1/settlement/reconciliation/write-off/",
        {"store": shop.pk, "orders": [r["order"] for r in listing["results"] if r["order_number"] == "RL-1001"]},
        content_type="application/json",
    ).json()
    assert written["written"] == 0 and "Nothing was paid" in written["refused"][0]["reason"]


def test_the_reconciliation_exports_as_csv_whose_totals_match_the_page(books, shop, run_enqueued, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    books.post("/settlement/payouts/", {"store": shop.pk, "source": "wechat", "file": upload("wechat_bill_all.csv")})
    page = books.get(f"/settlement/reconciliation/?store={shop.pk}&month=2026-10")

    with run_enqueued():
        started = books.post(
            "/settlement/exports/", {"kind": "reconciliation", "format": "csv", "store": shop.pk, "month": "2026-10"}
        )
    export = ExportFile.objects.get()
    assert started.status_code == 302 and export.status == "done" and export.total_rows == 3
    download = books.get(f"/settlement/exports/{export.pk}/download/")
    content = b"".join(download.streaming_content) if download.streaming else download.content
    assert content.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    expected = sum(Decimal(r["Expected"]) for r in rows)
    assert expected == sum(s.expected for s in page.context["summary"].states)
    assert {r["Order"] for r in rows} == {"RL-1001", "RL-1002", "RL-2001"}


def test_a_bad_export_request_is_refused_and_makes_nothing(books, shop):
    refused = books.post(
        "/settlement/exports/",
        {"kind": "reconciliation", "format": "csv", "store": "", "month": "2026-10"},
        follow=True,
    )

    assert "Choose a store" in refused.content.decode()
    assert not ExportFile.objects.exists()
