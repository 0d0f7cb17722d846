"""The six journeys of the Console issue, each as a person would do it in Chromium (issue 11).

Selectors are URLs, form field names, ids, data attributes and CSS state classes (``badge-<status>``), never
English page text: the pages are translated. Page text is read only to check that the feature worked, and in
journey 6, which checks that no English is left. Each journey stands alone on the session's stack: the demo
tenant of provision_demo, the ``ledger`` tenant of seed.py, or a tenant it signs up itself.
"""

from __future__ import annotations

import csv
import io
import re
import time
import uuid
from decimal import Decimal

import httpx
import openpyxl
import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from channels.sandbox.generator import CATALOGUE
from settlement.exports import statement_columns
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.helpers import NEW_PASSWORD, PASSWORD, amount, has, login, reload_until, submit, wait_until
from tests.e2e.seed import LEDGER, LEDGER_FINANCE
from tests.e2e.stack import SANDBOX_TOKEN, Stack

# Long enough for one journey on a 2-core machine; a hung page or worker ends the test, not the suite.
pytestmark = pytest.mark.timeout(180)

DEMO_MERCHANT = "merchant@demo.test"
DEMO_SUPPLIER = "supplier@demo.test"
DEMO_FINANCE = "finance@demo.test"
SHOPIFY_API = "/admin/api/2025-07"


