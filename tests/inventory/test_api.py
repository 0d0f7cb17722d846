"""Catalog API: products with sources, sources, stock, listings, unmapped queue, import; roles and tenants."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from inventory import services
from inventory.models import Listing, Product, Source, Stock
from orders.models import Order
from tests.conftest import in_tenant


def test_create_product_with_sources_then_read_update_delete(api, make_supplier, tenant_a):
    supplier = make_supplier(tenant_a)
    connection.set_tenant(tenant_a)
    payload = {
        "sku": "API-1", "name": "Tee", "weight_grams": 180, "attributes": {"colour": "red"},
        "sources": [
            {"supplier": supplier.pk, "cost_price": "18.50", "currency": "CNY",
             "regions": [{"country": "CN", "province": "Zhejiang"}], "lead_time_days": 2, "on_hand": 10},
            {"supplier": None, "cost_price": "21.0000", "currency": "CNY"},
        ],
    }  # fmt: skip

    created = api.post("/api/v1/products/", payload, content_type="application/json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert [s["position"] for s in body["sources"]] == [1, 2]
    assert body["sources"][0]["supplier_code"] == supplier.code
    assert body["sources"][0]["stock"] == {"on_hand": 10, "reserved": 0, "available": 10}
    assert body["sources"][1]["stock"] is None
    assert body["sources"][0]["cost_price"] == "18.5000"

    pk = body["id"]
    assert api.get(f"/api/v1/products/{pk}/").json()["attributes"] == {"colour": "red"}
    patched = api.patch(f"/api/v1/products/{pk}/", {"name": "Tee 2", "active": False}, content_type="application/json")
    assert (patched.json()["name"], patched.json()["active"]) == ("Tee 2", False)

    taken = api.post("/api/v1/products/", {"sku": "API-1", "name": "x"}, content_type="application/json")
    assert taken.status_code == 400 and "sku" in taken.json()

    assert api.delete(f"/api/v1/products/{pk}/").status_code == 204
    assert not Product.objects.exists() and not Source.objects.exists()


def test_bad_nested_source_creates_nothing(api):
    response = api.post(
        "/api/v1/products/",
        {"sku": "X", "name": "X", "sources": [{"cost_price": "1", "currency": "XYZ"}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "sources[0].currency" in response.json()
    assert not Product.objects.exists()


def test_product_list_filters_and_cursor(api, make_product, make_source, django_assert_max_num_queries):
    for i in range(120):
        make_source(make_product(f"L-{i:03d}", active=i % 2 == 0), on_hand=1)

    with django_assert_max_num_queries(12):
        first = api.get("/api/v1/products/").json()
    assert len(first["results"]) == 50 and first["results"][0]["sources"][0]["stock"]["on_hand"] == 1
    second = api.get(f"/api/v1/products/?after={first['next']}").json()
    assert second["results"][0]["sku"] == "L-050"
    assert [p["sku"] for p in api.get("/api/v1/products/?q=L-11&active=false").json()["results"]] == [
        f"L-11{i}" for i in range(1, 10, 2)
    ]


def test_sources_crud_order_and_stock(api, make_product, make_source):
    product = make_product()
    a = make_source(product)

    created = api.post(
        f"/api/v1/products/{product.pk}/sources/",
        {"cost_price": "3.5", "currency": "USD", "regions": ["US"], "on_hand": 4},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    b = created.json()["id"]
    assert created.json()["regions"] == [{"country": "US"}]
    assert [s["id"] for s in api.get(f"/api/v1/products/{product.pk}/sources/").json()] == [a.pk, b]

    reordered = api.post(
        f"/api/v1/products/{product.pk}/sources/order/", {"order": [b, a.pk]}, content_type="application/json"
    )
    assert [(s["id"], s["position"]) for s in reordered.json()] == [(b, 1), (a.pk, 2)]
    assert (
        api.post(
            f"/api/v1/products/{product.pk}/sources/order/", {"order": [b]}, content_type="application/json"
        ).status_code
        == 400
    )

    patched = api.patch(
        f"/api/v1/sources/{a.pk}/", {"active": False, "lead_time_days": 4}, content_type="application/json"
    )
    assert (patched.json()["active"], patched.json()["lead_time_days"]) == (False, 4)
    bad = api.patch(f"/api/v1/sources/{a.pk}/", {"regions": [{"country": "ZZ"}]}, content_type="application/json")
    assert bad.status_code == 400 and "regions" in bad.json()

    assert api.get(f"/api/v1/sources/{a.pk}/stock/").status_code == 404  # not tracked
    assert api.put(f"/api/v1/sources/{a.pk}/stock/", {"on_hand": 8}, content_type="application/json").json() == {
        "on_hand": 8, "reserved": 0, "available": 8,
    }  # fmt: skip
    Stock.objects.filter(source=a).update(reserved=5)
    refused = api.put(f"/api/v1/sources/{a.pk}/stock/", {"on_hand": 4}, content_type="application/json")
    assert refused.status_code == 400
    message = "5 units are reserved for orders; on hand cannot be set below that."
    assert refused.json() == {"on_hand": [message], "detail": [message]}
    assert Stock.objects.get(source=a).on_hand == 8

    assert api.delete(f"/api/v1/sources/{b}/").status_code == 204
    assert list(product.sources.values_list("pk", "position")) == [(a.pk, 1)]


def test_listings_map_unmap_and_unmapped_queue(api, make_product, order_in_status):
    tee, mug = make_product("TEE"), make_product("MUG")
    order_in_status(Order.Status.HELD, [("SET-1", 1), ("LOST", 2)])

    unmapped = api.get("/api/v1/listings/unmapped/").json()
    assert [(r["listing_sku"], r["held_orders"]) for r in unmapped] == [("LOST", 1), ("SET-1", 1)]

    mapped = api.post(
        "/api/v1/listings/",
        {"listing_sku": "SET-1", "components": [{"sku": "TEE", "quantity": 2}, {"product": mug.pk}]},
        content_type="application/json",
    )
    assert mapped.status_code == 201, mapped.json()
    assert sorted((c["sku"], c["quantity"]) for c in mapped.json()["components"]) == [("MUG", 1), ("TEE", 2)]
    assert [r["listing_sku"] for r in api.get("/api/v1/listings/unmapped/").json()] == ["LOST"]

    unknown = api.post(
        "/api/v1/listings/", {"listing_sku": "X", "components": [{"sku": "NOPE"}]}, content_type="application/json"
    )
    assert unknown.status_code == 400 and "components" in unknown.json()
    listing_id = mapped.json()["id"]
    assert api.get("/api/v1/listings/?q=SET").json()["results"][0]["id"] == listing_id
    assert api.get(f"/api/v1/listings/{listing_id}/").json()["listing_sku"] == "SET-1"
    assert api.delete(f"/api/v1/listings/{listing_id}/").status_code == 204
    assert not Listing.objects.exists()
    assert tee.listing_components.count() == 0


def test_import_endpoint_returns_counts_or_every_error(api):
    good = api.post("/api/v1/products/import/", {"file": SimpleUploadedFile("p.csv", b"sku,name\r\nI-1,Tee\r\n")})
    assert good.status_code == 200
    assert (good.json()["ok"], good.json()["products_created"]) == (True, 1)

    bad = api.post("/api/v1/products/import/", {"file": SimpleUploadedFile("p.csv", b"sku,name\r\nI-2,\r\n,X\r\n")})
    assert bad.status_code == 400
    assert [(e["row"], e["column"]) for e in bad.json()["errors"]] == [(2, "name"), (3, "sku")]
    assert list(Product.objects.values_list("sku", flat=True)) == ["I-1"]


ENDPOINTS = [
    ("get", "/api/v1/products/"), ("post", "/api/v1/products/"), ("get", "/api/v1/listings/"),
    ("get", "/api/v1/listings/unmapped/"), ("post", "/api/v1/listings/"), ("post", "/api/v1/products/import/"),
    ("get", "/api/v1/suppliers/"), ("post", "/api/v1/suppliers/"),
]  # fmt: skip


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_get_403(role, tenant_a, make_user, make_supplier, api_for, make_product, make_source):
    product = make_product()
    source = make_source(product)
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    client = api_for(tenant_a, make_user(tenant_a, role, supplier=supplier))
    for method, url in [*ENDPOINTS, ("get", f"/api/v1/products/{product.pk}/"), ("put", f"/api/v1/sources/{source.pk}/stock/"),
                        ("delete", f"/api/v1/products/{product.pk}/"), ("get", f"/api/v1/sources/{source.pk}/")]:  # fmt: skip
        assert getattr(client, method)(url, {}, content_type="application/json").status_code == 403, url
    connection.set_tenant(tenant_a)
    assert Product.objects.filter(pk=product.pk).exists()


def test_tenant_b_rows_are_404_and_absent_from_lists(api, tenant_a, tenant_b, make_supplier):
    with in_tenant(tenant_b):
        product = services.product_create(sku="B-ONLY", name="Beta")
        source = services.source_create(product=product, cost_price="1", currency="CNY")
        listing = services.listing_map(listing_sku="B-LISTING", components=[(product, 1)])
    b_supplier = make_supplier(tenant_b, name="Beta supplier")
    connection.set_tenant(tenant_a)

    for url in (f"/api/v1/products/{product.pk}/", f"/api/v1/products/{product.pk}/sources/",
                f"/api/v1/sources/{source.pk}/", f"/api/v1/sources/{source.pk}/stock/",
                f"/api/v1/listings/{listing.pk}/", f"/api/v1/suppliers/{b_supplier.pk}/"):  # fmt: skip
        assert api.get(url).status_code == 404, url
    for method, url in (
        ("delete", f"/api/v1/products/{product.pk}/"),
        ("patch", f"/api/v1/products/{product.pk}/"),
        ("post", f"/api/v1/products/{product.pk}/sources/"),
        ("post", f"/api/v1/products/{product.pk}/sources/order/"),
        ("patch", f"/api/v1/sources/{source.pk}/"),
        ("delete", f"/api/v1/sources/{source.pk}/"),
        ("delete", f"/api/v1/listings/{listing.pk}/"),
        ("patch", f"/api/v1/suppliers/{b_supplier.pk}/"),
    ):
        assert getattr(api, method)(url, {}, content_type="application/json").status_code == 404, url
    assert (
        api.put(f"/api/v1/sources/{source.pk}/stock/", {"on_hand": 3}, content_type="application/json").status_code
        == 404
    )
    assert api.get("/api/v1/products/").json()["results"] == []
    assert api.get("/api/v1/listings/").json()["results"] == []
    assert "Beta supplier" not in api.get("/api/v1/suppliers/").content.decode()
    with in_tenant(tenant_b):
        assert Product.objects.filter(pk=product.pk).exists()
        assert not Stock.objects.exists()
