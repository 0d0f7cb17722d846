"""Outbound requests are safe: no store address, redirect or DNS answer makes Relay reach the platform's network.

The allow-list (settings.RELAY_OUTBOUND_ALLOW) is emptied, as in production, for every test that expects a
refusal; a loopback "canary" listener then proves that a refused connection was never even opened.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from channels.adapters.base import ChannelAddressRefused, ChannelError
from channels.adapters.shopify import ShopifyAdapter
from channels.models import Store, SyncRun
from channels.services import store_create, store_sync, store_test_connection
from core.outbound import OutboundRefused, address_refusal, outbound_client, url_refusal
from tests.conftest import in_tenant

TOKEN = "shpat_ssrf_test_token_4321"
REFUSED = "Relay does not connect to it"

# ------------------------------------------------------------------ local servers


class Canary:
    """A TCP listener on 127.0.0.1 that counts the connections made to it (a refused one must make none)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def connections(self) -> int:
        # The kernel completes a handshake without accept(): whatever connected waits in the backlog.
        count = 0
        while True:
            try:
                conn, _peer = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1

    def close(self) -> None:
        self.sock.close()


class LocalShop:
    """An HTTP server on 127.0.0.1 answering like a Shopify shop, or redirecting where it is told to."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.redirect_to = ""
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                shop.hosts.append(self.headers.get("Host", ""))
                if shop.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", shop.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"shop": {"name": "Local shop"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


@pytest.fixture
def local_shop() -> Iterator[LocalShop]:
    server = LocalShop()
    yield server
    server.close()


@pytest.fixture
def production_allow_list(settings):
    """Outbound calls as production makes them: nothing private is allowed."""
    settings.RELAY_OUTBOUND_ALLOW = []


def fake_dns(monkeypatch, answers: dict[str, list[list[str]]]) -> list[str]:
    """Make socket.getaddrinfo answer ``answers[host]``: the first list on the first lookup, the next on the next
    (the last one repeats). Other hosts (address literals among them) resolve as usual. Returns the hosts looked up."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real(host, port, *args, **kwargs)
        looked_up.append(name)
        turn = min(looked_up.count(name), len(answers[name])) - 1
        result = []
        for text in answers[name][turn]:
            address = ipaddress.ip_address(text)
            if address.version == 4:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (text, port)))
            else:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (text, port, 0, 0)))
        return result

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


# ------------------------------------------------------------------ which addresses are refused


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.100.100.200", "shared"),
        ("240.0.0.1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "metadata"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("::127.0.0.1", "loopback"),  # the old IPv4-compatible form
    ],
)
def test_forbidden_addresses_are_named_for_what_they_are(address, kind):
    assert address_refusal(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


# ------------------------------------------------------------------ at connect time


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1 is a loopback address"),
        ("http://localhost:{port}/", "localhost resolves to 127.0.0.1"),
        ("http://[::ffff:127.0.0.1]:{port}/", "::ffff:127.0.0.1 is a loopback address"),
        ("http://2130706433:{port}/", "2130706433 resolves to 127.0.0.1"),  # decimal
        ("http://017700000001:{port}/", "017700000001 resolves to 127.0.0.1"),  # octal
        ("http://0x7f.1:{port}/", "0x7f.1 resolves to 127.0.0.1"),  # hexadecimal, short form
    ],
)
def test_loopback_in_any_spelling_is_refused_before_a_connection_is_opened(production_allow_list, canary, url, shown):
    # given the canary listening on loopback and an empty allow-list
    with outbound_client() as client, pytest.raises(OutboundRefused) as refused:
        # when Relay is asked to call it, however the address is written
        client.get(url.format(port=canary.port))

    # then it refuses with a sentence a person can read, and nothing reached the listener
    assert shown in str(refused.value)
    assert REFUSED in str(refused.value)
    assert refused.value.reason == "loopback"
    assert canary.connections() == 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1]:6379/", "loopback"),
        ("http://10.0.0.7:6379/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fe80::1]/", "link-local"),
        ("http://100.64.0.1/", "shared"),
        ("http://0.0.0.0:5432/", "unspecified"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ],
)
def test_private_link_local_and_metadata_addresses_are_refused(production_allow_list, monkeypatch, url, reason):
    # given no connection may be opened at all
    def no_connection(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "create_connection", no_connection)

    with outbound_client() as client, pytest.raises(OutboundRefused) as refused:
        client.get(url)

    assert refused.value.reason == reason
    assert REFUSED in str(refused.value)