def _csv_bytes(header: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


# ---------------------------------------------------------------- 1. sign up, connect, sync, dashboard


def test_signup_connect_sync_dashboard(page: Page, stack: Stack, tmp_path):
    slug = f"shop-{uuid.uuid4().hex[:6]}"
    email = f"owner@{slug}.test"
    # The public site: the landing page leads to the sign-up form.
    page.goto(f"{stack.public_url}/")
    submit(page, "main a[href='/signup/']")
    page.fill("input[name=company]", f"Shop {slug}")
    page.fill("input[name=slug]", slug)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.select_option("select[name=default_currency]", "USD")
    submit(page, "main form button[type=submit]")
    assert page.url == f"{stack.tenant_url(slug)}/login/", "sign-up leads to the new workspace's login"
    login(page, stack.tenant_url(slug), email, NEW_PASSWORD)

    # Products and their source path (the own warehouse, everywhere), imported from a file as a new merchant would.
    products = tmp_path / "products.csv"
    products.write_bytes(
        _csv_bytes(
            ["sku", "name", "source_position", "supplier_code", "cost_price", "currency", "on_hand"],
            [[item.sku, item.name, 1, "", item.prices["USD"] / 2, "USD", 500] for item in CATALOGUE],
        )
    )
    submit(page, "nav.mainnav a[href='/products/']")
    submit(page, "main a[href='/products/import/']")
    page.set_input_files("input[name=file]", str(products))
    submit(page, "main form button[type=submit]")
    assert page.url.endswith("/products/"), f"the import ended on {page.url}"
    expect(page.locator("main a[href^='/products/'][href$='/']", has_text=CATALOGUE[0].sku).first).to_be_visible()

    # Connect the sandbox shop and sync it.
    submit(page, "nav.mainnav a[href='/stores/']")
    submit(page, "main a[href='/stores/connect/sandbox/']")
    page.fill("input[name=name]", "My sandbox shop")
    page.fill("input[name=base_url]", stack.sandbox_url)
    page.fill("input[name=access_token]", SANDBOX_TOKEN)
    submit(page, "main form button[type=submit]")
    assert re.search(r"/stores/\d+/$", page.url), f"connecting ended on {page.url}"
    submit(page, "main form[action$='/sync/'] button[type=submit]")
    reload_until(page, lambda p: has(p, "main table.list tbody tr:first-child .badge-succeeded"), timeout=90)

    # Routing runs on the worker after the sync: the dashboard counts the routed orders.
    total = stack.query("SELECT count(*) FROM orders_order", tenant=slug)[0][0]
    assert total > 0, "the sync brought no order"
    routed = wait_until(
        lambda: (
            stack.query("SELECT count(*) FROM orders_order WHERE status <> 'new'", tenant=slug)[0][0] == total
            and stack.query("SELECT count(*) FROM orders_order WHERE status = 'routed'", tenant=slug)[0][0]
        ),
        timeout=90,
        what="every synced order to be routed",
    )
    submit(page, "nav.mainnav a[href='/dashboard/']")
    text = page.locator("main").inner_text()
    assert re.search(rf"\b{routed}\b", text), f"the dashboard does not show the {routed} routed orders:\n{text}"


# ---------------------------------------------------------------- 2. map a held SKU; draft, simulate, activate


def test_map_held_sku_and_change_rules(page: Page, stack: Stack, tmp_path):
    tag = uuid.uuid4().hex[:6].upper()
    number, listing_sku = f"E2E-HOLD-{tag}", f"FAN-SILK-{tag}"
    store_id = stack.query("SELECT id FROM channels_store WHERE channel = 'spreadsheet' ORDER BY id LIMIT 1")[0][0]
    orders = tmp_path / "phone-order.csv"
    orders.write_bytes(
        _csv_bytes(
            [
                "order_number",
                "placed_at",
                "currency",
                "buyer_name",
                "buyer_phone",
                "country",
                "province",
                "city",
                "address1",
                "postal_code",
                "sku",
                "title",
                "quantity",
                "unit_price",
                "shipping",
            ],
            [
                [
                    number,
                    "2026-11-01T09:00+08:00",
                    "CNY",
                    "E2E Buyer",
                    "13800000000",
                    "CN",
                    "浙江省",
                    "杭州市",
                    "文三路 1 号",
                    "310012",
                    listing_sku,
                    "Silk fan",
                    2,
                    "88.00",
                    "0",
                ]
            ],
        )
    )
    login(page, stack.tenant_url("demo"), DEMO_MERCHANT)
    base = stack.tenant_url("demo")

    # A phone order whose SKU Relay does not know: imported, then held.
    page.goto(f"{base}/stores/{store_id}/")
    page.set_input_files(f"form[action='/stores/{store_id}/imports/'] input[name=file]", str(orders))
    submit(page, f"form[action='/stores/{store_id}/imports/'] button[type=submit]")
    expect(page.locator("main .badge-succeeded")).to_be_visible()
    page.goto(f"{base}/orders/holds/")
    held = page.locator("main table.list tbody tr", has=page.locator(f"a:text-is('{number}')"))
    expect(held).to_be_visible()
    order_url = held.locator("a[href^='/orders/']").first.get_attribute("href")
    expect(page.locator("main a[href='?reason=unmapped_sku']")).to_be_visible()

    # Map the listing SKU to a product; the held order is routed again and dispatched.
    page.goto(f"{base}/products/listings/unmapped/")
    submit(page, f"main a[href='/products/listings/map/?listing_sku={listing_sku}']")
    page.fill("input[name='components-0-product_sku']", "TEE-BLK-M")
    page.fill("input[name='components-0-quantity']", "1")
    submit(page, "main form button[type=submit]")
    page.goto(f"{base}{order_url}")
    reload_until(page, lambda p: has(p, "main h1 .badge-routed"), timeout=60)
    expect(page.locator("main h3 .badge-pending").first).to_be_visible()  # the supplier's dispatch, waiting for it

    # A rule changed in a draft, simulated, then activated.
    page.goto(f"{base}/routing/")
    submit(page, "main form[action='/routing/draft/'] button[type=submit]")
    submit(page, "main a[href$='/rules/add/hold/']")
    rule_name = f"E2E big orders {tag}"
    page.fill("input[name=total_above]", "5000")
    page.fill("input[name=currency]", "CNY")
    page.fill("input[name=name]", rule_name)
    submit(page, "main form button[type=submit]")
    row = page.locator("main table.list tbody tr", has=page.locator(f"td:text-is('{rule_name}')"))
    submit(page, f"main table.list tbody tr:has(td:text-is('{rule_name}')) a[href^='/routing/rules/']")
    page.fill("input[name=total_above]", "3000")
    submit(page, "main form button[type=submit]")
    expect(row).to_contain_text("3,000.00")
    submit(page, "main form[action$='/simulate/'] button[type=submit]")
    reload_until(page, lambda p: has(p, "main h1 .badge-done"), timeout=60)
    page.goto(f"{base}/routing/")
    submit(page, "main a[href$='/activate/']")
    page.fill("input[name=note]", f"Hold orders over 3000 CNY ({tag})")
    submit(page, "main form button[type=submit]")
    active = page.locator("main .card").first
    expect(active.locator(f"td:text-is('{rule_name}')")).to_be_visible()
    expect(page.locator("main table.list .badge-active").first).to_be_visible()


# ---------------------------------------------------------------- 3. the supplier's day: accept, reject, ship


def _pending_sandbox_dispatches(stack: Stack) -> list[tuple[int, str, str, int]]:
    """(dispatch id, number, sandbox order id, lines) of the demo supplier's dispatches waiting, from the shop."""
    return stack.query(
        """SELECT d.id, d.number, o.external_id, count(l.id)
           FROM suppliers_dispatch d JOIN suppliers_supplier s ON s.id = d.supplier_id
           JOIN suppliers_dispatchline l ON l.dispatch_id = d.id
           JOIN orders_orderline ol ON ol.id = l.order_line_id JOIN orders_order o ON o.id = ol.order_id
           JOIN channels_store st ON st.id = o.store_id
           WHERE s.code = 'HZ-TEXTILE' AND d.status = 'pending' AND st.channel = 'sandbox'
           GROUP BY d.id, d.number, o.external_id ORDER BY d.id"""
    )


def test_supplier_accepts_rejects_and_uploads_tracking(page: Page, stack: Stack, tmp_path):
    waiting = _pending_sandbox_dispatches(stack)
    singles = [d for d in waiting if d[3] == 1][:2]
    several = next(d for d in waiting if d[3] >= 2)
    assert len(singles) == 2, f"the demo has no two single-line dispatches waiting: {waiting}"
    base = stack.tenant_url("demo")
    login(page, base, DEMO_SUPPLIER)
    assert page.url.startswith(f"{base}/portal/"), "a supplier lands in the portal"
    submit(page, "nav.mainnav a[href='/portal/dispatches/']")

    for dispatch_id, *_rest in singles:
        page.goto(f"{base}/portal/dispatches/{dispatch_id}/")
        submit(page, "#accept button[type=submit]")
        page.goto(f"{base}/portal/dispatches/{dispatch_id}/")
        expect(page.locator("main h1 .badge-accepted")).to_be_visible()

    # One line of a bigger dispatch cannot be shipped: rejected, the rest accepted.
    page.goto(f"{base}/portal/dispatches/{several[0]}/")
    page.locator("#accept-partly input[name=rejected_lines]").first.check()
    page.select_option("#accept-partly select[name=reason_code]", "out_of_stock")
    submit(page, "#accept-partly button[type=submit]")
    page.goto(f"{base}/portal/dispatches/{several[0]}/")
    expect(page.locator("main h1 .badge-accepted")).to_be_visible()

    # Tracking for the three, uploaded from a spreadsheet.
    shipped = [*singles, several]
    tracking = {number: f"LP{19_000_000_000_000 + dispatch_id * 7_717:014d}" for dispatch_id, number, *_ in shipped}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["dispatch", "carrier", "tracking_number"])
    for number, tracking_number in tracking.items():
        sheet.append([number, "cainiao", tracking_number])
    upload = tmp_path / "tracking.xlsx"
    book.save(upload)
    page.goto(f"{base}/portal/tracking/upload/")
    page.set_input_files("main input[name=file]", str(upload))
    submit(page, "main form button[type=submit]")
    reload_until(page, lambda p: not has(p, "main [role=progressbar]"), timeout=60)
    assert not has(page, "main [role=alert]"), page.locator("main").inner_text()
    expect(page.locator("main .msg-success, main [role=status]").first).to_be_visible()

    for dispatch_id, *_rest in shipped:
        page.goto(f"{base}/portal/dispatches/{dispatch_id}/")
        expect(page.locator("main h1 .badge-shipped")).to_be_visible()
        for number in tracking.values():
            if page.locator(f"main :text('{number}')").count():
                break
        else:
            raise AssertionError(f"dispatch {dispatch_id} does not show its tracking number")
    page.goto(f"{base}/portal/dispatches/")

    # The worker pushed each tracking number to the sandbox shop, as fulfillments of the orders.
    def pushed() -> bool:
        for _dispatch_id, number, order_id, _lines in shipped:
            response = httpx.get(
                f"{stack.sandbox_url}{SHOPIFY_API}/orders/{order_id}/fulfillments.json",
                headers={"X-Shopify-Access-Token": SANDBOX_TOKEN},
                timeout=5,
            )
            numbers = {f.get("tracking_number") for f in response.json().get("fulfillments", [])}
            if tracking[number] not in numbers:
                return False
        return True

    wait_until(pushed, timeout=60, every=2, what="the sandbox shop to receive the fulfillments")


