"""Transport and browser hardening: the Content-Security-Policy (no 'unsafe-inline', and no page that needs it),
HSTS, X-Frame-Options, Referrer-Policy, nosniff, the opener policy, and Secure / HttpOnly / SameSite cookies in
production (as production settings set them, and as the settings module defaults them with DEBUG off)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.cache import cache, caches
from django.template.loader import render_to_string
from django.test import RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.views import SpectacularSwaggerSplitView

from core import charts
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]

# What production sets (Makefile check-deploy, .env.example): HTTPS on, cookies Secure.
PRODUCTION_HTTPS = {
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}


# ------------------------------------------------------------------ finding inline script and style


class _InlineFinder(HTMLParser):
    """Collects what a strict CSP refuses: script bodies, <style> elements, on* handlers, style attributes and
    javascript: URLs. A <script type="application/json"> (data, never run) is allowed."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            elif name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:…>")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self._in = "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None

    def handle_data(self, data):
        if self._in == "script" and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]!r}")


def inline_code(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


def test_the_finder_finds_each_kind_of_inline_code():
    html = (
        '<div style="width:1px"></div><select onchange="go()"></select><style>p{}</style>'
        '<script>alert(1)</script><a href="javascript:x()">x</a>'
        '<script src="/static/js/relay.js"></script><script type="application/json">{"a":1}</script>'
        '<svg><g style="opacity: 0"></g></svg>'
    )

    assert len(inline_code(html)) == 6


# Django template syntax stands between the tags; the scan reads the raw files and catches attributes written
# with template code in them too.
_TEMPLATE_PATTERNS = {
    "style attribute": re.compile(r"""\sstyle\s*=\s*["']""", re.I),
    "event handler attribute": re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "inline <script>": re.compile(r"<script(?![^>]*\ssrc=)(?![^>]*application/json)[^>]*>", re.I),
    "javascript: URL": re.compile(r"""=\s*["']\s*javascript:""", re.I),
}


def test_no_project_template_has_inline_script_handlers_or_style():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for kind, pattern in _TEMPLATE_PATTERNS.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {kind}")

    assert not found, (
        "the CSP refuses these; move them to static/ (data attributes + relay.js, classes):\n" + "\n".join(found)
    )


def test_a_chart_has_no_inline_style_left_from_pygal():
    chart = charts.bar_chart(
        title="Orders",
        x_title="Day",
        y_title="Orders",
        labels=["a", "b"],
        series=[charts.Series("one", [1, 2]), charts.Series("two", [3, 0])],
        stacked=True,
    )
    line = charts.line_chart(
        title="Share", x_title="Day", y_title="%", labels=["a", "b"], series=[charts.Series("s", [1, None])]
    )
    hbar = charts.horizontal_bar(
        title="Top",
        x_title="Product",
        y_title="Units",
        labels=["a", "b"],
        series=[charts.Series("s", [2, 1], links=["/a", "/b"])],
    )

    for each in (chart, line, hbar):
        assert not each.empty
        assert inline_code(render_to_string("chart.html", {"chart": each})) == []


# ------------------------------------------------------------------ every page without parameters, rendered


def _paths(resolver: URLResolver, prefix: str = "") -> list[str]:
    paths = []
    for entry in resolver.url_patterns:
        route = str(entry.pattern)
        if "<" in route or route.startswith("^"):
            continue
        if isinstance(entry, URLResolver):
            paths.extend(_paths(entry, prefix + route))
        elif isinstance(entry, URLPattern):
            paths.append("/" + prefix + route)
    return paths


# Not pages: the API (JSON), webhooks (POST), leaving (changes the session), the language switch (POST).
_NOT_PAGES = ("/api/", "/webhooks/", "/logout/", "/i18n/")


def _tenant_pages() -> list[str]:
    return sorted({p for p in _paths(get_resolver("erp.urls")) if not p.startswith(_NOT_PAGES)})


def test_there_are_pages_to_scan():
    pages = _tenant_pages()
    assert {"/dashboard/", "/orders/", "/login/"} <= set(pages)
    assert len(pages) > 30


@pytest.mark.parametrize("role", ["owner", "supplier", None])
def test_every_page_a_role_opens_is_free_of_inline_code_and_carries_the_csp(
    role, tenant_a, make_user, make_supplier, client_for
):
    user = None
    if role == "supplier":
        user = make_user(tenant_a, "supplier", supplier=make_supplier(tenant_a))
    elif role:
        user = make_user(tenant_a, role)
    client = client_for(tenant_a, user)
    seen, problems = 0, []

    for path in _tenant_pages():
        response = client.get(path)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        seen += 1
        if "'unsafe-inline'" in response.get("Content-Security-Policy", "'unsafe-inline'"):
            problems.append(f"{path}: no CSP, or one with 'unsafe-inline'")
        problems.extend(f"{path}: {found}" for found in inline_code(response.content.decode()))

    assert seen >= (20 if role == "owner" else 3)
    assert not problems, "\n".join(problems)


def test_the_public_pages_are_free_of_inline_code(public_client):
    for path in ("/", "/signup/", "/admin/login/"):
        response = public_client.get(path)
        assert response.status_code == 200, path
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]
        assert inline_code(response.content.decode()) == [], path


