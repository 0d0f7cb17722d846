"""Real-browser journeys: the stack of `make run` (tests/e2e/stack.py) driven by the system's Chromium.

One stack for the session, on its own database (DATABASE_URL's name + ``_e2e``) and Redis database (the next
number). Each test gets a fresh browser context (no cookies) and leaves a screenshot of its last page in
var/e2e/<test>.png, passing or failing. Chromium is the system's (RELAY_CHROMIUM, else chromium on PATH):
Playwright's own browser download is never used. Without Chromium the journeys fail and say how to get it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.stack import ROOT, Stack, StackFailure, running_stack, stack_database_url, stack_redis_url

ARTIFACTS = ROOT / "var" / "e2e"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "The real-browser journeys (tests/e2e) need Chromium and a CJK font from the system packages: "
    "run `sudo apt-get install chromium fonts-noto-cjk` (or `bash .ci/run`, which installs them), "
    "or point RELAY_CHROMIUM at a Chromium or Chrome binary."
)


def chromium_executable() -> str | None:
    if configured := os.environ.get("RELAY_CHROMIUM"):
        return configured if Path(configured).exists() else shutil.which(configured)
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    for name in CHROMIUM_CANDIDATES:
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    executable = chromium_executable()
    if executable is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return executable


# Module scope (the journeys are one module): the stack's processes stop, and Playwright's event loop is closed,
# before the rest of the suite runs — a loop left running in the main thread makes Django refuse database
# calls from the later tests ("You cannot call this from an async context").
@pytest.fixture(scope="module")
def stack(chromium, tmp_path_factory) -> Iterator[Stack]:
    """The whole stack (web, worker, sandbox shop) on a fresh database, for the journeys.

    RELAY_E2E_STACK=var/e2e/stack/stack.json uses the stack `python -m tests.e2e.stack` keeps up instead
    (for writing a journey; its data is not fresh).
    """
    if reuse := os.environ.get("RELAY_E2E_STACK"):
        fields = json.loads(Path(reuse).read_text())
        yield Stack(**{**fields, "workdir": Path(fields["workdir"])})
        return
    workdir = tmp_path_factory.mktemp("stack")
    try:
        with running_stack(
            database_url=stack_database_url(settings.DATABASE_URL),
            redis_url=stack_redis_url(settings.REDIS_URL),
            workdir=workdir,
        ) as running:
            yield running
    except StackFailure as exc:
        pytest.fail(f"the e2e stack did not start: {exc}", pytrace=False)


@pytest.fixture(scope="module")
def browser(chromium) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, stack, request) -> Iterator[Page]:
    """A fresh browser (no cookies, English unless the journey chooses) whose last page is kept as a picture."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.removeprefix("test_")
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception as exc:  # a crashed page must not hide the journey's own failure
            print(f"no screenshot of {name}: {exc}")
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            print(stack.logs_tail())
        context.close()
