"""The OpenAPI schema tells the truth: generated without a warning, valid OpenAPI, list envelopes as the views
answer them, nullable fields marked, every operation's errors documented with their bodies, and typed query
parameters refused when ill-typed rather than ignored."""

from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _generate() -> dict:
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator(urlconf="erp.urls").get_schema(request=None, public=True)
    return schema


@pytest.fixture(scope="module")
def generated():
    schema = _generate()
    return schema, dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)


@pytest.fixture(scope="module")
def schema(generated) -> dict:
    return generated[0]


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _ok_body(schema: dict, path: str, method: str, code: str = "200") -> dict:
    response = schema["paths"][f"{API}{path}"][method]["responses"][code]
    return _resolve(schema, response["content"]["application/json"]["schema"])


def test_the_generator_reports_no_warning_and_no_error(generated):
    _schema, warnings, errors = generated

    assert warnings == {}
    assert errors == {}


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema)


@pytest.mark.parametrize(
    ("path", "envelope"),
    [
        ("/products/", {"next", "results"}),
        ("/orders/", {"next", "results"}),
        ("/dispatches/", {"next", "results"}),
        ("/listings/", {"next_offset", "results"}),
        ("/settlement/payouts/", {"count", "next", "previous", "results"}),
        ("/settlement/reconciliation/", {"count", "next", "previous", "summary", "results"}),
        ("/routing/holds/", {"count", "page", "pages", "next_page", "reasons", "results"}),
    ],
)
def test_paginated_lists_are_documented_with_their_envelope(schema, path, envelope):
    body = _ok_body(schema, path, "get")

    assert body["type"] == "object"
    assert envelope <= set(body["properties"])
    assert body["properties"]["results"]["type"] == "array"


def test_a_cursor_is_nullable_on_the_last_page(schema):
    assert _ok_body(schema, "/products/", "get")["properties"]["next"]["nullable"] is True


def test_supplier_code_of_a_source_is_nullable(schema):
    source = schema["components"]["schemas"]["Source"]

    assert source["properties"]["supplier_code"]["nullable"] is True


def test_opening_a_draft_rule_set_is_documented_as_one_object(schema):
    responses = schema["paths"][f"{API}/routing/rulesets/"]["post"]["responses"]

    for code in ("200", "201"):
        body = _resolve(schema, responses[code]["content"]["application/json"]["schema"])
        assert body["type"] == "object" and {"rules", "problems"} <= set(body["properties"])


def test_every_operation_documents_its_errors_with_a_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            expected = {"400", "401", "403"} | ({"404"} if "{" in path else set())
            assert expected <= set(operation["responses"]), (method, path)
            for code in expected:
                assert "application/json" in operation["responses"][code]["content"], (method, path, code)


def test_request_bodies_are_json_unless_they_upload_a_file(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "multipart/form-data" in content:
                continue
            assert set(content) <= {"application/json"}, (method, path)


def test_a_text_field_that_refuses_blanks_says_so(schema):
    request = schema["components"]["schemas"]["ProductRequest"]["properties"]["sku"]

    assert request["minLength"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "/suppliers/?active=null",
        "/products/?active=maybe",
        "/routing/holds/?page=x",
        "/listings/?limit=0",
        "/suppliers/{supplier}/scorecard/?months=x",
        "/suppliers/{supplier}/scorecard/?months=0",
    ],
)
def test_an_ill_typed_query_parameter_is_refused(api, make_supplier, in_a, url):
    supplier = make_supplier(in_a)

    response = api.get(API + url.format(supplier=supplier.pk))

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")


def test_a_well_typed_query_parameter_still_filters(api, make_supplier, in_a):
    make_supplier(in_a, name="Active one")

    response = api.get(f"{API}/suppliers/?active=true")

    assert response.status_code == 200
    assert [s["name"] for s in response.json()] == [s["name"] for s in response.json() if s["active"]]


def test_an_unknown_api_address_answers_a_json_404(api):
    response = api.get(f"{API}/products/not-a-number/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
