"""The Content-Security-Policy (no 'unsafe-inline') in a real browser: the main pages of every role raise no
violation, and what used to be inline (the language switch, confirmations, progress bars, charts) still works.

A violation is caught twice: the page's ``securitypolicyviolation`` events (a script added by the browser, which
the policy does not govern) and Chromium's console errors ("Refused to …").
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page

from tests.e2e.helpers import login
from tests.e2e.seed import LEDGER, LEDGER_FINANCE
from tests.e2e.stack import Stack

pytestmark = pytest.mark.timeout(180)

DEMO_MERCHANT = "merchant@demo.test"
DEMO_SUPPLIER = "supplier@demo.test"

_LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


class Violations:
    """Every CSP violation the page raised, per URL visited."""

    def __init__(self, page: Page):
        self.page = page
        self.console: list[str] = []
        self.found: list[str] = []
        page.add_init_script(_LISTEN)
        page.on(
            "console",
            lambda message: (
                self.console.append(message.text)
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.ok, f"{url}: {response.status if response else 'no response'}"
        assert "'unsafe-inline'" not in (response.headers.get("content-security-policy") or "'unsafe-inline'")
        self.collect()

    def collect(self) -> None:
        self.page.wait_for_load_state("load")
        events = self.page.evaluate("window.__cspViolations || []")
        self.found.extend(f"{self.page.url}: {event}" for event in events)
        self.found.extend(f"{self.page.url}: {text}" for text in self.console)
        self.console.clear()

    def assert_none(self) -> None:
        assert not self.found, "CSP violations:\n" + "\n".join(self.found)


def test_the_merchants_pages_raise_no_csp_violation(page: Page, stack: Stack):
    base = stack.tenant_url("demo")
    seen = Violations(page)
    login(page, base, DEMO_MERCHANT)
    seen.collect()

    for path in (
        "/dashboard/",
        "/orders/",
        "/orders/holds/",
        "/stores/",
        "/products/",
        "/products/new/",
        "/routing/",
        "/suppliers/",
    ):
        seen.visit(base + path)
    # The dashboard's charts are drawn: SVG, styled by the stylesheet.
    seen.visit(base + "/dashboard/")
    assert page.locator("svg.chart-svg").count() >= 1
    # An order's page.
    seen.visit(base + "/orders/")
    order_links = [
        h
        for h in page.locator("main a[href^='/orders/']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        if re.fullmatch(r"/orders/\d+/", h or "")
    ]
    if order_links:
        seen.visit(base + order_links[0])

    seen.assert_none()


def test_the_language_switch_works_without_inline_script(page: Page, stack: Stack):
    base = stack.tenant_url("demo")
    seen = Violations(page)
    login(page, base, DEMO_MERCHANT)
    seen.visit(base + "/orders/")

    with page.expect_navigation():
        page.select_option("header select[name=language]", "zh-hans")
    seen.collect()

    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.url.endswith("/orders/")
    with page.expect_navigation():
        page.select_option("header select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    seen.assert_none()


def test_the_supplier_portal_raises_no_csp_violation(page: Page, stack: Stack):
    base = stack.tenant_url("demo")
    seen = Violations(page)
    login(page, base, DEMO_SUPPLIER)
    seen.collect()

    for path in ("/portal/", "/portal/dispatches/", "/portal/stock/", "/portal/statements/"):
        seen.visit(base + path)

    seen.assert_none()


def test_the_finance_pages_raise_no_csp_violation(page: Page, stack: Stack):
    base = stack.tenant_url(LEDGER)
    seen = Violations(page)
    login(page, base, LEDGER_FINANCE)
    seen.collect()

    seen.visit(base + "/settlement/")
    for href in page.locator("main a[href^='/settlement/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )[:6]:
        seen.visit(base + href)

    seen.assert_none()


def test_the_public_site_and_platform_admin_raise_no_csp_violation(page: Page, stack: Stack):
    seen = Violations(page)

    for path in ("/", "/signup/", "/admin/login/"):
        seen.visit(stack.public_url + path)

    seen.assert_none()


def test_the_api_docs_work_under_the_csp(page: Page, stack: Stack):
    base = stack.tenant_url("demo")
    seen = Violations(page)
    login(page, base, DEMO_MERCHANT)

    seen.visit(base + "/api/v1/docs/")
    page.locator("#swagger-ui .opblock").first.wait_for()

    seen.assert_none()
