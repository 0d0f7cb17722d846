"""Two tenants: nothing of one is visible from the other, by ORM, page, API or cache."""

from django.core.cache import cache

from suppliers.models import Supplier
from tenants.accounts.services import token_create
from tests.conftest import PASSWORD, in_tenant


def test_rows_of_one_tenant_are_invisible_in_the_other(tenant_a, tenant_b, make_supplier):
    make_supplier(tenant_a, name="Only in A")

    with in_tenant(tenant_b):
        assert not Supplier.objects.filter(name__startswith="Only in A").exists()
    with in_tenant(tenant_a):
        assert Supplier.objects.filter(name__startswith="Only in A").count() == 1


def test_a_session_of_tenant_a_means_nothing_on_tenant_b(tenant_a, tenant_b, make_user, client_for):
    user = make_user(tenant_a, "owner")
    client = client_for(tenant_a, user)
    assert client.get("/orders/").status_code == 200

    # the same cookie sent to B's host
    client.defaults["HTTP_HOST"] = "beta.localhost"
    response = client.get("/orders/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_api_token_of_tenant_a_is_refused_on_tenant_b(tenant_a, tenant_b, make_user, client_for):
    user = make_user(tenant_a, "operator")
    with in_tenant(tenant_a):
        key = token_create(user=user)

    ok = client_for(tenant_a).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")
    refused = client_for(tenant_b).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")

    assert ok.status_code == 200
    assert ok.json()["tenant"] == "alpha"
    assert refused.status_code == 401


def test_login_of_tenant_a_user_fails_on_tenant_b(tenant_a, tenant_b, make_user, client_for):
    user = make_user(tenant_a, "operator")
    response = client_for(tenant_b).post("/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


def test_cache_keys_carry_the_tenant(tenant_a, tenant_b):
    with in_tenant(tenant_a):
        cache.set("isolation-probe", "A", 30)
    with in_tenant(tenant_b):
        assert cache.get("isolation-probe") is None
    with in_tenant(tenant_a):
        assert cache.get("isolation-probe") == "A"
        cache.delete("isolation-probe")
