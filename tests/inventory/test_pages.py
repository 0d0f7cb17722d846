"""Catalog pages: each renders, forms validate and show errors, filters and pages, roles, tenant isolation."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from inventory import services
from inventory.models import Listing, Product, Source, Stock
from orders.models import Order
from tests.conftest import in_tenant


def test_products_list_renders_filters_and_pages(console, make_product):
    for i in range(60):
        make_product(f"SKU-{i:03d}", name="Red tee" if i % 2 else "Blue mug", active=i != 5)

    first = console.get("/products/")
    assert first.status_code == 200
    page = first.context["page"]
    assert [p.sku for p in page.rows][:2] == ["SKU-000", "SKU-001"]
    assert len(page.rows) == 50 and page.next_cursor
    second = console.get(f"/products/?{first.context['next_query']}").context["page"]
    assert [p.sku for p in second.rows] == [f"SKU-{i:03d}" for i in range(50, 60)]

    assert [p.sku for p in console.get("/products/?q=sku-05").context["page"].rows] == [f"SKU-05{i}" for i in range(10)]
    assert [p.sku for p in console.get("/products/?active=inactive").context["page"].rows] == ["SKU-005"]
    assert len(console.get("/products/?q=blue&active=active").context["page"].rows) == 30
    assert "No products match" in console.get("/products/?q=nothing").content.decode()


def test_products_list_query_count_does_not_grow_with_rows(console, make_product, make_source,
                                                             django_assert_max_num_queries):  # fmt: skip
    for i in range(40):
        make_source(make_product(), on_hand=i)
    with django_assert_max_num_queries(10):
        assert console.get("/products/").status_code == 200


def test_empty_products_list_offers_create_and_import(console):
    body = console.get("/products/").content.decode()
    assert "No products yet" in body
    assert "/products/new/" in body and "/products/import/" in body


def test_create_product_shows_errors_then_creates(console, make_product):
    make_product("TAKEN")

    taken = console.post("/products/new/", {"sku": "TAKEN", "name": "X", "active": "on"})
    blank = console.post("/products/new/", {"sku": "", "name": ""})
    assert taken.status_code == blank.status_code == 200
    assert "already exists" in taken.content.decode()
    assert blank.context["form"].errors.keys() == {"sku", "name"}
    assert Product.objects.count() == 1

    created = console.post("/products/new/", {"sku": "NEW-1", "name": "New", "weight_grams": "120", "active": "on"})
    product = Product.objects.get(sku="NEW-1")
    assert created.url == f"/products/{product.pk}/"
    assert (product.weight_grams, product.active) == (120, True)


def test_edit_product(console, make_product):
    product = make_product("E-1", name="Old")
    assert console.get(f"/products/{product.pk}/edit/").status_code == 200
    console.post(f"/products/{product.pk}/edit/", {"sku": "E-1", "name": "New"})
    product.refresh_from_db()
    assert (product.name, product.active) == ("New", False)


def test_product_detail_shows_source_path_with_stock(console, make_product, make_source, make_supplier, tenant_a):
    supplier = make_supplier(tenant_a, name="Hangzhou")
    connection.set_tenant(tenant_a)
    product = make_product("D-1")
    tracked = make_source(product, supplier=supplier, on_hand=10, regions=[{"country": "CN", "province": "Zhejiang"}])
    Stock.objects.filter(source=tracked).update(reserved=3)
    make_source(product, active=False)

    response = console.get(f"/products/{product.pk}/")

    body = response.content.decode()
    assert response.status_code == 200
    assert supplier.name in body and "Own warehouse" in body and "Zhejiang" in body
    assert "not tracked" in body
    sources = response.context["sources"]
    assert (sources[0].tracked_stock.available, sources[0].tracked_stock.reserved) == (7, 3)


def test_add_and_edit_source_through_the_forms(console, make_product, make_supplier, tenant_a):
    supplier = make_supplier(tenant_a)
    connection.set_tenant(tenant_a)
    product = make_product()
    url = f"/products/{product.pk}/sources/new/"
    assert console.get(url).status_code == 200

    bad = console.post(url, {"cost_price": "-1", "currency": "CNY", "regions": "ZZ", "lead_time_days": "0"})
    assert bad.status_code == 200
    assert set(bad.context["form"].errors) == {"cost_price"}
    bad_region = console.post(url, {"cost_price": "1", "currency": "CNY", "regions": "ZZ", "lead_time_days": "0"})
    assert "regions" in bad_region.context["form"].errors
    assert not product.sources.exists()

    console.post(url, {"supplier": supplier.pk, "cost_price": "12.3456", "currency": "usd",
                       "regions": "CN:Zhejiang;US", "lead_time_days": "3", "active": "on", "on_hand": "9"})  # fmt: skip
    source = product.sources.get()
    assert (source.supplier, source.cost_price, source.currency, source.stock.on_hand) == (
        supplier, Decimal("12.3456"), "USD", 9,
    )  # fmt: skip

    edit = f"/products/{product.pk}/sources/{source.pk}/edit/"
    assert console.get(edit).context["form"].initial["regions"] == "CN:Zhejiang;US"
    console.post(edit, {"supplier": "", "cost_price": "1", "currency": "CNY", "regions": "", "lead_time_days": "0"})
    source.refresh_from_db()
    assert (source.supplier, source.regions, source.active) == (None, [], False)


def test_move_activate_and_set_stock_buttons(console, make_product, make_source):
    product = make_product()
    a, b = make_source(product), make_source(product)
    base = f"/products/{product.pk}/sources"

    console.post(f"{base}/{b.pk}/move/", {"direction": "up"})
    assert list(product.sources.order_by("position").values_list("pk", flat=True)) == [b.pk, a.pk]
    console.post(f"{base}/{a.pk}/active/", {"active": "0"})
    assert not Source.objects.get(pk=a.pk).active
    console.post(f"{base}/{a.pk}/stock/", {"on_hand": "5"})
    Stock.objects.filter(source=a).update(reserved=4)
    refused = console.post(f"{base}/{a.pk}/stock/", {"on_hand": "3"}, follow=True)

    assert "4 units are reserved" in refused.content.decode()
    assert Stock.objects.get(source=a).on_hand == 5
    assert console.get(f"{base}/{a.pk}/move/").status_code == 405


def test_listings_unmapped_tab_shows_what_held_orders_wait_on(console, order_in_status, make_product):
    order_in_status(Order.Status.HELD, [("GHOST", 2)])
    order_in_status(Order.Status.HELD, [("GHOST", 1)])
    make_product("EXACT")
    order_in_status(Order.Status.NEW, [("EXACT", 1)])

    response = console.get("/products/listings/unmapped/")

    assert response.status_code == 200
    assert console.get("/products/listings/?tab=unmapped")["Location"] == "/products/listings/unmapped/"
    assert [(r["listing_sku"], r["held_orders"]) for r in response.context["unmapped"]] == [("GHOST", 2), ("EXACT", 0)]
    body = response.content.decode()
    assert "Map to the product with this SKU" in body  # EXACT only
    assert body.count("Map to the product with this SKU") == 1


def test_one_click_mapping_from_the_queue(console, order_in_status, make_product):
    order_in_status(Order.Status.HELD, [("EXACT", 1)])
    product = make_product("EXACT")
    console.post("/products/listings/map/", {
        "listing_sku": "EXACT", "components-TOTAL_FORMS": "1", "components-INITIAL_FORMS": "0",
        "components-0-product_sku": "EXACT", "components-0-quantity": "1",
    })  # fmt: skip
    assert list(Listing.objects.get(listing_sku="EXACT").components.values_list("product", "quantity")) == [
        (product.pk, 1)
    ]
    assert console.get("/products/listings/unmapped/").context["unmapped"] == []


def _map_post(listing_sku, rows):
    data = {"listing_sku": listing_sku, "components-TOTAL_FORMS": str(len(rows)), "components-INITIAL_FORMS": "0"}
    for i, (sku, qty) in enumerate(rows):
        data[f"components-{i}-product_sku"] = sku
        data[f"components-{i}-quantity"] = qty
    return data


def test_map_form_builds_a_bundle_and_reports_unknown_skus(console, make_product):
    make_product("TEE")
    make_product("MUG")
    assert console.get("/products/listings/map/?listing_sku=SET-1").status_code == 200

    unknown = console.post("/products/listings/map/", _map_post("SET-1", [("TEE", "1"), ("NOPE", "2"), ("", "")]))
    assert unknown.status_code == 200
    assert "No product has the SKU NOPE." in unknown.content.decode()
    empty = console.post("/products/listings/map/", _map_post("SET-1", [("", ""), ("", "")]))
    assert "Give at least one product SKU." in empty.content.decode()
    twice = console.post("/products/listings/map/", _map_post("SET-1", [("TEE", "1"), ("TEE", "1")]))
    assert "listed twice" in twice.content.decode()
    assert not Listing.objects.exists()

    done = console.post("/products/listings/map/", _map_post("SET-1", [("TEE", "2"), ("MUG", ""), ("", "")]))
    assert done.status_code == 302
    listing = Listing.objects.get(listing_sku="SET-1")
    assert sorted(listing.components.values_list("product__sku", "quantity")) == [("MUG", 1), ("TEE", 2)]

    mapped = console.get("/products/listings/?tab=mapped&q=SET")
    assert [l.listing_sku for l in mapped.context["listings"]] == ["SET-1"]
    assert "Bundle" in mapped.content.decode()
    change = console.get("/products/listings/map/?listing_sku=SET-1")
    assert [f.initial for f in change.context["formset"].initial_forms] == [
        {"product_sku": "MUG", "quantity": 1}, {"product_sku": "TEE", "quantity": 2},
    ]  # fmt: skip

    console.post(f"/products/listings/{listing.pk}/unmap/")
    assert not Listing.objects.exists()


def test_import_page_reports_errors_and_imports_valid_files(console):
    assert console.get("/products/import/").status_code == 200
    for fmt in ("csv", "xlsx"):
        download = console.get(f"/products/import/template.{fmt}")
        assert download.status_code == 200
        assert download["Content-Disposition"] == f'attachment; filename="relay-products-template.{fmt}"'
    assert console.get("/products/import/template.pdf").status_code == 404

    bad = console.post("/products/import/", {"file": SimpleUploadedFile("p.csv", b"sku,name\r\nA-1,\r\n")})
    assert bad.status_code == 200
    assert [(e.row, e.column) for e in bad.context["report"].errors] == [(2, "name")]
    assert "Nothing was imported" in bad.content.decode()
    assert not Product.objects.exists()

    good = console.post("/products/import/", {"file": SimpleUploadedFile("p.csv", b"sku,name\r\nA-1,Tee\r\n")})
    assert good.status_code == 302
    assert Product.objects.filter(sku="A-1").exists()
    assert console.post("/products/import/", {}).context["form"].errors["file"]


CONSOLE_PAGES = [
    "/products/", "/products/new/", "/products/import/", "/products/import/template.csv", "/products/listings/",
    "/products/listings/unmapped/", "/products/listings/map/",
]  # fmt: skip


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_are_refused(role, tenant_a, make_user, make_supplier, client_for, make_product, make_source):
    product = make_product()
    source = make_source(product)
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    client = client_for(tenant_a, make_user(tenant_a, role, supplier=supplier))
    pages = [*CONSOLE_PAGES, f"/products/{product.pk}/", f"/products/{product.pk}/edit/",
             f"/products/{product.pk}/sources/new/", f"/products/{product.pk}/sources/{source.pk}/edit/"]  # fmt: skip
    for url in pages:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/products/{product.pk}/sources/{source.pk}/stock/", {"on_hand": "9"}).status_code == 403
    assert client.post("/products/new/", {"sku": "X", "name": "X"}).status_code == 403
    connection.set_tenant(tenant_a)
    assert not Stock.objects.exists()
    assert Product.objects.count() == 1


def test_anonymous_is_sent_to_login(tenant_a, client_for):
    response = client_for(tenant_a).get("/products/")
    assert response.status_code == 302 and "/login/" in response.url


def test_tenant_b_catalog_is_invisible_from_tenant_a(console, tenant_b, tenant_a):
    with in_tenant(tenant_b):
        product = services.product_create(sku="B-ONLY", name="Beta")
        source = services.source_create(product=product, cost_price="1", currency="CNY")
        listing = services.listing_map(listing_sku="B-LISTING", components=[(product, 1)])
    connection.set_tenant(tenant_a)

    for url in (f"/products/{product.pk}/", f"/products/{product.pk}/edit/", f"/products/{product.pk}/sources/new/",
                f"/products/{product.pk}/sources/{source.pk}/edit/"):  # fmt: skip
        assert console.get(url).status_code == 404, url
    for url in (
        f"/products/{product.pk}/sources/{source.pk}/stock/",
        f"/products/{product.pk}/sources/{source.pk}/move/",
        f"/products/{product.pk}/sources/{source.pk}/active/",
        f"/products/{product.pk}/edit/",
        f"/products/listings/{listing.pk}/unmap/",
    ):
        assert console.post(url, {"on_hand": "1"}).status_code == 404, url
    assert "B-ONLY" not in console.get("/products/?q=B").content.decode()
    assert "B-LISTING" not in console.get("/products/listings/?tab=mapped").content.decode()
    with in_tenant(tenant_b):
        assert Listing.objects.filter(pk=listing.pk).exists()
        assert not Stock.objects.exists()
