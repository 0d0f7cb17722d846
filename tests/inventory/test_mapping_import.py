"""Mapping listing SKUs from a spreadsheet: all or nothing, idempotent, the listings download imports back, and
the unmapped download imports with only the rows the merchant filled in."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inventory.mapping_import import mappings_import
from inventory.models import Listing, ListingComponent
from tests.inventory.factories import ListingFactory, ProductFactory


def _csv(*lines: str) -> bytes:
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def _shipped(sku: str) -> dict[str, int]:
    return dict(ListingComponent.objects.filter(listing__listing_sku=sku).values_list("product__sku", "quantity"))


@pytest.fixture
def products(in_a):
    return {sku: ProductFactory(sku=sku) for sku in ("TEE", "MUG", "CAP")}


def test_rows_map_listings_and_bundles_and_replace_what_they_shipped(products, django_capture_on_commit_callbacks):
    ListingFactory(listing_sku="OLD-SET", components=[(products["CAP"], 3)])
    content = _csv(
        "listing_sku,product_sku,quantity", "SHOP-TEE,TEE,", "GIFT,TEE,1", "GIFT,MUG,2", "OLD-SET,MUG,1", "LATER,,"
    )
    with django_capture_on_commit_callbacks() as callbacks:
        report = mappings_import(content=content, filename="m.csv")
    assert report.ok, report.errors
    assert (report.listings_created, report.listings_updated, report.listings_skipped) == (2, 1, 1)
    assert _shipped("SHOP-TEE") == {"TEE": 1}
    assert _shipped("GIFT") == {"TEE": 1, "MUG": 2}
    assert _shipped("OLD-SET") == {"MUG": 1}
    assert not Listing.objects.filter(listing_sku="LATER").exists()
    assert len(callbacks) == 1  # one re-routing task for every listing that changed

    again = mappings_import(content=content, filename="m.csv")
    assert (again.listings_created, again.listings_updated, again.listings_unchanged) == (0, 0, 3)


def test_any_problem_writes_nothing_and_names_row_column_and_reason(products):
    content = _csv(
        "商品编码,货品编码,数量", "NEW-1,TEE,1", "NEW-2,NOPE,1", "NEW-3,TEE,0", "NEW-4,TEE,1", "NEW-4,TEE,2", ",MUG,1"
    )
    report = mappings_import(content=content, filename="m.csv")
    assert not report.ok
    assert [(e.row, e.column) for e in report.errors] == [
        (4, "quantity"), (7, "listing_sku"), (3, "product_sku"), (6, "product_sku"),
    ]  # fmt: skip
    assert "NOPE" in report.errors[2].reason
    assert not Listing.objects.exists()


def test_a_file_without_the_columns_is_refused(products):
    report = mappings_import(content=_csv("sku,name", "TEE,Tee"), filename="m.csv")
    assert not report.ok and not Listing.objects.exists()


def test_the_listings_download_imports_back_unchanged(console, products):
    ListingFactory(listing_sku="+PLUS", components=[(products["TEE"], 1), (products["MUG"], 2)])
    ListingFactory(listing_sku="ONE", components=[(products["CAP"], 1)])
    body = b"".join(console.get("/products/listings/?export=xlsx").streaming_content)
    report = mappings_import(content=body, filename="listings.xlsx")
    assert report.ok, report.errors
    assert (report.listings_created, report.listings_updated, report.listings_unchanged) == (0, 0, 2)


def test_the_page_imports_and_reports(console, products):
    upload = SimpleUploadedFile("m.csv", _csv("listing_sku,product_sku,quantity", "PAGE-1,TEE,2"))
    response = console.post("/products/listings/import/", {"file": upload}, follow=True)
    assert "1 rows imported: 1 listing SKUs mapped" in response.content.decode()
    assert _shipped("PAGE-1") == {"TEE": 2}

    bad = SimpleUploadedFile("m.csv", _csv("listing_sku,product_sku,quantity", "PAGE-2,NOPE,2"))
    refused = console.post("/products/listings/import/", {"file": bad})
    assert refused.status_code == 200 and "No product has the SKU NOPE." in refused.content.decode()
    assert not Listing.objects.filter(listing_sku="PAGE-2").exists()


def test_the_templates_download_and_import(console, products):
    ProductFactory(sku="TEE-RED-M")
    ProductFactory(sku="MUG-01")
    xlsx = console.get("/products/listings/import/template.xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("listing_sku", "product_sku", "quantity")
    assert mappings_import(content=xlsx.content, filename="t.xlsx").listings_created == 2
    assert console.get("/products/listings/import/template.pdf").status_code == 404


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_other_roles_cannot_import(role, tenant_a, make_user, make_supplier, client_for):
    supplier = make_supplier(tenant_a)
    user = make_user(tenant_a, role, supplier=supplier if role == "supplier" else None)
    client = client_for(tenant_a, user)
    upload = SimpleUploadedFile("m.csv", _csv("listing_sku,product_sku", "X,Y"))
    assert client.post("/products/listings/import/", {"file": upload}).status_code == 403
    assert client.get("/products/listings/import/template.csv").status_code == 403
