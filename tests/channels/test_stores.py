"""Stores pages and API: connect, credentials write-only and encrypted, actions, roles, tenant isolation."""

import pytest
from django.db import connection

from channels.models import Store, SyncRun
from channels.vault import decrypt_credentials
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant

SECRET = "shpat_super_secret_value_9876"


def test_connect_a_shopify_store_keeps_the_token_encrypted_and_never_shows_it(console, tenant_a):
    response = console.post(
        "/stores/connect/shopify/",
        {
            "name": "My Shop",
            "base_url": "https://my-shop.myshopify.com",
            "sync_interval_minutes": 5,
            "access_token": SECRET,
        },
    )

    assert response.status_code == 302
    with in_tenant(tenant_a):
        store = Store.objects.get(name="My Shop")
        assert SECRET not in store.credentials_encrypted
        assert decrypt_credentials(store.credentials_encrypted)["access_token"] == SECRET
    page = console.get(response["Location"]).content.decode()
    assert SECRET not in page
    assert "••••9876" in page
    assert SECRET not in console.get(f"/stores/{store.pk}/edit/").content.decode()


def test_connect_without_a_token_says_what_is_missing_and_creates_nothing(console, tenant_a):
    response = console.post(
        "/stores/connect/shopify/",
        {"name": "No Token", "base_url": "https://x.myshopify.com", "sync_interval_minutes": 5},
    )

    assert response.status_code == 200
    assert "This credential is required" in response.content.decode()
    with in_tenant(tenant_a):
        assert not Store.objects.filter(name="No Token").exists()


def test_editing_with_blank_credentials_keeps_the_stored_ones(console, tenant_a):
    console.post(
        "/stores/connect/shopify/",
        {"name": "Keep", "base_url": "https://k.myshopify.com", "sync_interval_minutes": 5, "access_token": SECRET},
    )
    with in_tenant(tenant_a):
        store = Store.objects.get(name="Keep")
    console.post(
        f"/stores/{store.pk}/edit/",
        {"name": "Keep", "base_url": "https://k.myshopify.com", "sync_interval_minutes": 10, "access_token": ""},
    )
    with in_tenant(tenant_a):
        store.refresh_from_db()
        assert decrypt_credentials(store.credentials_encrypted)["access_token"] == SECRET
        assert store.sync_interval_minutes == 10


def test_stores_list_paginates_nothing_and_shows_each_store(console, tenant_a):
    with in_tenant(tenant_a):
        StoreFactory(name="Alpha Woo", channel="woocommerce", base_url="https://a.example")
    body = console.get("/stores/").content.decode()
    assert "Alpha Woo" in body


def test_sync_now_enqueues_a_manual_sync_after_commit(console, tenant_a, django_capture_on_commit_callbacks):
    with in_tenant(tenant_a):
        store = StoreFactory(name="S1", channel="shopify", base_url="https://s.myshopify.com")
    with django_capture_on_commit_callbacks() as callbacks:
        response = console.post(f"/stores/{store.pk}/sync/")
    assert response.status_code == 302
    assert len(callbacks) == 1


def test_paused_store_cannot_be_synced_and_can_be_resumed(console, tenant_a, django_capture_on_commit_callbacks):
    with in_tenant(tenant_a):
        store = StoreFactory(name="P", channel="shopify", base_url="https://p.myshopify.com")
    console.post(f"/stores/{store.pk}/pause/")
    with django_capture_on_commit_callbacks() as callbacks:
        page = console.post(f"/stores/{store.pk}/sync/", follow=True)
    assert callbacks == []
    assert "resume it" in page.content.decode()
    console.post(f"/stores/{store.pk}/pause/", {"action": "resume"})
    with in_tenant(tenant_a):
        assert Store.objects.get(pk=store.pk).status == "active"


def test_sync_status_json_reports_progress(console, tenant_a):
    with in_tenant(tenant_a):
        store = StoreFactory(name="Prog", channel="shopify", base_url="https://p.myshopify.com")
        SyncRun.objects.create(store=store, kind="manual", orders_seen=50, channel_count=200)
    assert console.get(f"/stores/{store.pk}/sync/status/").json()["percent"] == 25


