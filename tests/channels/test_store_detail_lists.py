"""A store's page: quarantined payloads filtered open / resolved / all and downloaded as listed without their
payload; a spreadsheet store's imports filtered by status and paged with the filters kept; tenant B and other
roles see none of it; the page in Chinese."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from channels.models import OrderImport, QuarantinedPayload
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant

SECRET = "shpat_SECRET_TOKEN_123"


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.fixture
def shop(in_a):
    return StoreFactory(name="Gamma shop", shopify=True)


@pytest.fixture
def quarantined(shop):
    now = timezone.now()

    def add(external_id, reason, *, resolved=False, minutes=0):
        item = QuarantinedPayload.objects.create(
            store=shop, external_id=external_id, reason=reason,
            payload={"id": external_id, "customer": {"email": "buyer@example.com"}, "token": SECRET},
            resolved_at=now if resolved else None,
        )  # fmt: skip
        QuarantinedPayload.objects.filter(pk=item.pk).update(last_seen=now - dt.timedelta(minutes=minutes))
        return item

    return {
        "new": add("1001", "Unknown currency XYZ", minutes=1),
        "old": add("1002", "=HYPERLINK(evil) no line items", minutes=30),
        "fixed": add("1003", "Missing total", resolved=True, minutes=5),
    }


def test_open_payloads_by_default_resolved_or_all_on_asking(console, shop, quarantined):
    url = f"/stores/{shop.pk}/"

    default = console.get(url).content.decode()
    resolved = console.get(url, {"quarantined": "resolved"}).content.decode()
    everything = console.get(url, {"quarantined": "all"}).content.decode()

    assert "Unknown currency XYZ" in default and "Missing total" not in default
    assert default.index("Unknown currency XYZ") < default.index("no line items")  # most recently seen first
    assert "Missing total" in resolved and "Unknown currency XYZ" not in resolved
    assert '<option value="resolved" selected>' in resolved
    assert all(reason in everything for reason in ("Unknown currency XYZ", "no line items", "Missing total"))


def test_the_download_holds_the_listed_payloads_without_their_body(console, shop, quarantined):
    url = f"/stores/{shop.pk}/"
    page = console.get(url, {"quarantined": "all", "run_status": "failed"}).content.decode()
    assert "quarantined=all&amp;run_status=failed&amp;list=quarantine&amp;export=csv" in page  # filters kept

    rows = _csv(console.get(url, {"quarantined": "all", "list": "quarantine", "export": "csv"}))

    assert rows[0] == ["Id", "Order id", "First received", "Last received", "Status", "Resolved", "Reason"]
    assert [(row[0], row[1], row[4], row[6]) for row in rows[1:]] == [
        (str(quarantined["new"].pk), "1001", "Open", "Unknown currency XYZ"),
        (str(quarantined["fixed"].pk), "1003", "Resolved", "Missing total"),
        (str(quarantined["old"].pk), "1002", "Open", "'=HYPERLINK(evil) no line items"),
    ]
    body = "\n".join(",".join(row) for row in rows)
    assert SECRET not in body and "buyer@example.com" not in body
    book = console.get(url, {"list": "quarantine", "export": "xlsx"})
    sheet = list(load_workbook(io.BytesIO(b"".join(book.streaming_content))).active.iter_rows(values_only=True))
    assert [row[1] for row in sheet[1:]] == ["1001", "1002"]  # the open ones, as the page lists them
    assert SECRET not in str(sheet)


def test_the_quarantine_pager_keeps_its_filter(console, shop):
    for n in range(25):
        QuarantinedPayload.objects.create(store=shop, external_id=str(n), reason="bad", payload={},
                                          resolved_at=timezone.now())  # fmt: skip

    page = console.get(f"/stores/{shop.pk}/", {"quarantined": "resolved"}).content.decode()

    assert "quarantined=resolved&amp;quarantine=2#quarantine" in page


def test_a_spreadsheet_stores_imports_are_filtered_and_paged_with_the_filters_kept(console, in_a):
    sheet = StoreFactory(name="Sheet store")
    for n in range(23):
        OrderImport.objects.create(store=sheet, filename=f"ok-{n:02}.xlsx", file_path="x", status="succeeded")
    OrderImport.objects.create(store=sheet, filename="broken.xlsx", file_path="x", status="rejected")
    url = f"/stores/{sheet.pk}/"

    first = console.get(url, {"import_status": "succeeded"}).content.decode()
    second = console.get(url, {"import_status": "succeeded", "imports": 2}).content.decode()
    rejected = console.get(url, {"import_status": "rejected"}).content.decode()

    assert "broken.xlsx" not in first and first.count("ok-") == 20
    assert "import_status=succeeded&amp;imports=2" in first
    assert second.count("ok-") == 3 and "Page 2 of 2" in second
    assert "broken.xlsx" in rejected and "ok-" not in rejected
    empty = console.get(url, {"import_status": "running"}).content.decode()
    assert "No import has this status." in empty


def test_tenant_b_and_other_roles_see_none_of_it(shop, quarantined, tenant_b, make_user, client_for, in_a):
    with in_tenant(tenant_b):
        StoreFactory(name="B shop", shopify=True)
    b = client_for(tenant_b, make_user(tenant_b, "owner"))
    assert b.get(f"/stores/{shop.pk}/", {"list": "quarantine", "export": "csv"}).status_code == 404
    finance = client_for(in_a, make_user(in_a, "finance"))
    response = finance.get(f"/stores/{shop.pk}/", {"list": "quarantine", "export": "csv"})
    assert response.status_code in (302, 403)


def test_the_store_page_is_in_chinese(console, shop, quarantined):
    with translation.override("en"):
        page = console.get(f"/stores/{shop.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已隔离的数据" in page and "<h1>Gamma shop" in page
