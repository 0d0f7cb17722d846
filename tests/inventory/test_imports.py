"""Bulk import of products and source paths: all or nothing, exact reports, encodings, idempotent re-import."""

import io
from decimal import Decimal

from openpyxl import Workbook

from inventory import import_templates, imports, services
from inventory.imports import products_import
from inventory.models import Product, Source, Stock
from tests.suppliers.factories import SupplierFactory

HEADER = "sku,name,weight_grams,active,source_position,supplier_code,cost_price,currency,regions,lead_time_days,source_active,on_hand\r\n"


GOOD = (
    HEADER
    + "TEE-RED-M,T恤 红色 M 码,180,yes,1,SUP-HZ,18.50,CNY,CN:Zhejiang;CN:Shanghai,2,yes,120\r\n"
    + "TEE-RED-M,,,,2,,21.00,CNY,,1,yes,40\r\n"
    + "MUG-01,马克杯,350,yes,1,sup-us,3.2500,USD,US,5,no,\r\n"
    + "BARE,Only a product,,no,,,,,,,,\r\n"
)


def run(text: str, *, encoding: str = "utf-8", filename: str = "products.csv"):
    return products_import(content=text.encode(encoding), filename=filename)


def test_a_valid_file_imports_products_sources_and_stock(suppliers):
    report = run(GOOD)

    assert report.ok, report.errors
    assert (report.rows, report.products_created, report.sources_created, report.stock_set) == (4, 3, 3, 2)
    tee = Product.objects.get(sku="TEE-RED-M")
    assert (tee.name, tee.weight_grams, tee.active) == ("T恤 红色 M 码", 180, True)
    first, second = tee.sources.order_by("position")
    assert (first.supplier, first.cost_price, first.currency, first.lead_time_days) == (
        suppliers["SUP-HZ"], Decimal("18.50"), "CNY", 2,
    )  # fmt: skip
    assert first.regions == [{"country": "CN", "province": "Zhejiang"}, {"country": "CN", "province": "Shanghai"}]
    assert (second.supplier, second.regions, second.stock.on_hand) == (None, [], 40)
    mug_source = Source.objects.get(product__sku="MUG-01")
    assert (mug_source.supplier, mug_source.active, mug_source.regions) == (
        suppliers["SUP-US"],
        False,
        [{"country": "US"}],
    )
    assert not Stock.objects.filter(source=mug_source).exists()  # blank on_hand: not tracked
    bare = Product.objects.get(sku="BARE")
    assert (bare.active, bare.sources.count()) == (False, 0)


def test_reimporting_the_same_file_changes_nothing(suppliers):
    run(GOOD)
    before = {p.sku: p.updated for p in Product.objects.all()}
    sources_before = {s.pk: s.updated for s in Source.objects.all()}

    report = run(GOOD)

    assert report.ok
    assert report.changed == 0
    assert {p.sku: p.updated for p in Product.objects.all()} == before
    assert {s.pk: s.updated for s in Source.objects.all()} == sources_before
    assert (Product.objects.count(), Source.objects.count(), Stock.objects.count()) == (3, 3, 2)


def test_reimport_updates_what_changed_by_sku_and_position(suppliers):
    run(GOOD)
    changed = GOOD.replace("21.00,CNY,,1,yes,40", "22.00,CNY,,1,yes,45").replace("马克杯,350", "马克杯 大,350")

    report = run(changed)

    assert (report.products_created, report.products_updated, report.sources_created, report.sources_updated) == (
        0, 1, 0, 1,
    )  # fmt: skip
    assert report.stock_set == 1
    source = Source.objects.get(product__sku="TEE-RED-M", position=2)
    assert (source.cost_price, source.stock.on_hand) == (Decimal("22.00"), 45)
    assert Product.objects.get(sku="MUG-01").name == "马克杯 大"


def test_bad_rows_import_nothing_and_report_row_column_reason(suppliers):
    bad = (
        HEADER
        + "OK-1,Fine,10,yes,1,SUP-HZ,1.00,CNY,,,,\r\n"
        + ",No SKU,,,,,,,,,,\r\n"
        + "OK-2,Fine,heavy,maybe,1,NOPE,-2,XYZ,ZZ:Nowhere,x,,-1\r\n"
        + "OK-1,Other name,,,1,,1.00,CNY,,,,\r\n"
        + "OK-3,,,,,,,,,,,\r\n"
        + "OK-4,Source without position,,,,SUP-HZ,,,,,,\r\n"
    )

    report = run(bad)

    assert not report.ok
    assert Product.objects.count() == 0
    assert Source.objects.count() == 0
    assert [(e.row, e.column) for e in report.errors] == [
        (3, "sku"),
        (4, "weight_grams"),
        (4, "active"),
        (4, "supplier_code"),
        (4, "cost_price"),
        (4, "currency"),
        (4, "regions"),
        (4, "lead_time_days"),
        (4, "on_hand"),
        (5, "name"),
        (5, "source_position"),
        (6, "name"),
        (7, "source_position"),
    ]
    reasons = {(e.row, e.column): e.reason for e in report.errors}
    assert reasons[(3, "sku")] == "A value is required."
    assert reasons[(4, "weight_grams")] == "“heavy” is not a whole number."
    assert reasons[(4, "active")] == "“maybe” is not yes or no."
    assert reasons[(4, "supplier_code")] == "No supplier has the code “NOPE”; add it on the Suppliers page first."
    assert reasons[(4, "cost_price")] == "The cost price must not be negative."
    assert "XYZ" in reasons[(4, "currency")]
    assert reasons[(4, "regions")] == "“ZZ” is not a two-letter ISO country code (such as CN or US)."
    assert (
        reasons[(5, "name")] == "Row 2 of OK-1 says “Fine”, this row “Other name”; the rows of one product must agree."
    )
    assert reasons[(5, "source_position")] == "Row 2 already describes source 1 of OK-1."
    assert reasons[(6, "name")] == "A value is required on the first row of a SKU."
    assert reasons[(7, "source_position")] == "The row describes a source (supplier_code) but gives no source_position."
    assert report.error_count == len(report.errors)


