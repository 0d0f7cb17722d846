"""The catalog's lists as a merchant works them: products (tabs, filters, sort, export in the import's columns),
mapped listings (filters, sort, export in the mapping columns), the forms keeping what was typed."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.utils import translation

from core.exports import write_csv
from inventory import imports
from inventory.exports import products_table, unmapped_table
from inventory.models import Listing, Product
from tests.conftest import in_tenant
from tests.inventory.factories import ListingFactory, ProductFactory, SourceFactory
from tests.suppliers.factories import SupplierFactory


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def _xlsx(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(book.active.iter_rows(values_only=True))


@pytest.fixture
def catalog(in_a, make_product, make_source, suppliers):
    """Five products: two sourced at Hangzhou, one at the own warehouse, one without a source, one inactive."""
    tee = make_product("TEE-RED", name="Red tee", weight_grams=180)
    make_source(tee, supplier=suppliers["SUP-HZ"], cost="18.50", regions=[{"country": "CN", "province": "Zhejiang"}],
                on_hand=120)  # fmt: skip
    make_source(tee, cost="21.00", lead_time_days=1)
    mug = make_product("MUG-01", name="Mug")
    make_source(mug, supplier=suppliers["SUP-HZ"], cost="3.2500", currency="CNY")
    make_product("CAP-01", name='=HYPERLINK("http://evil")')
    old = make_product("OLD-01", name="Old tee", active=False)
    make_source(old, supplier=suppliers["SUP-US"], cost="1.00", currency="USD")
    return {"tee": tee, "mug": mug}


# ---------------------------------------------------------------- products


def test_tabs_count_what_the_other_filters_leave(console, catalog):
    response = console.get("/products/?q=tee")
    assert response.context["counts"] == {"all": 2, "active": 1, "inactive": 1}
    assert [p.sku for p in response.context["page"].rows] == ["OLD-01", "TEE-RED"]
    inactive = console.get("/products/?q=tee&active=inactive")
    assert [p.sku for p in inactive.context["page"].rows] == ["OLD-01"]
    assert 'aria-current="page"' in inactive.content.decode()


def test_source_filter_and_sort_combine(console, catalog, suppliers):
    hz = suppliers["SUP-HZ"].pk
    by_name_desc = console.get(f"/products/?source={hz}&sort=-name")
    assert [p.sku for p in by_name_desc.context["page"].rows] == ["TEE-RED", "MUG-01"]
    assert [p.sku for p in console.get("/products/?source=none").context["page"].rows] == ["CAP-01"]
    assert [p.sku for p in console.get("/products/?source=own").context["page"].rows] == ["TEE-RED"]
    assert [p.sku for p in console.get("/products/?source=none&active=inactive").context["page"].rows] == []


def test_sorted_pages_do_not_overlap(console, in_a):
    ProductFactory.create_batch(120, name="Same name")
    first = console.get("/products/?sort=-name")
    second = console.get(f"/products/?{first.context['next_query']}")
    third = console.get(f"/products/?{second.context['next_query']}")
    seen = [p.pk for r in (first, second, third) for p in r.context["page"].rows]
    assert len(seen) == len(set(seen)) == 120
    assert "sort=-name" in first.context["next_query"]


def test_products_export_is_the_filtered_rows_in_the_import_columns(console, catalog, suppliers):
    rows = _csv(console.get(f"/products/?source={suppliers['SUP-HZ'].pk}&sort=-sku&export=csv"))
    assert rows[0] == list(imports.COLUMNS)
    assert rows[1:] == [
        ["TEE-RED", "Red tee", "180", "yes", "1", "SUP-HZ", "18.5000", "CNY", "CN:Zhejiang", "0", "yes", "120"],
        ["TEE-RED", "Red tee", "180", "yes", "2", "", "21.0000", "CNY", "", "1", "yes", ""],
        ["MUG-01", "Mug", "", "yes", "1", "SUP-HZ", "3.2500", "CNY", "", "0", "yes", ""],
    ]


def test_products_xlsx_export_neutralises_formulas_and_keeps_numbers(console, catalog):
    rows = _xlsx(console.get("/products/?source=none&export=xlsx"))
    assert rows[0][:2] == ("sku", "name")
    assert rows[1][:4] == ("CAP-01", '\'=HYPERLINK("http://evil")', None, "yes")
    tee = _xlsx(console.get("/products/?q=TEE-RED&export=xlsx"))
    assert tee[1][6] == Decimal("18.5") and tee[1][11] == 120


def test_an_exported_file_imports_back_without_a_change(console, catalog):
    # (a formula-looking name comes back with the apostrophe that neutralised it: not part of this check)
    Product.objects.filter(sku="CAP-01").update(name="Cap")
    body = b"".join(console.get("/products/?export=csv").streaming_content)
    report = imports.products_import(content=body, filename="products.csv")
    assert report.ok, report.errors
    assert report.changed == 0


def test_the_chinese_export_has_the_import_chinese_headers_and_imports_back(catalog):
    with translation.override("zh-hans"):
        table = products_table(Product.objects.filter(sku__startswith="TEE").order_by("sku"))
        assert list(table.columns) == [imports.CHINESE_HEADERS[c] for c in imports.COLUMNS]
        buffer = io.BytesIO()
        write_csv(table, buffer)
    assert buffer.getvalue().decode("utf-8-sig").splitlines()[1].split(",")[3] == "是"
    assert imports.products_import(content=buffer.getvalue(), filename="p.csv").changed == 0


def test_tenant_b_products_are_never_listed_or_exported(console, catalog, tenant_a, tenant_b):
    with in_tenant(tenant_b):
        ProductFactory(sku="BETA-ONLY")
    connection.set_tenant(tenant_a)
    assert "BETA-ONLY" not in console.get("/products/").content.decode()
    assert "BETA-ONLY" not in b"".join(console.get("/products/?export=csv").streaming_content).decode("utf-8-sig")


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_cannot_list_or_export(role, tenant_a, make_user, make_supplier, client_for):
    supplier = make_supplier(tenant_a)
    user = make_user(tenant_a, role, supplier=supplier if role == "supplier" else None)
    client = client_for(tenant_a, user)
    for url in ("/products/?export=csv", "/products/listings/?export=xlsx", "/products/"):
        assert client.get(url).status_code == 403, url


# ---------------------------------------------------------------- listings


@pytest.fixture
def listings(in_a):
    tee, mug = ProductFactory(sku="TEE"), ProductFactory(sku="MUG")
    ListingFactory(listing_sku="TEE", components=[(tee, 1)])
    Listing.objects.filter(listing_sku="TEE").update(auto_mapped=True)
    ListingFactory(listing_sku="SET-2", components=[(tee, 1), (mug, 2)])
    ListingFactory(listing_sku="MUG-PAIR", components=[(mug, 2)])
    ListingFactory(listing_sku="+SUM(A1)", components=[(mug, 1)])


def test_listing_filters_and_sort_combine(console, listings):
    bundles = console.get("/products/listings/?kind=bundle&sort=-sku")
    assert [x.listing_sku for x in bundles.context["listings"]] == ["SET-2", "MUG-PAIR"]
    singles = console.get("/products/listings/?kind=single&how=manual")
    assert [x.listing_sku for x in singles.context["listings"]] == ["+SUM(A1)"]
    assert [x.listing_sku for x in console.get("/products/listings/?how=auto").context["listings"]] == ["TEE"]
    none = console.get("/products/listings/?q=NOPE")
    assert "No listings match" in none.content.decode()


def test_listing_export_is_the_mapping_columns_one_row_per_product(console, listings):
    rows = _csv(console.get("/products/listings/?kind=bundle&export=csv"))
    assert rows == [
        ["listing_sku", "product_sku", "quantity"],
        ["MUG-PAIR", "MUG", "2"],
        ["SET-2", "MUG", "2"],
        ["SET-2", "TEE", "1"],
    ]
    xlsx = _xlsx(console.get("/products/listings/?q=%2BSUM&export=xlsx"))
    assert xlsx == [("listing_sku", "product_sku", "quantity"), ("'+SUM(A1)", "MUG", 1)]


def test_listing_pages_keep_the_filters(console, in_a):
    product = ProductFactory(sku="ONE")
    for i in range(60):
        ListingFactory(listing_sku=f"L-{i:03d}", components=[(product, 1)])
    first = console.get("/products/listings/?q=L-&sort=-sku")
    body = first.content.decode()
    assert "q=L-&amp;sort=-sku&amp;page=2" in body
    second = console.get("/products/listings/?q=L-&sort=-sku&page=2")
    assert next(x.listing_sku for x in second.context["listings"]) == "L-009"


def test_unmapped_table_has_the_mapping_columns_with_the_same_sku_product_filled_in():
    table = unmapped_table([
        {"listing_sku": "TEE", "product_id": 7}, {"listing_sku": "=BAD", "product_id": None},
    ], product_skus={7: "TEE"})  # fmt: skip
    assert list(table.columns) == ["listing_sku", "product_sku", "quantity"]
    assert list(table.rows) == [("TEE", "TEE", 1), ("=BAD", "", None)]


# ---------------------------------------------------------------- forms keep what was typed


def test_a_refused_product_keeps_what_was_typed(console, in_a):
    ProductFactory(sku="TAKEN")
    response = console.post("/products/new/", {"sku": "TAKEN", "name": "Typed name 名字", "weight_grams": "-3"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="Typed name 名字"' in body and 'value="-3"' in body
    assert 'class="error"' in body


def test_a_refused_source_keeps_what_was_typed(console, in_a):
    product = ProductFactory(sku="SRC")
    response = console.post(f"/products/{product.pk}/sources/new/", {
        "cost_price": "12.345678", "currency": "CNY", "regions": "CN:Zhejiang", "lead_time_days": "3",
    })  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="12.345678"' in body and 'value="CN:Zhejiang"' in body and 'value="3"' in body
    assert 'class="error"' in body
    assert not product.sources.exists()


def test_a_refused_mapping_keeps_the_rows(console, in_a):
    ProductFactory(sku="TEE")
    post = {
        "listing_sku": "SET-9", "components-TOTAL_FORMS": "2", "components-INITIAL_FORMS": "0",
        "components-MIN_NUM_FORMS": "0", "components-MAX_NUM_FORMS": "20",
        "components-0-product_sku": "TEE", "components-0-quantity": "2",
        "components-1-product_sku": "NOPE", "components-1-quantity": "3",
    }  # fmt: skip
    response = console.post("/products/listings/map/", post)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="SET-9"' in body and 'value="NOPE"' in body and 'value="3"' in body
    assert "No product has the SKU NOPE." in body
    assert not Listing.objects.filter(listing_sku="SET-9").exists()


def test_cost_prices_show_the_currency_decimals_or_all_four(console, in_a):
    product = ProductFactory(sku="COST")
    SourceFactory(product=product, cost_price=Decimal("18.5000"), currency="CNY")
    SourceFactory(product=product, cost_price=Decimal("5.1250"), currency="USD")
    SourceFactory(product=product, cost_price=Decimal("300.0000"), currency="JPY", supplier=SupplierFactory())
    body = console.get(f"/products/{product.pk}/").content.decode()
    assert "18.50 CNY" in body and "5.125 USD" in body and "300 JPY" in body
    assert "18.5000" not in body


# ---------------------------------------------------------------- the portal's stock download


def test_the_portal_stock_download_keeps_the_search_and_holds_only_the_suppliers_products(in_a, make_user, client_for):
    acme, bolt = SupplierFactory(label="Acme"), SupplierFactory(label="Bolt")
    for sku, supplier in (("TEE-1", acme), ("TEE-2", acme), ("MUG-1", acme), ("TEE-9", bolt)):
        SourceFactory(product=ProductFactory(sku=sku), supplier=supplier, stock=5)
    portal = client_for(in_a, make_user(in_a, "supplier", supplier=acme))
    body = portal.get("/portal/stock/?q=TEE").content.decode()
    assert "/portal/stock/template.csv?q=TEE" in body
    rows = list(csv.reader(io.StringIO(portal.get("/portal/stock/template.csv?q=TEE").content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["TEE-1", "TEE-2"]