# ---------------------------------------------------------------- 4. month close, dispute, confirm, exports


def _download(page: Page, selector: str, target) -> bytes:
    """Ask for an export on the statement page and save the file: served at once, or from the export's job page
    (which refreshes by itself until the file is ready)."""
    downloads = []

    def arrived(download) -> None:
        downloads.append(download)

    page.on("download", arrived)
    page.locator(selector).click()
    clicked = False
    deadline = time.monotonic() + 60
    while not downloads:
        assert time.monotonic() < deadline, f"no file came from {page.url}"
        assert not has(page, "main .badge-failed"), page.locator("main").inner_text()
        if not clicked and has(page, "main a[download]"):
            page.locator("main a[download]").click()
            clicked = True
        page.wait_for_timeout(250)
    page.remove_listener("download", arrived)
    downloads[0].save_as(target)
    return target.read_bytes()


def test_finance_closes_month_and_exports(page: Page, stack: Stack, tmp_path):
    base = stack.tenant_url(LEDGER)
    login(page, base, LEDGER_FINANCE)
    page.goto(f"{base}/settlement/")
    submit(page, "main form[action='/settlement/close/'] button[type=submit]")
    reload_until(page, lambda p: has(p, "main .badge-closed"), timeout=90)
    submit(page, "main a[href^='/settlement/20']")
    submit(page, "main table.list a[href^='/settlement/statements/']")
    statement_url = page.url
    page_total = amount(page.locator("main table.list tfoot th.num").inner_text())
    assert page_total > 0
    submit(page, "main button[name=action][value=issue]")
    expect(page.locator("main h1 .badge-issued")).to_be_visible()
    statement_id = re.search(r"/statements/(\d+)/", statement_url).group(1)

    # The supplier disputes one line.
    page.context.clear_cookies()
    login(page, base, DEMO_SUPPLIER)
    page.goto(f"{base}/portal/statements/")
    submit(page, f"main a[href='/portal/statements/{statement_id}/']")
    page.locator("#dispute input[name^=comment_]").nth(1).fill("Only part of this line reached the carrier.")
    submit(page, "#dispute button[type=submit]")
    expect(page.locator("main h1 .badge-disputed")).to_be_visible()

    # Finance accepts the dispute with an adjustment in the next month; the supplier confirms.
    page.context.clear_cookies()
    login(page, base, LEDGER_FINANCE)
    page.goto(statement_url)
    dispute = page.locator("main section[id^=dispute-]").first
    dispute.locator("input[type=radio][value=adjust]").check()
    dispute.locator("input[name$=-amount]").fill("-10.00")
    dispute.locator("textarea[name$=-resolution]").fill("Agreed: 10.00 off next month.")
    submit(page, "main section[id^=dispute-] button[name=action][value=resolve]")
    expect(page.locator("main h1 .badge-issued")).to_be_visible()

    page.context.clear_cookies()
    login(page, base, DEMO_SUPPLIER)
    page.goto(f"{base}/portal/statements/{statement_id}/")
    submit(page, "#confirm button[type=submit]")
    expect(page.locator("main h1 .badge-confirmed")).to_be_visible()

    # Finance exports the statement; each file's total is the page's.
    page.context.clear_cookies()
    login(page, base, LEDGER_FINANCE)
    page.goto(statement_url)
    expect(page.locator("main h1 .badge-confirmed")).to_be_visible()
    assert amount(page.locator("main table.list tfoot th.num").inner_text()) == page_total

    # The files have a row per line and no total row (settlement.exports): their Amount column adds up to it.
    with translation.override("en"):
        column = statement_columns().index(gettext("Amount"))
    csv_rows = list(
        csv.reader(
            io.StringIO(_download(page, "#export button[value=csv]", ARTIFACTS / "statement.csv").decode("utf-8-sig"))
        )
    )
    csv_total = sum(amount(row[column]) for row in csv_rows[1:] if row and row[column].strip())
    page.goto(statement_url)
    book = openpyxl.load_workbook(
        io.BytesIO(_download(page, "#export button[value=xlsx]", ARTIFACTS / "statement.xlsx"))
    )
    xlsx_rows = list(book.active.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(xlsx_rows) if row[column] is not None and not _is_number(row[column]))
    xlsx_total = sum(Decimal(str(row[column])) for row in xlsx_rows[header + 1 :] if _is_number(row[column]))
    page.goto(statement_url)
    pdf = PdfReader(io.BytesIO(_download(page, "#export button[value=pdf]", ARTIFACTS / "statement.pdf")))
    # pypdf reads the embedded CJK font's glyphs with spaces and NULs between them: compare without those.
    pdf_text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in pdf.pages))
    assert xlsx_total == page_total, f"the XLSX's amounts add up to {xlsx_total}, the page says {page_total}"
    currency = stack.query("SELECT currency FROM settlement_statement WHERE id = %s", (statement_id,), tenant=LEDGER)
    assert f"{page_total:,.2f}{currency[0][0]}" in pdf_text, f"the PDF's total is not {page_total}: {pdf_text[-300:]}"
    assert csv_total == page_total, f"the CSV's amounts add up to {csv_total}, the page says {page_total}"
    page.goto(statement_url)


