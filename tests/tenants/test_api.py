import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tenants.accounts.services import token_create
from tests.conftest import in_tenant


@pytest.mark.parametrize("role", ["owner", "operator", "finance", "supplier"])
def test_me_returns_the_user_and_role(tenant_a, make_user, make_supplier, client_for, role):
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    user = make_user(tenant_a, role, supplier=supplier)
    with in_tenant(tenant_a):
        key = token_create(user=user)

    response = client_for(tenant_a).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["role"], body["tenant"]) == (user.email, role, "alpha")
    assert body["supplier_id"] == (supplier.pk if supplier else None)


def test_me_without_credentials_is_refused(tenant_a, client_for):
    assert client_for(tenant_a).get("/api/v1/me/").status_code in (401, 403)


def test_session_auth_works_for_the_browser(tenant_a, make_user, client_for):
    user = make_user(tenant_a, "finance")
    assert client_for(tenant_a, user).get("/api/v1/me/").json()["role"] == "finance"


def test_api_is_not_served_on_the_public_host(public_client):
    assert public_client.get("/api/v1/me/").status_code == 404


def test_openapi_schema_and_swagger_ui_are_served_offline(tenant_a, make_user, client_for):
    client = client_for(tenant_a, make_user(tenant_a, "operator"))

    schema = client.get("/api/v1/schema/")
    docs = client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/me/" in schema.content
    assert docs.status_code == 200
    body = docs.content.decode()
    assert "swagger-ui" in body
    assert "cdn" not in body.lower()


def test_token_page_shows_a_new_token_once_and_never_again(tenant_a, make_user, client_for):
    user = make_user(tenant_a, "operator")
    client = client_for(tenant_a, user)

    created = client.post("/account/token/")
    with in_tenant(tenant_a):
        key = Token.objects.get(user=user).key
    assert key in created.content.decode()
    assert key not in client.get("/account/").content.decode()

    client.post("/account/token/revoke/")
    with in_tenant(tenant_a):
        assert not Token.objects.filter(user=user).exists()


def test_create_api_token_command_prints_a_working_token(tenant_a, make_user, client_for, capsys):
    user = make_user(tenant_a, "owner")
    call_command("create_api_token", "--tenant", "alpha", "--email", user.email)
    key = capsys.readouterr().out.strip()

    assert client_for(tenant_a).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