def test_the_refusal_is_a_transport_error_so_generic_handlers_still_catch_it(production_allow_list):
    with outbound_client() as client, pytest.raises(httpx.TransportError):
        client.get("http://10.0.0.1/")


def test_a_refusal_is_logged_with_host_and_reason_but_not_the_path_or_query(production_allow_list, caplog):
    with caplog.at_level(logging.WARNING), outbound_client() as client, pytest.raises(OutboundRefused):
        client.get("http://169.254.169.254/latest/meta-data/iam?token=secret-in-query")

    record = next(r for r in caplog.records if r.getMessage() == "outbound connection refused")
    assert (record.host, record.address, record.reason) == ("169.254.169.254", "169.254.169.254", "metadata")
    assert "secret-in-query" not in caplog.text
    assert "meta-data" not in caplog.text


def test_dns_rebinding_is_refused_on_the_address_actually_connected_to(production_allow_list, monkeypatch, canary):
    # given a name that answers a public address first, then loopback (a rebinding attack)
    looked_up = fake_dns(monkeypatch, {"shop.rebind.test": [["93.184.216.34"], ["127.0.0.1"]]})
    url = f"http://shop.rebind.test:{canary.port}/"

    # when the address is saved it looks public
    assert url_refusal(url) is None

    # then the call, which looks the name up again, refuses the loopback answer it would have connected to
    with outbound_client() as client, pytest.raises(OutboundRefused) as refused:
        client.get(url)
    assert "shop.rebind.test resolves to 127.0.0.1, a loopback address" in str(refused.value)
    assert looked_up == ["shop.rebind.test", "shop.rebind.test"]
    assert canary.connections() == 0


def test_a_name_with_one_private_answer_among_public_ones_is_refused(production_allow_list, monkeypatch, canary):
    fake_dns(monkeypatch, {"mixed.test": [["93.184.216.34", "10.0.0.3"]]})

    assert "10.0.0.3" in url_refusal("https://mixed.test/")
    with outbound_client() as client, pytest.raises(OutboundRefused):
        client.get("http://mixed.test/")


def test_the_name_is_looked_up_once_per_connection_and_the_checked_address_is_the_one_used(
    settings, monkeypatch, local_shop
):
    # given a name that resolves to the (allow-listed) local shop, then to somewhere else
    settings.RELAY_OUTBOUND_ALLOW = ["127.0.0.1"]
    looked_up = fake_dns(monkeypatch, {"shop.pinned.test": [["127.0.0.1"], ["10.9.9.9"]]})

    # when it is called
    with outbound_client() as client:
        response = client.get(f"http://shop.pinned.test:{local_shop.port}/admin/api/shop.json")

    # then one lookup decided both the check and the connection, and the shop still saw its own name
    assert response.status_code == 200
    assert looked_up == ["shop.pinned.test"]
    assert local_shop.hosts == [f"shop.pinned.test:{local_shop.port}"]


# ------------------------------------------------------------------ the allow-list


def test_with_the_development_allow_list_the_local_shop_is_reached(settings, local_shop):
    settings.RELAY_OUTBOUND_ALLOW = ["127.0.0.1", "::1", "localhost"]

    with outbound_client() as client:
        by_address = client.get(f"{local_shop.url}/")
        by_name = client.get(f"http://localhost:{local_shop.port}/")

    assert by_address.status_code == by_name.status_code == 200


def test_a_network_on_the_allow_list_allows_its_addresses(settings, local_shop):
    settings.RELAY_OUTBOUND_ALLOW = ["127.0.0.0/8"]

    with outbound_client() as client:
        assert client.get(f"{local_shop.url}/").status_code == 200
        with pytest.raises(OutboundRefused):
            client.get("http://10.0.0.1/")