def _is_number(cell) -> bool:
    return isinstance(cell, int | float | Decimal) and not isinstance(cell, bool)


# ---------------------------------------------------------------- 5. nobody sees what is not theirs


def test_other_supplier_and_other_tenant_are_refused(page: Page, stack: Stack):
    base, ledger = stack.tenant_url("demo"), stack.tenant_url(LEDGER)
    ledger_orders = [row[0] for row in stack.query("SELECT order_number FROM orders_order", tenant=LEDGER)]
    assert ledger_orders

    # A merchant of the demo tenant goes to the ledger tenant's host: not signed in there.
    login(page, base, DEMO_MERCHANT)
    response = page.goto(f"{ledger}/orders/")
    assert "/login/" in page.url or response.status == 403, f"{page.url} answered {response.status}"
    # Even the demo session's cookie, carried over to the ledger host by hand, opens nothing there.
    session = next(c for c in page.context.cookies(base) if c["name"] == "sessionid")
    page.context.add_cookies([{**session, "domain": f"{LEDGER}.localhost"}])
    for path in ("/orders/", "/dashboard/", "/settlement/"):
        response = page.goto(f"{ledger}{path}")
        assert "/login/" in page.url or response.status == 403, f"{path} on the ledger host answered {response.status}"
        text = page.locator("body").inner_text()
        assert not any(number in text for number in ledger_orders), f"{path} shows the ledger's orders"
    # The demo's credentials do not open the ledger tenant either.
    page.goto(f"{ledger}/login/")
    page.fill("input[name=username]", DEMO_MERCHANT)
    page.fill("input[name=password]", PASSWORD)
    submit(page, "main form button[type=submit]")
    assert "/login/" in page.url, "the demo's merchant signed in on the ledger tenant"

    # A supplier opens a dispatch of another supplier of its tenant: refused, nothing of it shown.
    other_id, other_number = stack.query(
        """SELECT d.id, d.number FROM suppliers_dispatch d JOIN suppliers_supplier s ON s.id = d.supplier_id
           WHERE s.code <> 'HZ-TEXTILE' ORDER BY d.id LIMIT 1"""
    )[0]
    page.context.clear_cookies()
    login(page, base, DEMO_SUPPLIER)
    response = page.goto(f"{base}/portal/dispatches/{other_id}/")
    assert other_number not in page.locator("body").inner_text()
    assert response.status == 403, f"another supplier's dispatch answered {response.status}, not 403"


