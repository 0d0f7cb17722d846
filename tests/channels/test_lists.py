"""The stores list, a store's ingestion ledger and the channel updates list: filters and sorts combined, pages
that keep the filters, CSV/XLSX downloads of exactly the filtered rows, bulk retry, tenant isolation, roles."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from channels.fulfillment import fulfillments_plan
from channels.models import FulfillmentPush, Store, SyncRun
from channels.services import store_create
from suppliers.shipping import ParcelSpec
from tests.channels.factories import StoreFactory
from tests.channels.push_helpers import dispatch_of, routed_order, sf_number, ship, stocked
from tests.conftest import in_tenant
from tests.orders.routing_factories import make_supplier

P = FulfillmentPush.Status


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def xlsx_rows(response) -> list[tuple]:
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(book.active.iter_rows(values_only=True))


# ------------------------------------------------------------------ the stores list


@pytest.fixture
def stores(in_a):
    StoreFactory(name="Alpha sheet")
    StoreFactory(name="Beta sheet", status=Store.Status.PAUSED)
    StoreFactory(name="Gamma shop", shopify=True)
    StoreFactory(name="=HYPERLINK(evil) sheet")


def test_stores_filtered_by_channel_and_search_sorted_by_name_descending(console, stores):
    response = console.get("/stores/", {"channel": "spreadsheet", "q": "a sheet", "sort": "-name"})

    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("Beta sheet") < page.index("Alpha sheet")
    assert "Gamma shop" not in page and "HYPERLINK" not in page
    # the filters keep their values, and another column's sort link keeps the filters
    assert 'value="a sheet"' in page
    assert "channel=spreadsheet&amp;q=a+sheet&amp;sort=channel" in page
    assert console.get("/stores/", {"q": "a sheet", "sort": "name"}).content.decode().index("Alpha sheet") < (
        console.get("/stores/", {"q": "a sheet", "sort": "name"}).content.decode().index("Beta sheet")
    )


def test_stores_status_filter_shows_only_paused_ones(console, stores):
    page = console.get("/stores/", {"status": "paused"}).content.decode()
    assert "Beta sheet" in page and "Alpha sheet" not in page


def test_stores_csv_holds_exactly_the_filtered_rows_with_formulas_neutralised(console, stores):
    response = console.get("/stores/", {"channel": "spreadsheet", "sort": "name", "export": "csv"})

    rows = csv_rows(response)
    assert rows[0][:3] == ["Store", "Channel", "Status"]
    assert sorted(row[0] for row in rows[1:]) == ["'=HYPERLINK(evil) sheet", "Alpha sheet", "Beta sheet"]
    assert [row[2] for row in rows[1:] if row[0] == "Beta sheet"] == ["Paused"]


def test_stores_xlsx_holds_exactly_the_filtered_rows(console, stores):
    response = console.get("/stores/", {"status": "paused", "export": "xlsx"})

    rows = xlsx_rows(response)
    assert [row[0] for row in rows[1:]] == ["Beta sheet"]


def test_stores_empty_filter_says_so_and_links_back(console, stores):
    page = console.get("/stores/", {"q": "nothing like this"}).content.decode()
    assert "No store matches these filters" in page
    assert 'href="/stores/"' in page


def test_stores_of_tenant_b_are_neither_listed_nor_exported(console, stores, tenant_b):
    with in_tenant(tenant_b):
        StoreFactory(name="Bravo secret sheet")
    assert "Bravo secret" not in console.get("/stores/").content.decode()
    assert "Bravo secret" not in str(csv_rows(console.get("/stores/", {"export": "csv"})))


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_cannot_list_or_export_stores(in_a, make_user, make_supplier, client_for, stores, role):
    user = make_user(in_a, role, supplier=make_supplier(in_a) if role == "supplier" else None)
    client = client_for(in_a, user)
    assert client.get("/stores/").status_code == 403
    assert client.get("/stores/", {"export": "csv"}).status_code == 403
    assert client.get("/stores/pushes/").status_code == 403


# ------------------------------------------------------------------ a store's ingestion ledger


@pytest.fixture
def ledger(in_a):
    store = StoreFactory(name="Ledger shop", shopify=True)
    now = timezone.now()
    for i, (kind, status, seen) in enumerate(
        [("scheduled", "succeeded", 5), ("manual", "failed", 9), ("scheduled", "failed", 2), ("replay", "failed", 7)]
    ):
        run = SyncRun.objects.create(store=store, kind=kind, status=status, orders_seen=seen, message=f"run {i}")
        SyncRun.objects.filter(pk=run.pk).update(started_at=now - dt.timedelta(minutes=10 - i))
    return store


def test_the_ledger_filters_by_status_and_sorts_by_orders_seen(console, ledger):
    response = console.get(f"/stores/{ledger.pk}/", {"run_status": "failed", "sort": "-seen", "export": "csv"})

    rows = csv_rows(response)
    assert [(row[2], row[3], row[7]) for row in rows[1:]] == [
        ("Sync now", "Failed", "9"),
        ("Replay", "Failed", "7"),
        ("Scheduled", "Failed", "2"),
    ]
    page = console.get(f"/stores/{ledger.pk}/", {"run_status": "failed", "sort": "-seen"}).content.decode()
    assert page.index("run 1") < page.index("run 3") < page.index("run 2")
    assert "run 0" not in page


def test_the_ledger_xlsx_holds_the_filtered_runs(console, ledger):
    rows = xlsx_rows(console.get(f"/stores/{ledger.pk}/", {"run_kind": "scheduled", "export": "xlsx"}))
    assert sorted(row[7] for row in rows[1:]) == [2, 5]


def test_the_store_page_names_credentials_and_never_shows_them(console, in_a):
    store = store_create(
        name="Named", channel="shopify", base_url="https://x.myshopify.com",
        credentials={"access_token": "shpat_topsecret_4321"},
    )  # fmt: skip
    page = console.get(f"/stores/{store.pk}/").content.decode()
    assert "Admin API access token" in page and "access_token</dt>" not in page
    assert "shpat_topsecret" not in page


def test_a_failed_connect_keeps_what_was_typed_but_never_the_secret(console):
    response = console.post(
        "/stores/connect/shopify/",
        {"name": "Kept name", "base_url": "not a url", "sync_interval_minutes": 7, "access_token": "shpat_typed_9"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Kept name"' in page and 'value="7"' in page
    assert "Enter a valid URL" in page
    assert "shpat_typed_9" not in page


# ------------------------------------------------------------------ channel updates (fulfillment pushes)


@pytest.fixture
def acme(in_a):
    return make_supplier("Acme")


@pytest.fixture
def shopify(in_a) -> Store:
    return store_create(
        name="Shopify", channel="shopify", base_url="https://shop.example", credentials={"access_token": "shpat_x"}
    )


def push_of(store, *, status: str, attempts: int = 1, message: str = "") -> FulfillmentPush:
    """One order of a mug (stocked at a supplier beforehand) shipped in one parcel, its push set to ``status``."""
    order = routed_order(store, ("MUG", 1))
    ship(dispatch_of(order), ParcelSpec("sf", sf_number()))
    (push_id,) = fulfillments_plan(dispatch_id=dispatch_of(order).pk)
    FulfillmentPush.objects.filter(pk=push_id).update(status=status, attempts=attempts, message=message)
    return FulfillmentPush.objects.select_related("order", "parcel").get(pk=push_id)


@pytest.fixture
def pushes(shopify, acme):
    stocked(acme, "MUG")
    return {
        "failed_once": push_of(shopify, status=P.FAILED, attempts=1, message="=cmd|' /C calc'!A0"),
        "failed_often": push_of(shopify, status=P.FAILED, attempts=6, message="Shopify refused"),
        "pushed": push_of(shopify, status=P.PUSHED, attempts=1),
    }


def test_failed_pushes_sorted_by_attempts_descending(console, pushes):
    page = console.get("/stores/pushes/", {"status": "failed", "sort": "-attempts"}).content.decode()

    often, once = pushes["failed_often"].order.order_number, pushes["failed_once"].order.order_number
    assert page.index(f">{often}<") < page.index(f">{once}<")
    assert f">{pushes['pushed'].order.order_number}<" not in page
    assert f'name="push" value="{pushes["failed_once"].pk}"' in page


def test_search_by_tracking_number_finds_one_push(console, pushes):
    push = pushes["pushed"]
    page = console.get("/stores/pushes/", {"q": push.parcel.tracking_number}).content.decode()
    assert f">{push.order.order_number}<" in page
    assert f">{pushes['failed_once'].order.order_number}<" not in page


def test_pushes_csv_and_xlsx_hold_exactly_the_failed_ones(console, pushes):
    query = {"status": "failed", "sort": "attempts"}
    rows = csv_rows(console.get("/stores/pushes/", {**query, "export": "csv"}))
    assert [row[0] for row in rows[1:]] == [
        pushes["failed_once"].order.order_number,
        pushes["failed_often"].order.order_number,
    ]
    assert rows[1][6] == "'=cmd|' /C calc'!A0"
    sheet = xlsx_rows(console.get("/stores/pushes/", {**query, "export": "xlsx"}))
    assert [row[5] for row in sheet[1:]] == [1, 6]


def test_bulk_retry_retries_the_failed_ones_and_says_why_others_were_not(console, pushes):
    ids = [pushes["failed_once"].pk, pushes["failed_often"].pk, pushes["pushed"].pk]

    response = console.post(
        "/stores/pushes/retry/", {"push": ids, "next": "/stores/pushes/?status=failed"}, follow=True
    )

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/stores/pushes/?status=failed"
    assert "2 channel updates are being sent again." in page
    assert "1 was not retried" in page
    statuses = dict(FulfillmentPush.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses[pushes["pushed"].pk] == P.PUSHED
    assert statuses[pushes["failed_once"].pk] == statuses[pushes["failed_often"].pk] == P.PENDING


def test_bulk_retry_with_nothing_ticked_changes_nothing(console, pushes):
    response = console.post("/stores/pushes/retry/", {}, follow=True)
    assert "Tick the channel updates to retry first." in response.content.decode()
    assert FulfillmentPush.objects.filter(status=P.FAILED).count() == 2


def test_the_store_page_links_to_its_failed_pushes(console, pushes, shopify):
    page = console.get(f"/stores/{shopify.pk}/").content.decode()
    assert f"/stores/pushes/?status=failed&amp;store={shopify.pk}" in page


def test_another_tenants_pushes_are_not_listed(console, pushes, tenant_b):
    with in_tenant(tenant_b):
        store_b = store_create(
            name="B shop", channel="shopify", base_url="https://b.example", credentials={"access_token": "shpat_b"}
        )
        stocked(make_supplier("B supplier"), "MUG")
        push_of(store_b, status=P.FAILED, message="tenant B only")
    page = console.get("/stores/pushes/", {"status": "failed"}).content.decode()
    rows = csv_rows(console.get("/stores/pushes/", {"export": "csv"}))
    assert "tenant B only" not in page and "B shop" not in page
    assert len(rows) == 4  # header and tenant A's three
    assert "tenant B only" not in str(rows)


def test_a_supplier_cannot_retry_in_bulk(in_a, make_user, client_for, pushes, acme):
    client = client_for(in_a, make_user(in_a, "supplier", supplier=acme))
    assert client.post("/stores/pushes/retry/", {"push": [pushes["failed_once"].pk]}).status_code == 403
    assert FulfillmentPush.objects.get(pk=pushes["failed_once"].pk).status == P.FAILED
