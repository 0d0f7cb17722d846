"""Secrets never leak: everything a run wrote is scanned for every store credential and webhook secret it made.

One scenario, committed for real so a real Celery worker (the session's) takes part: tenant A's operator
connects a Shopify store (page) and a WooCommerce store (API), each with distinctive random credentials and
webhook secret, rotates the Shopify token (page) and the Woo secret (API), walks the store pages, the edit
form, the lists and their CSV/XLSX exports, the API's list, detail and runs, tests the connections (page and
API), starts syncs (page and API) that the worker runs and that fail on purpose, and delivers webhooks
(signed, wrongly signed, for a store with another channel's secret). The channel on the other end is a local
server that answers every call with an error quoting back the credentials it was sent (a proxy or a channel
that echoes the request), the hardest case for the adapters' redaction.

Scanned: every response (status, headers, cookies, body; XLSX unzipped), every log record at the root as
production formats it (JSON, DEBUG and up), the worker's output, every row of every table in the tenant's
schema and public (sync runs, store events, deliveries, quarantine …), every Redis value of the test
database (Celery messages decoded) and every file written under var/ and MEDIA_ROOT meanwhile. Each secret
is searched raw, URL- and form-encoded, JSON-escaped, hex and base64 (standard and URL-safe, at any
alignment, so inside a Basic authorisation too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from channels.models import Store, SyncRun
from orders.models import Order
from tenants.accounts.services import token_create, user_create
from tenants.models import Tenant
from tests.channels.fake_shopify import shopify_order
from tests.conftest import PASSWORD, in_tenant, require_test_database
from tests.security.secrets_scan import (
    Corpus,
    database_rows,
    files_written_since,
    needles,
    recording_logs,
    redis_values,
    response_text,
)

SOURCES = ("responses", "logs", "worker", "database", "redis", "files")
VAR = Path(settings.BASE_DIR) / "var"
# The embedded servers' own data: the database is scanned as rows, Redis as values.
NOT_FILES = (VAR / "postgres", VAR / "redis")


def _made_up_secrets() -> dict[str, str]:
    """Distinctive credentials, with characters that URL-encoding, JSON and base64 each spell differently."""
    tag = secrets.token_hex(4)
    return {
        "shopify access_token": f"shpat_{secrets.token_hex(16)}",
        "shopify access_token (rotated)": f"shpat_{secrets.token_hex(16)}",
        "shopify webhook_secret": f"whsec+{tag}/{secrets.token_urlsafe(18)}=&",
        "woo consumer_key": f"ck_{secrets.token_hex(20)}",
        "woo consumer_secret": f"cs_{secrets.token_hex(20)}",
        "woo consumer_secret (rotated)": f"cs_{secrets.token_hex(20)}",
        "woo webhook_secret": f'wc"{tag}\\{secrets.token_urlsafe(18)}?#',
    }


class _EchoingChannel(BaseHTTPRequestHandler):
    """Answers every request with an error that quotes back how it was authenticated."""

    seen: list[dict] = []

    def do_GET(self):
        headers = {key: value for key, value in self.headers.items()}
        type(self).seen.append({"path": self.path, "headers": headers})
        woo = "/wp-json/" in self.path
        echo = f"denied {self.path} for {headers.get('Authorization', '')} {headers.get('X-Shopify-Access-Token', '')}"
        body = json.dumps({"message": echo} if woo else {"errors": echo}).encode()
        self.send_response(400 if woo else 401)  # Woo: a refusal in its own words; Shopify: refused credentials
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):  # quiet
        return


@pytest.fixture(scope="module")
def channel() -> Iterator[SimpleNamespace]:
    _EchoingChannel.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingChannel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", seen=_EchoingChannel.seen)
    finally:
        server.shutdown()
        server.server_close()


def _sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class _Browser:
    """A test client that keeps every response it got in the corpus."""

    def __init__(self, client: Client, corpus: Corpus):
        self.client, self.corpus = client, corpus

    def __call__(self, method: str, path: str, *, follow: bool = False, **kwargs):
        """One request; with ``follow``, each redirect is requested in turn and kept too (its Location as well)."""
        response = getattr(self.client, method)(path, **kwargs)
        self.corpus.add("responses", f"{method.upper()} {path}", response_text(response))
        hops = 0
        while follow and response.status_code in (301, 302, 303) and hops < 5:
            hops += 1
            location = response["Location"]
            response = self.client.get(location)
            self.corpus.add("responses", f"GET {location} (after {method.upper()} {path})", response_text(response))
        return response


@pytest.fixture(scope="module")
def scenario(django_db_setup, django_db_blocker, celery_worker, channel) -> Iterator[SimpleNamespace]:
    made_up = _made_up_secrets()
    corpus = Corpus()
    started = time.time()
    worker_offset = len(celery_worker.log_text())
    with django_db_blocker.unblock(), recording_logs() as logs:
        require_test_database()
        tenant = Tenant.objects.get(slug="alpha")
        host = tenant.get_primary_domain().domain
        suffix = uuid.uuid4().hex[:8]
        with in_tenant(tenant):
            operator = user_create(email=f"secrets-{suffix}@alpha.test", password=PASSWORD, role="operator")
            key = token_create(user=operator)
        page = Client(HTTP_HOST=host)
        with in_tenant(tenant):
            page.force_login(operator)
        browse = _Browser(page, corpus)
        api = _Browser(Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Token {key}"), corpus)
        stores: list[Store] = []
        try:
            # connect: Shopify through the page, WooCommerce through the API
            browse(
                "post", "/stores/connect/shopify/", follow=True,
                data={"name": f"Echo Shopify {suffix}", "base_url": channel.url, "sync_interval_minutes": 60,
                      "access_token": made_up["shopify access_token"],
                      "webhook_secret": made_up["shopify webhook_secret"]},
            )  # fmt: skip
            created = api(
                "post", "/api/v1/stores/", content_type="application/json",
                data={"name": f"Echo Woo {suffix}", "channel": "woocommerce", "base_url": channel.url,
                      "sync_interval_minutes": 60,
                      "credentials": {"consumer_key": made_up["woo consumer_key"],
                                      "consumer_secret": made_up["woo consumer_secret"],
                                      "webhook_secret": made_up["woo webhook_secret"]}},
            )  # fmt: skip
            with in_tenant(tenant):
                shopify = Store.objects.get(name=f"Echo Shopify {suffix}")
                woo = Store.objects.get(pk=created.json()["id"])
            stores += [shopify, woo]

            # rotate: the Shopify token on the edit page, the Woo secret through the API
            browse("get", f"/stores/{shopify.pk}/edit/")
            browse(
                "post", f"/stores/{shopify.pk}/edit/", follow=True,
                data={"name": shopify.name, "base_url": channel.url, "sync_interval_minutes": 60,
                      "access_token": made_up["shopify access_token (rotated)"]},
            )  # fmt: skip
            api(
                "patch", f"/api/v1/stores/{woo.pk}/", content_type="application/json",
                data={"credentials": {"consumer_key": made_up["woo consumer_key"],
                                      "consumer_secret": made_up["woo consumer_secret (rotated)"]}},
            )  # fmt: skip

            # syncs the worker runs, and that fail: Shopify through the API, Woo through the page
            api("post", f"/api/v1/stores/{shopify.pk}/sync/")
            browse("post", f"/stores/{woo.pk}/sync/", follow=True)

            def finished():
                with in_tenant(tenant):
                    return SyncRun.objects.filter(store__in=stores).exclude(status=SyncRun.Status.RUNNING).count() == 2

            celery_worker.wait_for(finished, timeout=60)

            # connection tests: page and API, for both
            for store in stores:
                browse("post", f"/stores/{store.pk}/test/", follow=True)
                api("post", f"/api/v1/stores/{store.pk}/test/")

            # webhooks: a good one, a wrongly signed one, one signed with the other store's secret
            order = json.dumps(shopify_order(880_001, updated_at=timezone.now())).encode()
            shopify_headers = {"HTTP_X_SHOPIFY_TOPIC": "orders/create", "HTTP_X_SHOPIFY_EVENT_ID": f"sec-{suffix}"}
            hook = Client(HTTP_HOST=host)
            for signature in (_sign(order, made_up["shopify webhook_secret"]), "forged", _sign(order, "x")):
                response = hook.post(
                    f"/webhooks/{shopify.webhook_token}/", data=order, content_type="application/json",
                    HTTP_X_SHOPIFY_HMAC_SHA256=signature, **shopify_headers,
                )  # fmt: skip
                corpus.add("responses", f"POST webhook shopify ({signature[:6]})", response_text(response))
            response = hook.post(
                f"/webhooks/{woo.webhook_token}/", data=order, content_type="application/json",
                HTTP_X_WC_WEBHOOK_SIGNATURE=_sign(order, made_up["shopify webhook_secret"]),
                HTTP_X_WC_WEBHOOK_TOPIC="order.created", HTTP_X_WC_WEBHOOK_DELIVERY_ID=f"sec-{suffix}",
            )  # fmt: skip
            corpus.add("responses", "POST webhook woo (other store's secret)", response_text(response))

            # every page and answer that shows a store, its runs, its events, its lists
            for path in ("/stores/", f"/stores/?q={suffix}", "/stores/pushes/", "/stores/?export=csv",
                         "/stores/?export=xlsx"):  # fmt: skip
                browse("get", path)
            for store in stores:
                for path in ("/", "/edit/", "/sync/status/", "/?export=csv", "/?export=xlsx",
                             "/?export=csv&list=quarantine"):  # fmt: skip
                    browse("get", f"/stores/{store.pk}{path}")
                for path in ("/", "/runs/"):
                    api("get", f"/api/v1/stores/{store.pk}{path}")
            api("get", "/api/v1/stores/")

            with in_tenant(tenant):
                runs = {s.channel: SyncRun.objects.filter(store=s).values("status", "message").first() for s in stores}
                stored = {s.channel: Store.objects.get(pk=s.pk).status for s in stores}
                webhook_order = Order.objects.filter(store=shopify, external_id="880001").exists()
                for label, text in database_rows():
                    corpus.add("database", f"{tenant.schema_name} {label}", text)
            for where, value in redis_values(settings.REDIS_URL):
                corpus.add("redis", where, value)
        finally:
            with in_tenant(tenant):
                for store in stores:
                    Order.objects.filter(store=store).delete()
                    store.delete()
                operator.delete()
    for line in logs.lines:
        corpus.add("logs", "root logger", line)
    corpus.add("worker", "worker output", celery_worker.log_text()[worker_offset:])
    for path in files_written_since([VAR, Path(settings.MEDIA_ROOT)], started, skip=NOT_FILES):
        corpus.add("files", str(path), path.read_bytes())
    yield SimpleNamespace(
        corpus=corpus, secrets=made_up, seen=list(channel.seen), runs=runs, statuses=stored,
        webhook_order=webhook_order,
    )  # fmt: skip


def test_the_scanner_finds_every_shape_of_a_secret(db):  # db: the suite's test database exists from here on
    secret = "cs_" + secrets.token_hex(20) + "+/=&"
    corpus = Corpus()
    basic = base64.b64encode(f"ck_user:{secret}".encode()).decode()
    message = base64.b64encode(json.dumps([[1], {"token": secret}]).encode()).decode()
    corpus.add("t", "basic", f"Authorization: Basic {basic}")
    corpus.add("t", "query", f"/x?secret={needles(secret)['form-encoded']}")
    corpus.add("t", "celery", json.dumps({"body": message}))
    corpus.add("t", "json", json.dumps({"a": secret}))
    corpus.add("t", "clean", "nothing here but [redacted]")

    found = {leak.where for leak in corpus.scan("t", {"s": secret})}

    assert found == {"basic", "query", "celery", "json"}


def test_the_scenario_put_every_secret_in_play(scenario):
    # the channel was called with the credentials the pages and API took in, rotated ones included
    sent = json.dumps(scenario.seen)
    basic = base64.b64encode(
        f"{scenario.secrets['woo consumer_key']}:{scenario.secrets['woo consumer_secret (rotated)']}".encode()
    ).decode()
    assert scenario.secrets["shopify access_token (rotated)"] in sent
    assert basic in sent
    # both syncs ran on the worker and failed; the refused Shopify token marked its store
    assert scenario.runs["shopify"]["status"] == "failed", scenario.runs
    assert scenario.runs["woocommerce"]["status"] == "failed", scenario.runs
    assert scenario.statuses["shopify"] == Store.Status.NEEDS_REAUTH
    # the webhook signed with the store's secret was taken in
    assert scenario.webhook_order
    # and there was something to scan in every source
    for source in ("responses", "logs", "worker", "database", "redis"):
        assert scenario.corpus.count(source) > 0, source


@pytest.mark.parametrize("source", SOURCES)
def test_no_secret_shows_anywhere_the_run_wrote(scenario, source):
    leaks = scenario.corpus.scan(source, scenario.secrets)

    assert not leaks, "\n".join(str(leak) for leak in leaks[:20])