# ---------------------------------------------------------------- 6. the key pages in Chinese

# Brand names, formats and codes that stay as they are in Chinese.
ALLOWED_WORDS = {
    "relay", "shopify", "woocommerce", "csv", "xlsx", "excel", "pdf", "sku", "api", "usd", "cny", "eur", "gbp", "jpy",
    "english", "utf", "gbk", "id", "url", "http", "https", "localhost", "sf", "ems", "ups", "dhl", "fedex", "usps",
    "zto", "yto", "sto", "jd", "cn", "us", "gb", "ok", "kb", "mb", "iso",
}  # fmt: skip


def _data_words(stack: Stack, slug: str) -> set[str]:
    """Words of the tenant's own data (names, SKUs, numbers, addresses, e-mails): not the UI's text."""
    rows = stack.query(
        """SELECT concat_ws(' ', sku, name) FROM inventory_product
           UNION ALL SELECT concat_ws(' ', name, code, contact_email, contact_name) FROM suppliers_supplier
           UNION ALL SELECT concat_ws(' ', name, base_url) FROM channels_store
           UNION ALL SELECT concat_ws(' ', order_number, buyer_name, buyer_email, ship_name, ship_province, ship_city,
                                      ship_district, ship_line1, ship_line2, ship_country, note, tags) FROM orders_order
           UNION ALL SELECT concat_ws(' ', listing_sku, title) FROM orders_orderline
           UNION ALL SELECT concat_ws(' ', number, ship_to::text) FROM suppliers_dispatch
           UNION ALL SELECT number FROM settlement_statement
           UNION ALL SELECT description FROM settlement_statementline
           UNION ALL SELECT concat_ws(' ', username, first_name, last_name) FROM auth_user
           UNION ALL SELECT filename FROM channels_orderimport""",
        tenant=slug,
    )
    rows += stack.query("SELECT name FROM tenants_tenant WHERE slug = %s", (slug,), schema="public")
    return {word.lower() for (text,) in rows for word in re.findall(r"[A-Za-z]+", text or "")}