def test_header_problems_are_reported_on_row_1(in_a):
    report = run("sku,colour,sku\r\nA,red,A\r\n")
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (1, "colour", "“colour” is not a column of the product template."),
        (1, "sku", "The column “sku” appears more than once."),
        (1, "name", "The required column “name” (货品名称) is missing."),
    ]


def test_on_hand_below_reserved_is_refused_whole(suppliers):
    run(GOOD)
    Stock.objects.filter(source__product__sku="TEE-RED-M", source__position=1).update(reserved=100)

    report = run(GOOD.replace("2,yes,120", "2,yes,99").replace("Only a product", "Renamed"))

    assert [(e.row, e.column) for e in report.errors] == [(2, "on_hand")]
    assert report.errors[0].reason == "100 units are reserved for orders; on hand cannot be set below that."
    assert Product.objects.get(sku="BARE").name == "Only a product"  # nothing written


def test_a_gbk_csv_with_chinese_headers_and_semicolons_is_read(suppliers):
    text = "货品编码;货品名称;货源顺序;供应商编码;成本价;币种;服务地区;库存\r\n杯子-01;陶瓷杯;1;SUP-HZ;9.9;CNY;CN:浙江;8\r\n"

    report = run(text, encoding="gbk")

    assert report.ok, report.errors
    source = Source.objects.get(product__sku="杯子-01")
    assert (source.product.name, source.regions, source.stock.on_hand) == (
        "陶瓷杯", [{"country": "CN", "province": "浙江"}], 8,
    )  # fmt: skip


def test_utf8_bom_and_utf16_files_are_read(in_a):
    assert run("sku,name\r\nBOM-1,Tee\r\n", encoding="utf-8-sig").ok
    assert run("sku\tname\r\nU16-1,Tee\r\n".replace(",", "\t"), encoding="utf-16").ok
    assert set(Product.objects.values_list("sku", flat=True)) == {"BOM-1", "U16-1"}


def test_xlsx_file_imports_like_csv(suppliers):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(imports.COLUMNS))
    sheet.append(["X-1", "Excel tee", 180.0, True, 1.0, "SUP-HZ", 18.5, "CNY", "CN:Zhejiang", 2, "yes", 7])
    sheet.append(["X-1", None, None, None, 2, None, 0.1 + 0.2, "USD", None, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = products_import(content=buffer.getvalue(), filename="products.xlsx")

    assert report.ok, report.errors
    first, second = Source.objects.filter(product__sku="X-1").order_by("position")
    assert (first.cost_price, first.stock.on_hand, second.cost_price) == (Decimal("18.5"), 7, Decimal("0.3"))
    assert Product.objects.get(sku="X-1").weight_grams == 180


def test_the_templates_import_once_their_suppliers_exist(suppliers):
    report_csv = products_import(content=import_templates.template_csv(), filename="t.csv")
    report_xlsx = products_import(content=import_templates.template_xlsx(), filename="t.xlsx")

    assert report_csv.ok, report_csv.errors
    assert (report_csv.products_created, report_csv.sources_created) == (2, 3)
    assert report_xlsx.ok, report_xlsx.errors
    assert report_xlsx.changed == 0  # the same content in the other format


def test_unreadable_files_are_refused_with_one_reason(in_a):
    assert products_import(content=b"", filename="x.csv").errors[0].row == 0
    assert "xls" in products_import(content=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", filename="x.xls").errors[0].reason
    assert "no product rows" in run("sku,name\r\n").errors[0].reason


def test_existing_catalog_rows_outside_the_file_are_left_alone(suppliers, make_product, make_source):
    product = make_product("TEE-RED-M", name="T恤 红色 M 码", weight_grams=180)
    make_source(product)
    make_source(product)
    third = make_source(product, cost="99")

    assert run(GOOD).ok

    third.refresh_from_db()
    assert (third.position, third.cost_price) == (3, Decimal("99"))
    assert services.regions_text(Source.objects.get(product=product, position=1).regions) == "CN:Zhejiang;CN:Shanghai"


def test_the_downloaded_template_names_the_tenant_s_own_suppliers_and_imports_as_it_is(in_a, console):
    for code in ("ZJ-WEAVE", "GD-MUGS", "OLD-ONE"):
        SupplierFactory(code=code, name=code, active=code != "OLD-ONE")

    response = console.get("/products/import/template.csv")
    report = products_import(content=response.content, filename="template.csv")

    assert b"GD-MUGS" in response.content and b"ZJ-WEAVE" in response.content and b"SUP-HZ" not in response.content
    assert report.ok, report.errors
