"""A NUL byte or a lone surrogate anywhere in a request answers 400 (JSON for the API, a page for people) and
changes nothing; before, each of these was a 500 from PostgreSQL ("\\u0000 cannot be converted to text")."""

from __future__ import annotations

import json

import pytest

from core.textguard import (
    TextGuardFormParser,
    TextGuardJSONParser,
    TextGuardMultiPartParser,
    contains_invalid_text,
    is_invalid_text,
)
from inventory.models import Product
from tests.security.conftest import routes

pytestmark = pytest.mark.django_db

NUL_QUERIES = [
    "/api/v1/suppliers/?q=a%00b",
    "/api/v1/products/?q=a%00b",
    "/api/v1/listings/?q=a%00b",
    "/api/v1/listings/unmapped/?q=a%00b",
    "/api/v1/routing/holds/?reason=a%00b",
    "/api/v1/orders/?q=a%00b",
    "/api/v1/products/?a%00b=1",
]


@pytest.mark.parametrize("url", NUL_QUERIES)
def test_a_nul_byte_in_an_api_query_answers_a_json_400(api, url):
    response = api.get(url)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "not allowed" in response.json()["detail"]


@pytest.mark.parametrize(
    "url", ["/products/listings/?q=a%00b", "/products/listings/?tab=unmapped&q=a%00b", "/orders/holds/?reason=a%00b"]
)
def test_a_nul_byte_in_a_page_query_answers_a_400_page(console, url):
    response = console.get(url)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "not allowed" in response.content.decode()


def test_a_nul_byte_in_the_path_answers_400(api):
    assert api.get("/api/v1/products/%00/").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "NUL-1", "name": "n", "attributes": {"k": "\u0000"}},
        {"sku": "NUL-1", "name": "n\u0000"},
        {"sku": "NUL-1", "name": "n", "attributes": {"k\u0000": "v"}},
        {"sku": "NUL-1", "name": "n", "attributes": {"deep": [{"deeper": ["\ud800"]}]}},
        {"sku": "NUL-1\ud800", "name": "n"},
    ],
)
def test_invalid_text_in_a_json_body_answers_400_and_creates_nothing(api, body):
    response = api.post("/api/v1/products/", json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert "not allowed" in response.json()["detail"]
    assert not Product.objects.filter(sku__startswith="NUL-1").exists()


def test_a_nul_byte_in_an_api_form_body_answers_400(api):
    response = api.post("/api/v1/suppliers/", {"name": "Acme\u0000", "code": "ACME"})

    assert response.status_code == 400
    assert "not allowed" in response.json()["detail"]


def test_a_nul_byte_in_a_page_form_answers_400_and_changes_nothing(console):
    response = console.post("/products/new/", {"sku": "NUL-2", "name": "bad\u0000name"})

    assert response.status_code == 400
    assert not Product.objects.filter(sku="NUL-2").exists()


def test_clean_text_still_goes_through(api):
    response = api.post(
        "/api/v1/products/",
        json.dumps({"sku": "OK-1", "name": "Tea 茶 🍵", "attributes": {"colour": "green"}}),
        content_type="application/json",
    )

    assert response.status_code == 201
    assert api.get("/api/v1/products/?q=OK").json()["results"][0]["sku"] == "OK-1"


def test_the_checks_see_every_key_and_string():
    assert is_invalid_text("a\x00b") and is_invalid_text("\udfff") and not is_invalid_text("😀 普通")
    assert contains_invalid_text({"a": [1, {"b": ("x", "\x00")}]})
    assert contains_invalid_text({"\ud800": 1})
    assert not contains_invalid_text({"a": [1, None, True, {"b": "ok"}]})


def test_every_api_view_parses_bodies_through_the_text_guard():
    """A view that names its own parsers must name the guarded ones, or its bodies skip the check."""
    guarded = (TextGuardJSONParser, TextGuardFormParser, TextGuardMultiPartParser)
    unguarded = sorted(
        f"{route.route} ({parser.__name__})"
        for route in routes("erp.urls")
        if route.view_class is not None and hasattr(route.view_class, "parser_classes")
        for parser in route.view_class.parser_classes
        if not issubclass(parser, guarded)
    )
    assert not unguarded, "API views parsing bodies without the text guard:\n" + "\n".join(unguarded)


@pytest.mark.parametrize(
    "url",
    [
        "/orders/?placed_from=0001-01-01&placed_to=9999-12-31",
        "/dispatches/?created_from=0001-01-01&created_to=9999-12-31",
        "/settlement/margins/?placed_from=0001-01-01&placed_to=9999-12-31",
        "/audit/?date_from=0001-01-01&date_to=9999-12-31",
        "/api/v1/orders/?placed_from=0001-01-01&placed_to=9999-12-31",
    ],
)
def test_the_first_and_last_days_a_calendar_has_filter_a_list_instead_of_a_500(in_a, make_user, client_for, url):
    # the owner may open every one of these pages (console, finance and the audit log)
    owner = make_user(in_a, "owner")
    response = client_for(in_a, owner).get(url)
    assert response.status_code == 200


def test_the_portal_list_takes_the_calendars_edges_too(in_a, make_user, make_supplier, client_for):
    user = make_user(in_a, "supplier", supplier=make_supplier(in_a))
    response = client_for(in_a, user).get("/portal/dispatches/?created_from=0001-01-01&created_to=9999-12-31")
    assert response.status_code == 200