# The page's text, and the text of what shows machine values as they are: <code> (SKUs, file columns) and the
# options of a choice that show their own value (time zones, currency codes).
_PAGE_TEXT = """() => [
    document.body.innerText,
    [...document.querySelectorAll("code, option")]
        .filter(el => el.tagName === "CODE" || el.value === el.textContent.trim())
        .map(el => el.textContent).join(" "),
]"""


def _english_left(page: Page, allowed: set[str]) -> list[str]:
    text, codes = page.evaluate(_PAGE_TEXT)
    # Addresses and the example values of a file's format stay as they are typed: "https://your-shop…", "CN:Zhejiang".
    text = re.sub(r"https?://\S+|\b[A-Z]{2}:[A-Za-z]+", " ", text)
    # A name cut short beside a chart's bar ("Organic Cotton Te…") is data, not the page's words.
    text = re.sub(r"[A-Za-z][^\s…]*…", " ", text)
    allowed = allowed | ALLOWED_WORDS | {word.lower() for word in re.findall(r"[A-Za-z]+", codes)}
    return sorted({word for word in re.findall(r"[A-Za-z]{2,}", text) if word.lower() not in allowed})


def choose_chinese(page: Page) -> None:
    """简体中文 from the language selector of the page (a person's choice is kept on their user)."""
    if not page.evaluate("document.documentElement.lang").lower().startswith("zh"):
        with page.expect_navigation():
            page.select_option("select[name=language]", "zh-hans")


