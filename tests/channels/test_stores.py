"""Stores pages and API: connect, credentials write-only and encrypted, actions, roles, tenant isolation."""

import pytest
from django.db import connection

from channels.models import Store, SyncRun
from channels.vault import decrypt_credentials
from tenants.accounts.services import token_create
from tests.conftest import in_tenant

SECRET = "shpat_super_secret_value_9876"


@pytest.fixture
def operator(tenant_a, make_user):
    return make_user(tenant_a, "operator")


@pytest.fixture
def console(tenant_a, operator, client_for):
    return client_for(tenant_a, operator)


@pytest.fixture
def api(tenant_a, operator, client_for):
    with in_tenant(tenant_a):
        key = token_create(user=operator)
    client = client_for(tenant_a)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


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
        Store.objects.create(name="Alpha Woo", channel="woocommerce", base_url="https://a.example")
    body = console.get("/stores/").content.decode()
    assert "Alpha Woo" in body


def test_sync_now_enqueues_a_manual_sync_after_commit(console, tenant_a, django_capture_on_commit_callbacks):
    with in_tenant(tenant_a):
        store = Store.objects.create(name="S1", channel="shopify", base_url="https://s.myshopify.com")
    with django_capture_on_commit_callbacks() as callbacks:
        response = console.post(f"/stores/{store.pk}/sync/")
    assert response.status_code == 302
    assert len(callbacks) == 1


def test_paused_store_cannot_be_synced_and_can_be_resumed(console, tenant_a, django_capture_on_commit_callbacks):
    with in_tenant(tenant_a):
        store = Store.objects.create(name="P", channel="shopify", base_url="https://p.myshopify.com")
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
        store = Store.objects.create(name="Prog", channel="shopify", base_url="https://p.myshopify.com")
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
        store = Store.objects.create(name="Sheet", channel="spreadsheet")
    response = api.post(f"/api/v1/stores/{store.pk}/sync/")
    assert response.status_code == 400
    assert "imported from files" in response.content.decode()


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_cannot_reach_stores(tenant_a, make_user, make_supplier, client_for, role):
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    user = make_user(tenant_a, role, supplier=supplier)
    with in_tenant(tenant_a):
        store = Store.objects.create(name="Hidden", channel="spreadsheet")
        key = token_create(user=user)
    client = client_for(tenant_a, user)
    assert client.get("/stores/").status_code == 403
    assert client.get(f"/stores/{store.pk}/").status_code == 403
    assert client_for(tenant_a).get("/api/v1/stores/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 403


def test_a_store_of_tenant_b_is_not_found_from_tenant_a(console, api, tenant_b):
    with in_tenant(tenant_b):
        other = Store.objects.create(name="B's store", channel="spreadsheet")
    assert console.get(f"/stores/{other.pk}/").status_code == 404
    assert api.get(f"/api/v1/stores/{other.pk}/").status_code == 404
    assert "B&#x27;s store" not in console.get("/stores/").content.decode()
    assert "B's store" not in api.get("/api/v1/stores/").content.decode()
    connection.set_schema_to_public()
