"""Login throttling per address across every tenant: guessing a few passwords on each of many workspaces from
one address locks that address out of all of them; another address is unaffected."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.test import override_settings

from tests.conftest import PASSWORD

ATTACKER = "203.0.113.7"
BYSTANDER = "198.51.100.9"


@pytest.fixture(autouse=True)
def clean_counters():
    cache.clear()
    caches["platform"].clear()
    yield
    cache.clear()
    caches["platform"].clear()


def _login(client, email: str, password: str, address: str):
    return client.post("/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def _signed_in(client) -> bool:
    return client.get("/orders/").status_code == 200


# The per-tenant limits high, so only the platform-wide counter can lock.
@override_settings(LOGIN_FAILURE_LIMIT=1000)
def test_failures_spread_over_two_tenants_lock_the_address_on_both(tenant_a, tenant_b, make_user, client_for):
    user_a = make_user(tenant_a, "operator")
    user_b = make_user(tenant_b, "operator")
    half = settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS // 2
    for i in range(half):
        _login(client_for(tenant_a), f"guess{i}@a.test", "wrong-password", ATTACKER)
    for i in range(settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS - half):
        _login(client_for(tenant_b), f"guess{i}@b.test", "wrong-password", ATTACKER)

    on_a, on_b = client_for(tenant_a), client_for(tenant_b)
    response_a = _login(on_a, user_a.email, PASSWORD, ATTACKER)
    response_b = _login(on_b, user_b.email, PASSWORD, ATTACKER)

    assert "Too many failed attempts" in response_a.content.decode()
    assert "Too many failed attempts" in response_b.content.decode()
    assert not _signed_in(on_a)
    assert not _signed_in(on_b)


@override_settings(LOGIN_FAILURE_LIMIT=1000)
def test_another_address_is_not_locked(tenant_a, tenant_b, make_user, client_for):
    user_a = make_user(tenant_a, "operator")
    for i in range(settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS):
        _login(client_for(tenant_b), f"guess{i}@b.test", "wrong-password", ATTACKER)

    client = client_for(tenant_a)
    response = _login(client, user_a.email, PASSWORD, BYSTANDER)

    assert response.status_code == 302
    assert _signed_in(client)


@override_settings(LOGIN_FAILURE_LIMIT=1000)
def test_below_the_limit_the_address_still_signs_in(tenant_a, tenant_b, make_user, client_for):
    user_a = make_user(tenant_a, "operator")
    for i in range(settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS - 1):
        _login(client_for(tenant_b), f"guess{i}@b.test", "wrong-password", ATTACKER)

    client = client_for(tenant_a)
    _login(client, user_a.email, PASSWORD, ATTACKER)

    assert _signed_in(client)


@override_settings(LOGIN_FAILURE_LIMIT=1000)
def test_signing_in_to_ones_own_account_does_not_clear_the_address_record(tenant_a, tenant_b, make_user, client_for):
    user_a = make_user(tenant_a, "operator")
    for i in range(settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS - 1):
        _login(client_for(tenant_b), f"guess{i}@b.test", "wrong-password", ATTACKER)
    _login(client_for(tenant_a), user_a.email, PASSWORD, ATTACKER)
    _login(client_for(tenant_b), "one-more@b.test", "wrong-password", ATTACKER)

    client = client_for(tenant_a)
    response = _login(client, user_a.email, PASSWORD, ATTACKER)

    assert "Too many failed attempts" in response.content.decode()
    assert not _signed_in(client)


def test_the_address_counter_is_one_key_for_every_tenant(tenant_a, tenant_b, make_user, client_for):
    # Not prefixed by the schema: the same key is counted up from both hosts.
    _login(client_for(tenant_a), "x@a.test", "wrong-password", ATTACKER)
    _login(client_for(tenant_b), "x@b.test", "wrong-password", ATTACKER)

    assert caches["platform"].get(f"login-fail:platform-ip:{ATTACKER}") == 2
    assert caches["platform"].get(f"login-fail:platform-ip:{BYSTANDER}") is None


def test_the_per_tenant_limits_still_hold(tenant_a, make_user, client_for):
    user = make_user(tenant_a, "operator")
    for _ in range(5):
        _login(client_for(tenant_a), user.email, "wrong-password", ATTACKER)

    client = client_for(tenant_a)
    response = _login(client, user.email, PASSWORD, BYSTANDER)

    assert "Too many failed attempts" in response.content.decode()
    assert not _signed_in(client)