def test_environment_proxies_are_ignored(settings, monkeypatch, local_shop):
    # given a proxy in the environment that would connect for us, unchecked
    settings.RELAY_OUTBOUND_ALLOW = ["127.0.0.1"]
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.1:3128")
    monkeypatch.setenv("ALL_PROXY", "http://10.0.0.1:3128")

    with outbound_client() as client:
        assert client.get(f"{local_shop.url}/").status_code == 200


def test_a_transport_or_proxy_cannot_be_slipped_in():
    with pytest.raises(TypeError):
        outbound_client(proxy="http://10.0.0.1:3128")
    with pytest.raises(TypeError):
        outbound_client(transport=httpx.HTTPTransport())


# ------------------------------------------------------------------ redirects


def test_a_redirect_from_an_allowed_server_to_a_forbidden_address_is_not_followed(settings, local_shop):
    # given the allowed local shop redirecting to the metadata service
    settings.RELAY_OUTBOUND_ALLOW = ["127.0.0.1"]
    local_shop.redirect_to = "http://169.254.169.254/latest/meta-data/"

    # when Relay calls the shop, the redirect is handed back, not followed
    with outbound_client() as client:
        response = client.get(f"{local_shop.url}/")
    assert response.status_code == 302

    # and a caller that asks to follow redirects has every hop checked
    with outbound_client(follow_redirects=True) as client, pytest.raises(OutboundRefused) as refused:
        client.get(f"{local_shop.url}/")
    assert refused.value.address == "169.254.169.254"


def test_an_adapter_reports_the_redirect_and_does_not_follow_it(settings, local_shop, canary):
    settings.RELAY_OUTBOUND_ALLOW = ["127.0.0.1/32"]
    local_shop.redirect_to = f"http://localhost:{canary.port}/admin/api/shop.json"
    adapter = ShopifyAdapter(base_url=local_shop.url, credentials={"access_token": TOKEN}, max_attempts=1)

    with pytest.raises(ChannelError) as refused:
        adapter.test_connection()
    adapter.close()

    assert "redirected" in str(refused.value)
    assert canary.connections() == 0


def test_an_adapter_does_not_retry_a_refused_address(production_allow_list, canary):
    slept: list[float] = []
    adapter = ShopifyAdapter(
        base_url=f"http://127.0.0.1:{canary.port}", credentials={"access_token": TOKEN}, sleep=slept.append
    )

    with pytest.raises(ChannelAddressRefused) as refused:
        adapter.test_connection()
    adapter.close()

    assert slept == []
    assert TOKEN not in str(refused.value)
    assert canary.connections() == 0


# ------------------------------------------------------------------ saving a store's address


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("http://127.0.0.1:6379", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("http://[::1]:5432", "::1 is a loopback address"),
        ("https://owner:hunter2@shop.example", "must not contain a user name or password"),
    ],
)
def test_the_store_form_refuses_an_address_relay_will_not_call(
    production_allow_list, console, tenant_a, base_url, shown
):
    response = console.post(
        "/stores/connect/shopify/",
        {"name": "Probe", "base_url": base_url, "sync_interval_minutes": 5, "access_token": TOKEN},
    )

    assert response.status_code == 200
    assert shown in response.content.decode()
    with in_tenant(tenant_a):
        assert not Store.objects.filter(name="Probe").exists()


def test_the_store_form_refuses_a_name_that_resolves_to_loopback(production_allow_list, console, tenant_a):
    response = console.post(
        "/stores/connect/shopify/",
        {"name": "Probe", "base_url": "http://localhost:6379", "sync_interval_minutes": 5, "access_token": TOKEN},
    )

    assert response.status_code == 200
    assert "localhost resolves to 127.0.0.1, a loopback address" in response.content.decode()
    with in_tenant(tenant_a):
        assert not Store.objects.filter(name="Probe").exists()


