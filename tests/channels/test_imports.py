"""Spreadsheet imports: all or nothing, an exact report, GBK, progress for large files, isolation."""

from django.core.files.uploadedfile import SimpleUploadedFile

from channels.imports import INLINE_IMPORT_BYTES, order_import_run
from channels.models import OrderImport
from orders.models import Order, OrderLine
from tests.channels.factories import StoreFactory
from tests.conftest import in_tenant

HEADER = "order_number,placed_at,currency,buyer_name,buyer_email,buyer_phone,country,province,city,district,address1,address2,postal_code,sku,title,quantity,unit_price,line_discount,order_discount,shipping,tax,note\n"


def row(number, sku="TEE-M", qty="1", price="10.00", currency="CNY", **extra):
    values = {
        "order_number": number, "placed_at": "2026-11-01 10:00", "currency": currency, "buyer_name": "王小明",
        "buyer_email": "", "buyer_phone": "13800000000", "country": "CN", "province": "浙江省", "city": "杭州市",
        "district": "西湖区", "address1": "文三路 90 号", "address2": "", "postal_code": "310000", "sku": sku,
        "title": "T恤", "quantity": qty, "unit_price": price, "line_discount": "0", "order_discount": "0",
        "shipping": "0", "tax": "0", "note": "",
    }  # fmt: skip
    values.update(extra)
    return ",".join(values.values()) + "\n"


def upload(client, store, content: bytes, name="orders.csv"):
    return client.post(f"/stores/{store.pk}/imports/", {"file": SimpleUploadedFile(name, content)}, follow=True)


def test_a_valid_file_imports_every_order(console, store):
    content = (HEADER + row("S-1") + row("S-1", sku="MUG", qty="2", price="5.50") + row("S-2")).encode()

    page = upload(console, store, content)

    assert page.status_code == 200
    assert "2 orders created" in page.content.decode() or "orders created" in page.content.decode()
    assert Order.objects.filter(store=store).count() == 2
    assert OrderLine.objects.filter(order__store=store).count() == 3
    assert Order.objects.get(external_id="S-1").total.compare(21) == 0


def test_a_file_with_bad_rows_imports_nothing_and_reports_row_column_reason(console, store):
    content = (HEADER + row("S-1") + row("S-2", qty="abc") + row("S-3", price="-1")).encode()

    page = upload(console, store, content)

    body = page.content.decode()
    assert "Nothing was imported" in body
    assert Order.objects.filter(store=store).count() == 0
    order_import = OrderImport.objects.get(store=store)
    assert order_import.status == "rejected"
    reported = {(e["row"], e["column"]) for e in order_import.errors}
    assert (3, "quantity") in reported
    assert (4, "unit_price") in reported


def test_a_gbk_encoded_file_is_read(console, store):
    content = (HEADER + row("G-1")).encode("gb18030")

    upload(console, store, content)

    order = Order.objects.get(store=store, external_id="G-1")
    assert (order.buyer_name, order.ship_province, order.ship_city) == ("王小明", "浙江省", "杭州市")


def test_importing_the_same_file_twice_adds_no_row(console, store):
    content = (HEADER + row("D-1") + row("D-2")).encode()
    upload(console, store, content)
    upload(console, store, content)
    assert Order.objects.filter(store=store).count() == 2


def test_a_large_file_runs_in_the_background_with_progress(console, store, django_capture_on_commit_callbacks):
    rows, n = [HEADER], 0
    while sum(len(r) for r in rows) <= INLINE_IMPORT_BYTES:
        n += 1
        rows.append(row(f"L-{n}"))
    with django_capture_on_commit_callbacks() as callbacks:
        page = upload(console, store, "".join(rows).encode())
    assert len(callbacks) == 1  # handed to a worker
    order_import = OrderImport.objects.get(store=store)
    assert "data-progress-url" in page.content.decode()
    assert console.get(f"/stores/{store.pk}/imports/{order_import.pk}/?format=json").json()["finished"] is False

    order_import_run(import_id=order_import.pk)  # what the worker does

    progress = console.get(f"/stores/{store.pk}/imports/{order_import.pk}/?format=json").json()
    assert (progress["status"], progress["percent"], progress["finished"]) == ("succeeded", 100, True)
    assert Order.objects.filter(store=store).count() == n


def test_template_downloads(console):
    csv = console.get("/stores/import-template.csv")
    xlsx = console.get("/stores/import-template.xlsx")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_only_spreadsheet_stores_take_files(console, tenant_a):
    with in_tenant(tenant_a):
        store = StoreFactory(name="Shop", channel="shopify", base_url="https://s.myshopify.com")
    page = upload(console, store, (HEADER + row("X-1")).encode())
    assert "Only spreadsheet stores" in page.content.decode()
    with in_tenant(tenant_a):
        assert not Order.objects.exists()


def test_api_import_reports_errors(api, store):
    response = api.post(
        f"/api/v1/stores/{store.pk}/imports/",
        {"file": SimpleUploadedFile("o.csv", (HEADER + row("A-1", currency="XX")).encode())},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "rejected"
    assert body["errors"][0]["column"] == "currency"


def test_imports_of_tenant_b_are_not_reachable(console, tenant_b):
    with in_tenant(tenant_b):
        store = StoreFactory(name="B sheet")
        imp = OrderImport.objects.create(store=store, filename="b.csv", file_path="/nonexistent")
    assert console.get(f"/stores/{store.pk}/imports/{imp.pk}/").status_code == 404
