"""Passwords are hashed with Argon2id; a hash written by an older hasher is upgraded on the next login.

The suite puts MD5 first for speed; these tests put the hashers back in production order.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.cache import cache, caches
from django.test import override_settings

from tests.conftest import PASSWORD, in_tenant

User = get_user_model()
PRODUCTION_HASHERS = [h for h in settings.PASSWORD_HASHERS if not h.endswith("MD5PasswordHasher")]

pytestmark = pytest.mark.usefixtures("production_hashers")


@pytest.fixture
def production_hashers():
    with override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS):
        yield


@pytest.fixture(autouse=True)
def clean_counters():
    cache.clear()
    caches["platform"].clear()


def test_argon2_is_the_first_hasher_outside_the_test_speed_up():
    assert PRODUCTION_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_new_users_password_is_stored_as_argon2id(tenant_a, make_user):
    user = make_user(tenant_a, "operator")

    with in_tenant(tenant_a):
        stored = User.objects.get(pk=user.pk)
    assert stored.password.startswith("argon2$argon2id$")
    assert PASSWORD not in stored.password
    assert stored.check_password(PASSWORD)
    assert not stored.check_password("not-the-password")


def test_an_old_pbkdf2_hash_is_upgraded_to_argon2_on_login(tenant_a, make_user, client_for):
    user = make_user(tenant_a, "operator")
    with in_tenant(tenant_a):
        User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
        assert User.objects.get(pk=user.pk).password.startswith("pbkdf2_sha256$")

    client = client_for(tenant_a)
    response = client.post("/login/", {"username": user.email, "password": PASSWORD}, REMOTE_ADDR="192.0.2.31")

    assert response.status_code == 302
    assert client.get("/orders/").status_code == 200
    with in_tenant(tenant_a):
        upgraded = User.objects.get(pk=user.pk)
    assert upgraded.password.startswith("argon2$argon2id$")
    assert upgraded.check_password(PASSWORD)


def test_a_failed_login_leaves_an_old_hash_as_it_was(tenant_a, make_user, client_for):
    user = make_user(tenant_a, "operator")
    old = make_password(PASSWORD, hasher="pbkdf2_sha256")
    with in_tenant(tenant_a):
        User.objects.filter(pk=user.pk).update(password=old)

    client_for(tenant_a).post(
        "/login/", {"username": user.email, "password": "wrong-password"}, REMOTE_ADDR="192.0.2.32"
    )

    with in_tenant(tenant_a):
        assert User.objects.get(pk=user.pk).password == old