# ------------------------------------------------------------------ the headers


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


def test_the_csp_is_strict_on_pages_errors_and_the_api(tenant_a, make_user, client_for, api_for):
    user = make_user(tenant_a, "owner")
    responses = [
        client_for(tenant_a, user).get("/dashboard/"),
        client_for(tenant_a).get("/login/"),
        client_for(tenant_a, user).get("/no-such-page/"),
        api_for(tenant_a, user).get("/api/v1/orders/"),
    ]

    for response in responses:
        header = response["Content-Security-Policy"]
        directives = _directives(header)
        assert "'unsafe-inline'" not in header
        assert "'unsafe-eval'" not in header
        assert directives["default-src"] == ["'self'"]
        assert directives["script-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]
        # forms post to Relay's own hosts only (sign-up leads from the public host to the tenant's)
        assert directives["form-action"] == ["'self'", "localhost:*", "*.localhost:*"]


def test_every_response_says_deny_framing_same_origin_referrer_nosniff_and_opener(tenant_a, client_for, public_client):
    for response in (client_for(tenant_a).get("/login/"), public_client.get("/")):
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@override_settings(**PRODUCTION_HTTPS)
def test_hsts_is_sent_over_https_in_production(tenant_a, client_for):
    response = client_for(tenant_a).get("/login/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@override_settings(**PRODUCTION_HTTPS)
def test_session_and_csrf_cookies_are_secure_httponly_and_lax_in_production(tenant_a, make_user, client_for):
    cache.clear()
    caches["platform"].clear()
    user = make_user(tenant_a, "operator")
    client = client_for(tenant_a)

    form = client.get("/login/", secure=True)
    login = client.post(
        "/login/", {"username": user.email, "password": PASSWORD}, secure=True, REMOTE_ADDR="192.0.2.41"
    )

    assert login.status_code == 302
    csrf, session = form.cookies[settings.CSRF_COOKIE_NAME], login.cookies[settings.SESSION_COOKIE_NAME]
    for cookie in (csrf, session):
        assert cookie["secure"] is True
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"


def _settings_in_production(**extra_env) -> dict:
    """Import the settings module in a fresh interpreter with a production environment (DEBUG off, fresh
    secrets, no test suite) and return the security settings it ends up with."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "erp.settings",
        "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + Fernet.generate_key().decode(),
        "RELAY_FERNET_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://relay@postgres.invalid:5432/relay",
        "REDIS_URL": "redis://redis.invalid:6379/0",
        "RELAY_BASE_DOMAIN": "relay.example",
        "ALLOWED_HOSTS": ".relay.example,relay.example",
        **extra_env,
    }
    names = [
        "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE", "X_FRAME_OPTIONS", "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY", "SECURE_CROSS_ORIGIN_OPENER_POLICY", "PASSWORD_HASHERS", "RELAY_OUTBOUND_ALLOW",
        "CONTENT_SECURITY_POLICY", "MIDDLEWARE",
    ]  # fmt: skip
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_with_debug_off_the_settings_default_to_https_secure_cookies_and_argon2():
    production = _settings_in_production()

    assert production["DEBUG"] is False
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["CSRF_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == production["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["SECURE_REFERRER_POLICY"] == "same-origin"
    assert production["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert production["PASSWORD_HASHERS"][0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert not any("MD5" in hasher for hasher in production["PASSWORD_HASHERS"])
    assert production["RELAY_OUTBOUND_ALLOW"] == []
    assert "csp.middleware.CSPMiddleware" in production["MIDDLEWARE"]
    policy = json.dumps(production["CONTENT_SECURITY_POLICY"])
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_an_explicit_switch_still_wins_over_the_production_default():
    production = _settings_in_production(SESSION_COOKIE_SECURE="0")

    assert production["SESSION_COOKIE_SECURE"] is False
    assert production["CSRF_COOKIE_SECURE"] is True


def test_the_api_docs_page_of_the_split_view_has_no_inline_code(tenant_a, make_user):
    # erp/urls.py serves /api/v1/docs/ with this view: its script is a same-origin ?script= URL, its style in
    # static/css/api-docs.css (templates/drf_spectacular/swagger_ui.html).
    request = RequestFactory().get("/api/v1/docs/", HTTP_HOST=tenant_a.get_primary_domain().domain)
    request.user = make_user(tenant_a, "owner")
    request.tenant = tenant_a

    page = SpectacularSwaggerSplitView.as_view(url_name="api:schema")(request)
    page.render()
    script = SpectacularSwaggerSplitView.as_view(url_name="api:schema")(
        RequestFactory().get("/api/v1/docs/?script=", HTTP_HOST=tenant_a.get_primary_domain().domain)
    )

    html = page.content.decode()
    assert inline_code(html) == []
    assert "?script=" in html
    assert "css/api-docs.css" in html
    assert script.status_code in (200, 401, 403)
