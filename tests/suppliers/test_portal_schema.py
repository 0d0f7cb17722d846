"""The portal API's OpenAPI schema says what its endpoints really answer: every response of the portal's
dispatch endpoints validates against the schema that /api/v1/schema/ publishes for it."""

from __future__ import annotations

import copy
import datetime as dt

import jsonschema
import pytest
from django.utils import timezone

from tests.suppliers.portal_factories import make_dispatch

TOMORROW = (timezone.localdate() + dt.timedelta(days=1)).isoformat()


def _as_json_schema(node):
    """OpenAPI 3.0's ``nullable`` as JSON Schema's null type."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture
def schema(in_a, make_user, make_supplier, client_for):
    client = client_for(in_a, make_user(in_a, "operator"))
    return client.get("/api/v1/schema/", {"format": "json"}).json()


@pytest.fixture
def portal_api(in_a, make_supplier, make_user, api_for):
    supplier = make_supplier(in_a, name="Acme")
    supplier.share_buyer_email = True
    supplier.save()
    return supplier, api_for(in_a, make_user(in_a, "supplier", supplier=supplier))


def _check(schema: dict, path: str, method: str, status: int, body) -> None:
    operation = schema["paths"][path][method]
    expected = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    root = {"components": copy.deepcopy(schema["components"])}
    jsonschema.validate(body, _as_json_schema({**expected, **root}))


def test_every_portal_dispatch_response_matches_the_schema(schema, portal_api):
    supplier, api = portal_api
    first, second, third, fourth = (
        make_dispatch(supplier),
        make_dispatch(supplier, lines=(("MUG", 1, "4.00"), ("TEE", 2, "3.125"))),
        make_dispatch(supplier),
        make_dispatch(supplier, status="cancelled"),
    )
    json = "application/json"

    cases = [
        ("/api/v1/portal/summary/", "get", api.get("/api/v1/portal/summary/")),
        ("/api/v1/portal/dispatches/", "get", api.get("/api/v1/portal/dispatches/?sort=ship_by")),
        ("/api/v1/portal/dispatches/{id}/", "get", api.get(f"/api/v1/portal/dispatches/{first.pk}/")),
        (
            "/api/v1/portal/dispatches/{id}/accept/",
            "post",
            api.post(
                f"/api/v1/portal/dispatches/{first.pk}/accept/", {"promised_ship_date": TOMORROW}, content_type=json
            ),
        ),
        (
            "/api/v1/portal/dispatches/{id}/accept-partly/",
            "post",
            api.post(
                f"/api/v1/portal/dispatches/{second.pk}/accept-partly/",
                {"rejected_line_ids": [second.lines.first().pk], "reason_code": "out_of_stock"},
                content_type=json,
            ),
        ),
        (
            "/api/v1/portal/dispatches/{id}/reject/",
            "post",
            api.post(
                f"/api/v1/portal/dispatches/{third.pk}/reject/", {"reason_code": "discontinued"}, content_type=json
            ),
        ),
        (
            "/api/v1/portal/dispatches/bulk-accept/",
            "post",
            api.post("/api/v1/portal/dispatches/bulk-accept/", {"ids": [fourth.pk, 999999]}, content_type=json),
        ),
        (
            "/api/v1/portal/dispatches/bulk-reject/",
            "post",
            api.post(
                "/api/v1/portal/dispatches/bulk-reject/",
                {"ids": [fourth.pk], "reason_code": "other", "comment": "x"},
                content_type=json,
            ),
        ),
    ]
    for path, method, response in cases:
        assert response.status_code == 200, (path, response.content)
        _check(schema, path, method, 200, response.json())
    refused = api.post(f"/api/v1/portal/dispatches/{third.pk}/accept/", {}, content_type=json)
    assert refused.status_code == 400
    _check(schema, "/api/v1/portal/dispatches/{id}/accept/", "post", 400, refused.json())
