"""The portal's stock page and API (/portal/stock/, /api/v1/portal/stock/): a supplier sees and sets only its own
products' stock, by page, API or upload; other roles and other tenants are refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.models import Stock
from inventory.services import stock_set
from inventory.stock import stock_reserve
from tests.conftest import in_tenant
from tests.orders.routing_factories import add_source, make_product, make_supplier

UNKNOWN = "No product you supply has the SKU “{}”."


@pytest.fixture
def acme(in_a):
    return make_supplier("Acme")


@pytest.fixture
def bolt(in_a):
    return make_supplier("Bolt")


@pytest.fixture
def acme_user(in_a, make_user, acme):
    return make_user(in_a, "supplier", supplier=acme, email="desk@acme.test")


@pytest.fixture
def portal(client_for, in_a, acme_user):
    return client_for(in_a, acme_user)


@pytest.fixture
def portal_api(api_for, in_a, acme_user):
    return api_for(in_a, acme_user)


@pytest.fixture
def products(acme, bolt):
    """TEE (Acme, 10 on hand, 3 reserved), MUG (Acme, untracked), THEIRS (Bolt, 7 on hand)."""
    tee = add_source(make_product("TEE"), acme, stock=10)
    stock_reserve(deltas={tee.pk: 3})
    mug = add_source(make_product("MUG"), acme)
    theirs = add_source(make_product("THEIRS"), bolt, stock=7)
    return {"TEE": tee, "MUG": mug, "THEIRS": theirs}


def levels() -> dict[str, tuple[int, int, str]]:
    return {
        sku: (on_hand, reserved, by)
        for sku, on_hand, reserved, by in Stock.objects.values_list(
            "source__product__sku", "on_hand", "reserved", "updated_by"
        )
    }


# ---------------------------------------------------------------------------
# The page


def test_the_page_lists_only_the_suppliers_own_products_with_available_and_reserved(portal, products, operator):
    stock_set(source=products["TEE"], on_hand=10, actor=operator)  # the merchant's e-mail is not shown

    response = portal.get("/portal/stock/")

    assert response.status_code == 200
    rows = {row["sku"]: row for row in response.context["rows"]}
    assert set(rows) == {"MUG", "TEE"}
    assert (rows["TEE"]["available"], rows["TEE"]["reserved"], rows["TEE"]["updated_by"]) == (7, 3, "merchant")
    assert (rows["MUG"]["tracked"], rows["MUG"]["available"]) == (False, None)
    body = response.content.decode()
    assert "THEIRS" not in body and operator.email not in body
    assert "reserved + N" in body


def test_search_and_pages(portal, acme):
    for i in range(60):
        add_source(make_product(f"SKU-{i:03d}", active=True), acme)

    first = portal.get("/portal/stock/")
    assert [row["sku"] for row in first.context["rows"]][:2] == ["SKU-000", "SKU-001"]
    assert len(first.context["rows"]) == 50 and first.context["next_query"] == "page=2"
    assert [row["sku"] for row in portal.get("/portal/stock/?page=2").context["rows"]] == [
        f"SKU-{i:03d}" for i in range(50, 60)
    ]
    searched = portal.get("/portal/stock/?q=sku-05")
    assert [row["sku"] for row in searched.context["rows"]] == [f"SKU-05{i}" for i in range(10)]
    assert "No products match" in portal.get("/portal/stock/?q=nothing").content.decode()


def test_the_list_query_count_does_not_grow_with_rows(portal, acme, django_assert_max_num_queries):
    for i in range(40):
        add_source(make_product(f"SKU-{i:03d}"), acme, stock=i)
    with django_assert_max_num_queries(12):
        assert portal.get("/portal/stock/").status_code == 200


def test_the_inline_edit_sets_one_row_and_keeps_what_is_reserved(portal, products):
    response = portal.post("/portal/stock/set/", {"sku": "TEE", "available": "0", "q": "T", "page": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/portal/stock/?q=T&page=1"
    assert levels()["TEE"] == (3, 3, "desk@acme.test")
    follow = portal.get("/portal/stock/")
    assert "Stock of TEE saved." in follow.content.decode()
    assert {row["sku"]: row["updated_by"] for row in follow.context["rows"]}["TEE"] == "desk@acme.test"


@pytest.mark.parametrize(("sku", "available"), [("THEIRS", "0"), ("NOBODY", "0"), ("TEE", "-1"), ("TEE", "x")])
def test_the_inline_edit_refuses_another_suppliers_product_or_a_bad_number_and_changes_nothing(
    portal, products, sku, available
):
    before = levels()

    response = portal.post("/portal/stock/set/", {"sku": sku, "available": available}, follow=True)

    assert levels() == before
    body = response.content.decode()
    if sku in ("THEIRS", "NOBODY"):
        assert UNKNOWN.format(sku) in body  # the same words for both: nothing about other suppliers leaks


def test_an_upload_on_the_page_sets_every_row(portal, products):
    upload = SimpleUploadedFile("stock.csv", "商品编码,可用库存\nTEE,1\nMUG,25\n".encode())

    response = portal.post("/portal/stock/upload/", {"file": upload})

    assert response.status_code == 302
    assert levels()["TEE"][:2] == (4, 3) and levels()["MUG"][:2] == (25, 0)


def test_a_bad_upload_on_the_page_saves_nothing_and_lists_every_problem(portal, products):
    before = levels()
    upload = SimpleUploadedFile("stock.csv", b"sku,available\nTEE,5\nTHEIRS,0\nMUG,lots\n")

    response = portal.post("/portal/stock/upload/", {"file": upload})

    assert response.status_code == 400
    report = response.context["report"]
    assert [(e.row, e.column) for e in report.errors] == [(3, "sku"), (4, "available")]
    body = response.content.decode()
    assert "Nothing was saved" in body and UNKNOWN.format("THEIRS") in body
    assert levels() == before


def test_the_template_holds_only_the_suppliers_own_products(portal, products):
    csv = portal.get("/portal/stock/template.csv")
    xlsx = portal.get("/portal/stock/template.xlsx")

    assert csv.status_code == xlsx.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "sku,name,available"
    assert "TEE" in text and "MUG" in text and "THEIRS" not in text
    assert xlsx.content.startswith(b"PK")
    assert portal.get("/portal/stock/template.pdf").status_code == 404


# ---------------------------------------------------------------------------
# The API


def test_api_lists_own_products_with_pages_and_search(portal_api, products, acme):
    body = portal_api.get("/api/v1/portal/stock/").json()

    assert body["count"] == 2 and body["next"] is None
    assert [(r["sku"], r["available"], r["reserved"], r["tracked"]) for r in body["results"]] == [
        ("MUG", None, 0, False),
        ("TEE", 7, 3, True),
    ]
    paged = portal_api.get("/api/v1/portal/stock/?page_size=1&page=2").json()
    assert (paged["pages"], paged["previous"], [r["sku"] for r in paged["results"]]) == (2, 1, ["TEE"])
    assert [r["sku"] for r in portal_api.get("/api/v1/portal/stock/?q=mu").json()["results"]] == ["MUG"]
    assert portal_api.get("/api/v1/portal/stock/?page=zero").status_code == 400


def test_api_report_sets_rows_and_answers_with_them(portal_api, products):
    response = portal_api.post(
        "/api/v1/portal/stock/",
        {"rows": [{"sku": "TEE", "available": 0}, {"sku": "MUG", "available": 12}]},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["rows"], body["created"], body["updated"]) == (2, 1, 1)
    assert {r["sku"]: (r["available"], r["reserved"]) for r in body["results"]} == {"TEE": (0, 3), "MUG": (12, 0)}
    assert levels()["TEE"] == (3, 3, "desk@acme.test")


@pytest.mark.parametrize(
    "payload",
    [
        {"rows": [{"sku": "TEE", "available": 1}, {"sku": "THEIRS", "available": 0}]},
        {"rows": [{"sku": "TEE", "available": -1}]},
        {"rows": [{"sku": "TEE"}]},
        {"rows": ["TEE"]},
        {"rows": []},
        {"rows": "TEE=1"},
        {},
    ],
)
def test_api_refuses_a_bad_report_whole_and_changes_nothing(portal_api, products, payload):
    before = levels()

    response = portal_api.post("/api/v1/portal/stock/", payload, content_type="application/json")

    assert response.status_code == 400
    assert "rows" in response.json()
    assert levels() == before


def test_api_names_another_suppliers_product_exactly_like_an_unknown_one(portal_api, products):
    theirs = portal_api.post(
        "/api/v1/portal/stock/", {"rows": [{"sku": "THEIRS", "available": 0}]}, content_type="application/json"
    )
    nobody = portal_api.post(
        "/api/v1/portal/stock/", {"rows": [{"sku": "NOBODY", "available": 0}]}, content_type="application/json"
    )

    assert theirs.json()["rows"] == [f"Row 1, sku: {UNKNOWN.format('THEIRS')}"]
    assert nobody.json()["rows"] == [f"Row 1, sku: {UNKNOWN.format('NOBODY')}"]
    assert levels()["THEIRS"][:2] == (7, 0)


def test_api_upload_applies_a_good_file_and_refuses_a_bad_one_whole(portal_api, products):
    bad = portal_api.post(
        "/api/v1/portal/stock/upload/", {"file": SimpleUploadedFile("s.csv", b"sku,available\nMUG,1\nTHEIRS,0\n")}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"row": 3, "column": "sku", "reason": UNKNOWN.format("THEIRS")}]
    assert "MUG" not in levels()

    good = portal_api.post(
        "/api/v1/portal/stock/upload/", {"file": SimpleUploadedFile("s.csv", b"sku,available\nMUG,1\n")}
    )
    assert good.status_code == 200
    assert good.json()["ok"] is True
    assert levels()["MUG"][:2] == (1, 0)


# ---------------------------------------------------------------------------
# Who may


PAGES = ("/portal/stock/", "/portal/stock/template.csv")


@pytest.mark.parametrize("role", ["owner", "operator", "finance"])
def test_merchant_roles_are_refused_the_page_and_the_api(role, in_a, make_user, client_for, api_for, products):
    user = make_user(in_a, role)
    before = levels()
    client, api = client_for(in_a, user), api_for(in_a, user)

    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/portal/" not in response["Location"], url
    assert client.post("/portal/stock/set/", {"sku": "TEE", "available": "0"}).status_code == 302
    assert api.get("/api/v1/portal/stock/").status_code == 403
    payload = {"rows": [{"sku": "TEE", "available": 0}]}
    assert api.post("/api/v1/portal/stock/", payload, content_type="application/json").status_code == 403
    file = SimpleUploadedFile("s.csv", b"sku,available\nTEE,0\n")
    assert api.post("/api/v1/portal/stock/upload/", {"file": file}).status_code == 403
    assert levels() == before


def test_a_supplier_token_of_tenant_a_has_nothing_on_tenant_b(in_a, tenant_b, api_for, acme_user, products):
    with in_tenant(tenant_b):
        add_source(make_product("TEE"), make_supplier("Beta vendor"), stock=50)
    api = api_for(in_a, acme_user)
    api.defaults["HTTP_HOST"] = "beta.localhost"

    assert api.get("/api/v1/portal/stock/").status_code == 401
    payload = {"rows": [{"sku": "TEE", "available": 0}]}
    assert api.post("/api/v1/portal/stock/", payload, content_type="application/json").status_code == 401
    file = SimpleUploadedFile("s.csv", b"sku,available\nTEE,0\n")
    assert api.post("/api/v1/portal/stock/upload/", {"file": file}).status_code == 401
    with in_tenant(tenant_b):
        assert list(Stock.objects.values_list("on_hand", "reserved")) == [(50, 0)]


def test_a_session_of_tenant_a_is_not_a_session_on_tenant_b(in_a, tenant_b, portal, products):
    assert portal.get("/portal/stock/").status_code == 200
    portal.defaults["HTTP_HOST"] = "beta.localhost"
    response = portal.get("/portal/stock/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert portal.post("/portal/stock/set/", {"sku": "TEE", "available": "0"}).status_code == 302
