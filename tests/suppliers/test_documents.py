"""Packing and picking lists: what they show (and never: prices), the print view, the PDF with Chinese text
(and without a CJK font), and that a selection naming anything not the supplier's is refused whole."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from suppliers import documents
from suppliers.documents import FontFile, cjk_font
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.fixtures.dispatches import make_dispatch, make_order

CHINESE_ADDRESS = {
    "name": "张三",
    "phone": "13800000000",
    "line1": "文三路 100 号",
    "line2": "",
    "district": "西湖区",
    "city": "杭州市",
    "province": "浙江省",
    "postal_code": "310000",
    "country": "CN",
}


@pytest.fixture
def two(acme):
    """Two dispatches: one to Hangzhou with a Chinese product, one to Springfield; both carry mugs."""
    first = make_dispatch(acme, ("MUG", 2, "蓝色马克杯"), ("TEE", 1, "T-shirt"), ship_to=CHINESE_ADDRESS)
    second = make_dispatch(acme, ("MUG", 3))
    return first, second


def text_of(pdf: bytes) -> str:
    # pypdf extracts an embedded CID font's glyphs with spaces or NULs between them: compare without.
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.replace("\x00", "").split())


def ids(*dispatches) -> str:
    return ",".join(str(d.pk) for d in dispatches)


# ------------------------------------------------------------------ data


def test_packing_slips_hold_address_orders_and_lines_without_prices(two):
    first, _second = two
    order = first.lines.first().order

    (slip,) = documents.packing_slips(dispatches=[first])

    assert slip.number == first.number
    assert slip.order_numbers == [order.order_number]
    assert [(line.sku, line.name, line.quantity) for line in slip.lines] == [
        ("MUG", "蓝色马克杯", 2),
        ("TEE", "T-shirt", 1),
    ]
    assert slip.address_lines == ["文三路 100 号", "西湖区 杭州市 浙江省 310000", "CN"]
    assert slip.units == 3


def test_lines_of_one_product_in_merged_orders_add_up(acme):
    dispatch = make_dispatch(acme, ("MUG", 2), ("MUG", 1), order=make_order())

    (slip,) = documents.packing_slips(dispatches=[dispatch])

    assert [(line.sku, line.quantity) for line in slip.lines] == [("MUG", 3)]


def test_picking_list_sums_units_per_product(two):
    first, second = two

    picks = documents.picking_list(dispatches=[first, second])

    assert [(p.sku, p.quantity, p.dispatches) for p in picks] == [
        ("MUG", 5, [first.number, second.number]),
        ("TEE", 1, [first.number]),
    ]


# ------------------------------------------------------------------ pages and PDF


def test_print_views(portal, two):
    first, second = two

    packing = portal.get(f"/portal/documents/packing/?ids={ids(first, second)}")
    picking = portal.post("/portal/documents/picking/", {"ids": [first.pk, second.pk]})  # the list's bulk form

    html = packing.content.decode()
    assert packing.status_code == 200 and 'class="print-doc"' in html
    assert "张三" in html and "浙江省" in html and "蓝色马克杯" in html and "5.00" not in html
    assert f"/portal/documents/packing/pdf/?ids={ids(first, second)}" in html
    assert picking.status_code == 200 and [p.quantity for p in picking.context["picks"]] == [5, 1]


def test_pdf_prints_chinese_with_the_system_font(portal, two):
    first, second = two
    assert cjk_font() is not None, "install fonts-noto-cjk (Debian) to run this test"

    packing = portal.get(f"/portal/documents/packing/pdf/?ids={ids(first, second)}")
    picking = portal.get(f"/portal/documents/picking/pdf/?ids={ids(first, second)}")

    assert packing["Content-Type"] == "application/pdf"
    text = text_of(packing.content)
    for expected in ("张三", "浙江省", "杭州市", "西湖区", "蓝色马克杯", first.number, second.number):
        assert expected in text
    assert "5.00" not in text  # the supplier's cost is not on the packing list
    assert "蓝色马克杯" in text_of(picking.content) and "MUG" in text_of(picking.content)


def test_without_a_cjk_font_the_pdf_prints_latin_and_the_page_says_what_to_install(portal, two, monkeypatch, caplog):
    first, _second = two
    monkeypatch.setattr(documents, "_fontconfig_cjk", lambda: None)
    monkeypatch.setattr(documents, "KNOWN_CJK_FONTS", ())
    cjk_font.cache_clear()
    try:
        page = portal.get(f"/portal/documents/packing/?ids={first.pk}")
        pdf = portal.get(f"/portal/documents/packing/pdf/?ids={first.pk}")
    finally:
        cjk_font.cache_clear()

    assert "fonts-noto-cjk" in page.content.decode()
    assert pdf.status_code == 200
    text = text_of(pdf.content)
    assert first.number in text and "T-shirt" in text and "fonts-noto-cjk" in text
    assert "张三" not in text
    assert any("fonts-noto-cjk" in record.message for record in caplog.records)


def test_font_lookup_prefers_fontconfigs_simplified_chinese_face(monkeypatch):
    monkeypatch.setattr(documents, "_fontconfig_cjk", lambda: FontFile("/fonts/a.ttc", 2))
    cjk_font.cache_clear()
    try:
        assert cjk_font() == FontFile("/fonts/a.ttc", 2)
    finally:
        cjk_font.cache_clear()
    found = documents._fontconfig_cjk()
    assert found is None or found.path.endswith((".ttf", ".otf", ".ttc"))


def test_api_documents(portal_api, two):
    first, second = two

    packing = portal_api.get(f"/api/v1/portal/documents/packing/?ids={ids(first, second)}")
    picking = portal_api.get(f"/api/v1/portal/documents/picking/?ids={first.pk}&ids={second.pk}")
    pdf = portal_api.get(f"/api/v1/portal/documents/packing/pdf/?ids={first.pk}")

    assert packing.status_code == 200 and packing.json()[0]["ship_to"]["city"] == "杭州市"
    assert "unit_cost" not in str(packing.json())
    assert [(p["sku"], p["quantity"]) for p in picking.json()] == [("MUG", 5), ("TEE", 1)]
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


# ------------------------------------------------------------------ isolation


def test_a_selection_with_another_suppliers_dispatch_is_refused_whole(portal, portal_api, two):
    first, _second = two
    theirs = make_dispatch(SupplierFactory(label="Rival"), ("SECRET", 1, "Their product"))

    for url in (
        f"/portal/documents/packing/?ids={ids(first, theirs)}",
        f"/portal/documents/picking/?ids={ids(first, theirs)}",
        f"/portal/documents/packing/pdf/?ids={ids(first, theirs)}",
        f"/portal/documents/picking/pdf/?ids={theirs.pk}",
        f"/api/v1/portal/documents/packing/?ids={ids(first, theirs)}",
        f"/api/v1/portal/documents/picking/pdf/?ids={theirs.pk}",
    ):
        client = portal_api if url.startswith("/api/") else portal
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"SECRET" not in response.content
    assert portal.post("/portal/documents/packing/", {"ids": [first.pk, theirs.pk]}).status_code == 404
    assert portal.get("/portal/documents/packing/").status_code == 404  # nothing selected
    assert portal.get(f"/portal/documents/invoice/?ids={first.pk}").status_code == 404


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_console_and_finance_users_are_refused(role, in_a, two, make_user, client_for, api_for):
    first, _second = two
    user = make_user(in_a, role)

    page = client_for(in_a, user).get(f"/portal/documents/packing/?ids={first.pk}")
    pdf = client_for(in_a, user).get(f"/portal/documents/packing/pdf/?ids={first.pk}")
    api = api_for(in_a, user).get(f"/api/v1/portal/documents/packing/?ids={first.pk}")

    for response in (page, pdf):
        assert response.status_code in (302, 403) and not response.get("Location", "").startswith("/portal/")
    assert api.status_code == 403


def test_another_tenants_supplier_user_gets_nothing(in_a, two, tenant_b, make_user, make_supplier, client_for):
    first, _second = two
    client_b = client_for(tenant_b, make_user(tenant_b, "supplier", supplier=make_supplier(tenant_b)))

    own_host = client_b.get(f"/portal/documents/packing/?ids={first.pk}")
    a_host = client_b.get(f"/portal/documents/packing/?ids={first.pk}", HTTP_HOST=in_a.get_primary_domain().domain)

    assert own_host.status_code == 404
    assert a_host.status_code == 302 and "login" in a_host["Location"]
