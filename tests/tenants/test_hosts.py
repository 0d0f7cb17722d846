import json

from django.test import Client

from tenants.services import tenant_set_status


def test_public_host_serves_the_landing_page(public_client):
    response = public_client.get("/")
    assert response.status_code == 200
    assert "Create your workspace" in response.content.decode()


def test_unknown_host_gets_a_friendly_404(db):
    response = Client(HTTP_HOST="nobody.localhost").get("/login/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "Workspace not found" in body
    assert "nobody.localhost" in body
    assert "Traceback" not in body


def test_template_schema_is_not_reachable_by_any_host(db):
    assert Client(HTTP_HOST="template.localhost").get("/login/").status_code == 404


def test_suspended_tenant_gets_a_403_page(tenant_a, client_for):
    tenant_set_status(tenant=tenant_a, status="suspended")

    response = client_for(tenant_a).get("/login/")

    assert response.status_code == 403
    assert "suspended" in response.content.decode()


def test_unknown_page_on_tenant_host_is_a_friendly_404(tenant_a, client_for):
    response = client_for(tenant_a).get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_healthz_is_ok_when_postgres_and_redis_answer(public_client):
    response = public_client.get("/healthz")

    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_is_503_when_redis_is_down(public_client, settings):
    # given: Redis at an address where nothing listens
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = public_client.get("/healthz")

    assert response.status_code == 503
    payload = json.loads(response.content)
    assert payload["status"] == "unavailable"
    assert payload["checks"]["database"] == "ok"
    assert payload["checks"]["redis"].startswith("error")


def test_response_carries_a_request_id(public_client):
    response = public_client.get("/healthz", HTTP_X_REQUEST_ID="abcdef123456")
    assert response["X-Request-ID"] == "abcdef123456"
    assert len(public_client.get("/healthz", HTTP_X_REQUEST_ID="<bad>")["X-Request-ID"]) == 32