@pytest.mark.parametrize(
    "base_url",
    ["http://10.0.0.5", "http://localhost:6379", "ftp://shop.example", "http://metadata.google.internal"],
)
def test_the_api_refuses_such_an_address_with_a_field_error(production_allow_list, api, tenant_a, base_url):
    response = api.post(
        "/api/v1/stores/",
        {"name": "Probe", "channel": "shopify", "base_url": base_url, "credentials": {"access_token": TOKEN}},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["base_url"]
    with in_tenant(tenant_a):
        assert not Store.objects.filter(name="Probe").exists()


def test_changing_a_stores_address_to_a_private_one_is_refused_and_changes_nothing(
    production_allow_list, api, tenant_a
):
    with in_tenant(tenant_a):
        store = store_create(
            name="Real", channel="shopify", base_url="https://real.myshopify.com", credentials={"access_token": TOKEN}
        )

    response = api.patch(
        f"/api/v1/stores/{store.pk}/", {"base_url": "http://192.168.1.1"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "192.168.1.1 is a private address" in response.json()["base_url"][0]
    with in_tenant(tenant_a):
        store.refresh_from_db()
        assert store.base_url == "https://real.myshopify.com"


def test_the_development_allow_list_lets_the_sandbox_shop_be_saved(settings, in_a):
    settings.RELAY_OUTBOUND_ALLOW = ["127.0.0.1", "::1", "localhost"]

    store = store_create(
        name="Sandbox", channel="sandbox", base_url="http://127.0.0.1:8765", credentials={"access_token": TOKEN}
    )

    assert store.base_url == "http://127.0.0.1:8765"


# ------------------------------------------------------------------ a store saved before, tested now


@pytest.fixture
def loopback_store(in_a, canary) -> Store:
    """A store pointing at the canary, saved while loopback was allowed (as an old row would be)."""
    return store_create(
        name="Old row", channel="shopify", base_url=f"http://127.0.0.1:{canary.port}",
        credentials={"access_token": TOKEN},
    )  # fmt: skip


def test_test_connection_on_a_loopback_store_says_why_and_never_reaches_it(
    loopback_store, production_allow_list, canary, caplog
):
    with caplog.at_level(logging.WARNING):
        ok, message = store_test_connection(store=loopback_store)

    assert not ok
    assert message == "127.0.0.1 is a loopback address; Relay does not connect to it."
    assert canary.connections() == 0
    loopback_store.refresh_from_db()
    assert loopback_store.status == Store.Status.ACTIVE  # not mistaken for refused credentials
    record = next(r for r in caplog.records if r.getMessage() == "store address refused")
    assert (record.store, record.host, record.reason) == (loopback_store.pk, "127.0.0.1", "loopback")
    assert TOKEN not in caplog.text


def test_the_test_connection_page_and_api_show_the_refusal(loopback_store, production_allow_list, console, api, canary):
    page = console.post(f"/stores/{loopback_store.pk}/test/", follow=True)
    answer = api.post(f"/api/v1/stores/{loopback_store.pk}/test/")

    assert "127.0.0.1 is a loopback address" in page.content.decode()
    assert answer.status_code == 200
    assert answer.json() == {"ok": False, "message": "127.0.0.1 is a loopback address; Relay does not connect to it."}
    assert canary.connections() == 0


def test_a_sync_of_a_loopback_store_fails_with_the_reason_and_reaches_nothing(
    loopback_store, production_allow_list, canary
):
    with pytest.raises(ChannelAddressRefused):
        store_sync(store_id=loopback_store.pk, kind=SyncRun.Kind.MANUAL)

    run = SyncRun.objects.get(store=loopback_store)
    assert run.status == SyncRun.Status.FAILED
    assert REFUSED in run.message
    assert canary.connections() == 0


def test_clients_share_one_verifying_tls_context_and_a_custom_one_stays_its_own(tmp_path):
    # A webhook makes its adapter (and client) per request: building the TLS context each time cost ~100 ms.
    first, second = outbound_client(), outbound_client()
    unverified = outbound_client(verify=False)
    try:
        context = first._transport._pool._ssl_context
        assert context is second._transport._pool._ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert unverified._transport._pool._ssl_context is not context
        assert unverified._transport._pool._ssl_context.verify_mode == ssl.CERT_NONE
    finally:
        for client in (first, second, unverified):
            client.close()
