"""What every journey does: log in as a person, wait for background work by reloading the page that shows it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

PASSWORD = "relay-demo-2026"  # the demo's logins (provision_demo) and tests/e2e/seed.py's
NEW_PASSWORD = "brand-new-merchant-2026"


def login(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in on a tenant host through its login page; ends on the page the login leads to."""
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert "/login/" not in page.url, f"{email} could not log in on {base_url}"


def reload_until(page: Page, ready: Callable[[Page], bool], *, timeout: float = 60, every: float = 1.0) -> None:
    """Reload the page a person watches until ``ready``: progress pages refresh themselves the same way."""
    deadline = time.monotonic() + timeout
    while not ready(page):
        if time.monotonic() > deadline:
            raise AssertionError(f"{page.url} did not get there in {timeout:.0f} s")
        time.sleep(every)
        try:
            page.reload()
        except PlaywrightError:  # the page reloaded itself meanwhile (progress pages do)
            page.wait_for_load_state()


def wait_until(check: Callable[[], object], *, timeout: float = 60, every: float = 1.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or check}")
        time.sleep(every)
    return result


def has(page: Page, selector: str) -> bool:
    return page.locator(selector).count() > 0


def amount(text: str) -> Decimal:
    """The number in a money text as the pages show it ("1,234.50 CNY", "-62.97", "¥1,234.50")."""
    found = re.search(r"[-−]?\d[\d,]*(?:\.\d+)?", text)
    assert found, f"no amount in {text!r}"
    return Decimal(found.group().replace(",", "").replace("−", "-"))


def submit(page: Page, selector: str) -> None:
    """Press a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(selector).first.click()


def expect_badge(page: Page, scope: str, status: str) -> None:
    expect(page.locator(f"{scope} .badge-{status}").first).to_be_visible()