def test_key_pages_in_chinese(page: Page, stack: Stack):
    base = stack.tenant_url("demo")
    allowed = _data_words(stack, "demo")
    month = stack.query("SELECT to_char(month, 'YYYY-MM') FROM settlement_period ORDER BY month DESC LIMIT 1")[0][0]
    statement = stack.query("SELECT id FROM settlement_statement ORDER BY id LIMIT 1")[0][0]
    dispatch = stack.query("SELECT id FROM suppliers_dispatch WHERE supplier_id = (SELECT id FROM suppliers_supplier WHERE code = 'HZ-TEXTILE') ORDER BY id DESC LIMIT 1")[0][0]  # fmt: skip
    portal_statement = stack.query("SELECT st.id FROM settlement_statement st JOIN suppliers_supplier s ON s.id = st.supplier_id WHERE s.code = 'HZ-TEXTILE' AND st.status <> 'draft' LIMIT 1")  # fmt: skip
    leftovers: dict[str, list[str]] = {}

    def check(path: str) -> None:
        page.goto(path if path.startswith("http") else f"{base}{path}")
        assert page.evaluate("document.documentElement.lang").lower().startswith("zh"), f"{path} is not in Chinese"
        if words := _english_left(page, allowed):
            leftovers[path] = words

    # The public site (journey 1's first pages), in Chinese from the language selector.
    page.goto(f"{stack.public_url}/")
    choose_chinese(page)
    check(f"{stack.public_url}/")
    check(f"{stack.public_url}/signup/")

    # The merchant's pages of journey 1, the language chosen again after signing in.
    login(page, base, DEMO_MERCHANT)
    choose_chinese(page)
    for path in ("/dashboard/", "/stores/", "/stores/connect/sandbox/", "/products/import/", "/orders/"):
        check(path)
    # The finance pages of journey 4.
    page.context.clear_cookies()
    login(page, base, DEMO_FINANCE)
    choose_chinese(page)
    for path in ("/settlement/", f"/settlement/{month}/", f"/settlement/statements/{statement}/"):
        check(path)
    # The supplier's pages of journeys 3 and 4.
    page.context.clear_cookies()
    login(page, base, DEMO_SUPPLIER)
    choose_chinese(page)
    paths = ["/portal/", "/portal/dispatches/", f"/portal/dispatches/{dispatch}/", "/portal/tracking/upload/"]
    paths += [f"/portal/statements/{portal_statement[0][0]}/"] if portal_statement else []
    for path in paths:
        check(path)
    assert not leftovers, "English left on the Chinese pages:\n" + "\n".join(
        f"{path}: {' '.join(words)}" for path, words in leftovers.items()
    )


@pytest.fixture(autouse=True)
def _stack_alive(stack: Stack):
    """A journey that fails because a process died says so."""
    yield
    stack.check_alive()


# ---------------------------------------------------------------- accessibility of the main pages of each role

SERIOUS = {"serious", "critical"}


def test_main_pages_have_no_serious_accessibility_violation(page: Page, stack: Stack):
    base = stack.tenant_url("demo")
    order = stack.query("SELECT id FROM orders_order ORDER BY id LIMIT 1")[0][0]
    statement = stack.query("SELECT id FROM settlement_statement ORDER BY id LIMIT 1")[0][0]
    axe = Axe()
    found: list[str] = []

    def check(url: str) -> None:
        page.goto(url if url.startswith("http") else f"{base}{url}")
        for violation in axe.run(page).response["violations"]:
            if violation["impact"] in SERIOUS:
                targets = ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
                found.append(f"{url}: {violation['id']} ({violation['impact']}) on {targets}")

    check(f"{stack.public_url}/signup/")
    check("/login/")
    login(page, base, DEMO_MERCHANT)
    for path in (
        "/dashboard/",
        "/orders/",
        f"/orders/{order}/",
        "/orders/holds/",
        "/products/",
        "/suppliers/",
        "/stores/",
    ):
        check(path)
    page.context.clear_cookies()
    login(page, base, DEMO_SUPPLIER)
    for path in ("/portal/", "/portal/dispatches/"):
        check(path)
    page.context.clear_cookies()
    login(page, base, DEMO_FINANCE)
    for path in ("/settlement/", f"/settlement/statements/{statement}/"):
        check(path)
    assert not found, "serious or critical accessibility violations (axe):\n" + "\n".join(found)