def test_api_creates_a_store_and_never_returns_credentials(api, tenant_a):
    response = api.post(
        "/api/v1/stores/",
        {
            "name": "API Shop",
            "channel": "shopify",
            "base_url": "https://api.myshopify.com",
            "credentials": {"access_token": SECRET},
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert "credentials" not in body
    assert body["credentials_masked"]["access_token"] == "••••9876"
    assert SECRET not in response.content.decode()
    listed = api.get("/api/v1/stores/")
    assert SECRET not in listed.content.decode()


def test_api_refuses_bad_input_with_reasons(api, tenant_a):
    response = api.post("/api/v1/stores/", {"name": "X", "channel": "shopify"}, content_type="application/json")
    assert response.status_code == 400
    with in_tenant(tenant_a):
        assert not Store.objects.filter(name="X").exists()


def test_api_sync_of_a_spreadsheet_store_is_refused(api, tenant_a):
    with in_tenant(tenant_a):
        store = StoreFactory(name="Sheet")
    response = api.post(f"/api/v1/stores/{store.pk}/sync/")
    assert response.status_code == 400
    assert "imported from files" in response.content.decode()


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_cannot_reach_stores(tenant_a, make_user, make_supplier, client_for, api_for, role):
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    user = make_user(tenant_a, role, supplier=supplier)
    with in_tenant(tenant_a):
        store = StoreFactory(name="Hidden")
    client = client_for(tenant_a, user)
    assert client.get("/stores/").status_code == 403
    assert client.get(f"/stores/{store.pk}/").status_code == 403
    assert api_for(tenant_a, user).get("/api/v1/stores/").status_code == 403


def test_a_store_of_tenant_b_is_not_found_from_tenant_a(console, api, tenant_b):
    with in_tenant(tenant_b):
        other = StoreFactory(name="B's store")
    assert console.get(f"/stores/{other.pk}/").status_code == 404
    assert api.get(f"/api/v1/stores/{other.pk}/").status_code == 404
    assert "B&#x27;s store" not in console.get("/stores/").content.decode()
    assert "B's store" not in api.get("/api/v1/stores/").content.decode()
    connection.set_schema_to_public()


# ------------------------------------------------------------------ may it sync? one answer for page and API

REFUSALS = [
    ("shopify", "paused", "resume it"),
    ("shopify", "needs_reauth", "enter new ones"),
    ("spreadsheet", "active", "imported from files"),
]
WINDOW = {"start": "2026-11-01T08:00", "end": "2026-11-02T08:00"}
API_WINDOW = {"window_start": "2026-11-01T08:00:00Z", "window_end": "2026-11-02T08:00:00Z"}


def _store(tenant, channel: str, status: str) -> Store:
    with in_tenant(tenant):
        return StoreFactory(
            name=f"{channel} {status}", channel=channel, status=status,
            base_url="https://r.myshopify.com" if channel == "shopify" else "",
        )  # fmt: skip


@pytest.mark.parametrize(("channel", "status", "reason"), REFUSALS)
@pytest.mark.parametrize("replay", [False, True], ids=["sync", "replay"])
def test_the_page_refuses_to_sync_or_replay_a_store_that_may_not_sync(
    console, tenant_a, django_capture_on_commit_callbacks, channel, status, reason, replay
):
    # given a store that may not sync
    store = _store(tenant_a, channel, status)

    # when the operator presses "Sync now" or replays a window
    with django_capture_on_commit_callbacks() as callbacks:
        if replay:
            page = console.post(f"/stores/{store.pk}/replay/", WINDOW, follow=True)
        else:
            page = console.post(f"/stores/{store.pk}/sync/", follow=True)

    # then nothing is started and the page says why
    assert callbacks == []
    assert reason in page.content.decode()
    with in_tenant(tenant_a):
        assert not SyncRun.objects.filter(store=store).exists()


@pytest.mark.parametrize(("channel", "status", "reason"), REFUSALS)
@pytest.mark.parametrize("replay", [False, True], ids=["sync", "replay"])
def test_the_api_refuses_to_sync_or_replay_a_store_that_may_not_sync(
    api, tenant_a, django_capture_on_commit_callbacks, channel, status, reason, replay
):
    # given a store that may not sync
    store = _store(tenant_a, channel, status)

    # when the API is asked to sync it or replay a window
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(
            f"/api/v1/stores/{store.pk}/sync/", API_WINDOW if replay else {}, content_type="application/json"
        )

    # then it answers 400 with the same reason as the page, and starts nothing
    assert response.status_code == 400
    assert reason in " ".join(response.json()["detail"])
    assert callbacks == []


@pytest.mark.parametrize("replay", [False, True], ids=["sync", "replay"])
def test_page_and_api_start_a_sync_or_replay_of_an_active_store(
    console, api, tenant_a, django_capture_on_commit_callbacks, replay
):
    # given an active Shopify store
    store = _store(tenant_a, "shopify", "active")

    # when both the page and the API ask for it
    with django_capture_on_commit_callbacks() as callbacks:
        if replay:
            console.post(f"/stores/{store.pk}/replay/", WINDOW)
        else:
            console.post(f"/stores/{store.pk}/sync/")
        response = api.post(
            f"/api/v1/stores/{store.pk}/sync/", API_WINDOW if replay else {}, content_type="application/json"
        )

    # then each starts one background run
    assert response.status_code == 202
    assert len(callbacks) == 2
