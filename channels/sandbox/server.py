"""The sandbox shop over HTTP, speaking the Shopify Admin REST API (any version in the path).

What a Shopify client relies on is reproduced: the X-Shopify-Access-Token
check and its 401, cursor pagination through the ``Link`` header with opaque
``page_info`` tokens (and the 400 when other filters come with one), the
X-Shopify-Shop-Api-Call-Limit leaky bucket (40 calls, 2 a second) and its 429,
fulfillment orders and fulfillments, Shopify Payments payouts and balance
transactions (``payments``). For a person, read-only HTML pages at the
paths of Shopify's admin (``/admin/orders``, ``/admin/orders/<id>``) show the
orders and the fulfillments Relay pushed, with their tracking (``pages``).
Standard library only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hmac
import json
import logging
import math
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from channels.sandbox import pages
from channels.sandbox.filters import DEFAULT_LIMIT, MAX_LIMIT, OrderFilter
from channels.sandbox.generator import SandboxShop, TickReport
from channels.sandbox.payments import Payments, payment_routes
from channels.sandbox.shop import SHOP_TIMEZONE, ShopError

logger = logging.getLogger(__name__)

INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
NOT_FOUND = "Not Found"
# Not a secret: the demo tenant's first store is set up with this token for `make run`.
SANDBOX_TOKEN = "sandbox-token"
BUCKET_SIZE = 40
LEAK_PER_SECOND = 2.0
RETRY_AFTER = "2.0"
MAX_BODY_BYTES = 1_000_000
# A fresh shop's first orders are spread over the days before it opened, so the demo has a history.
INITIAL_SPREAD_SECONDS = 3 * 24 * 3600.0

_ADMIN_PATH = re.compile(r"^/admin/api/(?P<version>[^/]+)/(?P<resource>.+)$")
_ORDER_LIST_PAGES = frozenset({"/", "/admin", "/admin/", "/admin/orders", "/admin/orders/"})
_ORDER_PAGE = re.compile(r"^/admin/orders/(?P<order_id>\d+)/?$")
_FILTER_PARAMS = frozenset(
    {
        "status",
        "updated_at_min",
        "updated_at_max",
        "created_at_min",
        "created_at_max",
        "since_id",
        "ids",
        "financial_status",
        "fulfillment_status",
    }
)
# With page_info Shopify takes nothing else but these: the filters live in the token.
_PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit", "fields"})
_CURSOR_KEYS = frozenset({"direction", "last_id", "last_value"})


class CallLimit:
    """Shopify's leaky bucket: each call adds one, it drains at ``leak_per_second``, a full bucket refuses.

    ``clock`` is injectable (seconds, monotonic) so tests can drain it without sleeping.
    """

    def __init__(
        self,
        *,
        size: int = BUCKET_SIZE,
        leak_per_second: float = LEAK_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.size = size
        self.leak_per_second = leak_per_second
        self._clock = clock
        self._level = 0.0
        self._last = clock()
        self._lock = threading.Lock()

    def _drain(self) -> None:
        now = self._clock()
        self._level = max(0.0, self._level - max(0.0, now - self._last) * self.leak_per_second)
        self._last = now

    def take(self) -> tuple[bool, int]:
        """Count one call if there is room. Returns (allowed, calls in the bucket now)."""
        with self._lock:
            self._drain()
            if self._level + 1 > self.size:
                return False, self.size
            self._level += 1
            return True, math.ceil(self._level)

    def used(self) -> int:
        with self._lock:
            self._drain()
            return math.ceil(self._level)


class SandboxServer(ThreadingHTTPServer):
    """The HTTP server; handlers reach the shop, the token and the call limit through it."""

    daemon_threads = True  # a stuck keep-alive connection must not hold up shutdown
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        shop: SandboxShop,
        *,
        access_token: str,
        call_limit: CallLimit,
        payments: Payments,
    ):
        super().__init__(address, _Handler)
        self.shop = shop
        self.payments = payments
        self.access_token = access_token
        self.call_limit = call_limit

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


def make_server(
    shop: SandboxShop,
    host: str = "127.0.0.1",
    port: int = 8765,
    access_token: str = SANDBOX_TOKEN,
    *,
    clock: Callable[[], float] | None = None,
    shop_clock: Callable[[], float] = time.time,
) -> SandboxServer:
    """A bound, not yet serving, server for ``shop`` (port 0 picks a free port; see ``base_url``).

    ``clock`` drives the call-limit bucket (default ``time.monotonic``); ``shop_clock`` is the shop's
    time (epoch seconds) for its payouts: which day is today, which disputes have happened.
    """
    if not access_token:
        raise ValueError("access_token must not be empty")
    call_limit = CallLimit(clock=clock) if clock is not None else CallLimit()
    payments = Payments(shop, clock=shop_clock)
    return SandboxServer((host, port), shop, access_token=access_token, call_limit=call_limit, payments=payments)


@contextlib.contextmanager
def serving(server: SandboxServer) -> Iterator[str]:
    """Serve ``server`` (made by make_server, e.g. on port 0) in a thread for the block; yields its base URL."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    state_path: str | None = None,
    rate_per_minute: float = 6.0,
    seed: int = 2026,
    access_token: str = SANDBOX_TOKEN,
    initial_orders: int = 50,
    tick_seconds: float = 5.0,
) -> None:
    """Run the sandbox shop until SIGTERM or Ctrl-C; blocks.

    A shop without orders (no state file yet) starts with ``initial_orders``
    spread over the last three days. A background thread ticks the shop every
    ``tick_seconds``. On the way out the state is saved and the port released.
    """
    _ensure_log_output()
    shop = SandboxShop(seed=seed, rate_per_minute=rate_per_minute, state_path=state_path)
    if len(shop) == 0 and initial_orders > 0:
        shop.generate(initial_orders, spread_seconds=INITIAL_SPREAD_SECONDS)
    server = make_server(shop, host, port, access_token)
    stop = threading.Event()
    ticker = threading.Thread(
        target=_tick_forever, args=(shop, stop, tick_seconds), name="sandbox-shop-ticker", daemon=True
    )
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handlers = _handle_stop_signals(_raise_stop) if in_main_thread else {}
    try:
        logger.info(
            "sandbox shop on %s: %d orders, %.1f new a minute, state %s",
            server.base_url,
            len(shop),
            rate_per_minute,
            state_path or "(memory only)",
        )
        ticker.start()
        server.serve_forever(poll_interval=0.5)
    except (KeyboardInterrupt, _Stop):
        logger.info("sandbox shop stopping")
    finally:
        if in_main_thread:
            # Process managers repeat the signal (honcho, `timeout` to the group): let the state be saved first.
            _handle_stop_signals(signal.SIG_IGN)
        stop.set()
        if ticker.is_alive():
            ticker.join(timeout=10)
        server.server_close()
        shop.save()
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)


def _handle_stop_signals(handler: Any) -> dict[int, Any]:
    """Install ``handler`` for SIGTERM and SIGINT; returns the handlers it replaced."""
    return {signum: signal.signal(signum, handler) for signum in (signal.SIGTERM, signal.SIGINT)}


class _Stop(Exception):
    """SIGTERM, turned into an exception so serve_forever unwinds in the main thread."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop


def _ensure_log_output() -> None:
    # Under manage.py Django's LOGGING has configured the root logger; run bare, say something anyway.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _tick_forever(shop: SandboxShop, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            report = shop.tick()
        except Exception:
            # One bad tick must not end the shop's life; the next one tries again.
            logger.exception("sandbox shop tick failed")
            continue
        if report:
            logger.info("sandbox shop tick: %s", _describe(report))


def _describe(report: TickReport) -> str:
    parts = []
    for label, ids in (
        ("new", report.created),
        ("cancelled", report.cancelled),
        ("refunded", report.refunded),
        ("address changed", report.readdressed),
        ("paid", report.paid),
    ):
        if ids:
            parts.append(f"{len(ids)} {label}")
    return ", ".join(parts)


# ---------------------------------------------------------------------- requests


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"  # keep-alive, as clients that page through orders expect
    server_version = "RelaySandboxShop/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are let go
    # Headers and body go out in two writes; with Nagle on, each keep-alive response waits ~40 ms for an ACK.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def log_error(self, format: str, *args: Any) -> None:
        message = format % args
        # An idle keep-alive connection let go after `timeout` is normal, not a problem.
        level = logging.DEBUG if "timed out" in message else logging.WARNING
        logger.log(level, "%s %s", self.address_string(), message)

    def _handle(self, method: str) -> None:
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        if method == "GET" and (html := self._page(url.path)) is not None:
            self._send_html(*html)
            return
        match = _ADMIN_PATH.match(url.path)
        if match is None:
            self._send(404, {"errors": NOT_FOUND})
            return
        token = self.headers.get("X-Shopify-Access-Token", "")
        if not hmac.compare_digest(token.encode(), self.server.access_token.encode()):
            self._send(401, {"errors": INVALID_TOKEN})
            return
        allowed, used = self.server.call_limit.take()
        if not allowed:
            self._send(429, {"errors": THROTTLED}, {"Retry-After": RETRY_AFTER}, used=used)
            return
        version = match["version"]
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            status, payload, headers = self._route(method, version, match["resource"], query, body)
        except ShopError as error:
            status, payload, headers = error.status, {"errors": error.errors}, {}
        except Exception:
            logger.exception("sandbox shop failed on %s %s", method, self.path)
            status, payload, headers = 500, {"errors": "Internal Server Error"}, {}
        headers["X-Shopify-API-Version"] = version
        self._send(status, payload, headers, used=used)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 413/400 for one we will not read."""
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            self._send(400, {"errors": "Invalid Content-Length"})
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would be taken for the next request
            self._send(413, {"errors": "Request body too large"})
            return None
        return self.rfile.read(length)

    def _page(self, path: str) -> tuple[int, str] | None:
        """(status, HTML) of a human-readable page at ``path``; None when the path is not one."""
        if path in _ORDER_LIST_PAGES:
            return 200, pages.order_list_page(self.server.shop.latest_orders(pages.LATEST))
        if path.rstrip("/") == "/admin/payments/payouts":
            return 200, pages.payout_list_page(self.server.payments.ledger().payouts[: pages.LATEST])
        match = _ORDER_PAGE.match(path)
        if match is None:
            return None
        order = self.server.shop.get_order(int(match["order_id"]))
        return (200, pages.order_page(order)) if order is not None else (404, pages.not_found_page())

    def _send_html(self, status: int, html: str) -> None:
        data = html.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        self.end_headers()
        self.wfile.write(data)

    def _send(
        self, status: int, payload: Any, headers: Mapping[str, str] | None = None, *, used: int | None = None
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        used = self.server.call_limit.used() if used is None else used
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Shopify-Shop-Api-Call-Limit", f"{used}/{self.server.call_limit.size}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    # -------------------------------------------------------------- routing

    def _route(
        self, method: str, version: str, resource: str, query: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        shop = self.server.shop
        routes: tuple[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]], ...] = (
            ("GET", r"shop\.json", lambda: (200, {"shop": shop.shop_resource(domain=self._host())}, {})),
            ("GET", r"orders\.json", lambda: self._orders(version, query)),
            ("GET", r"orders/count\.json", lambda: (200, {"count": shop.count(_order_filter(query))}, {})),
            ("GET", r"orders/(\d+)\.json", lambda order_id: self._order(int(order_id), query)),
            (
                "GET",
                r"orders/(\d+)/fulfillment_orders\.json",
                lambda order_id: _found("fulfillment_orders", shop.fulfillment_orders(int(order_id))),
            ),
            (
                "GET",
                r"orders/(\d+)/fulfillments\.json",
                lambda order_id: _found("fulfillments", shop.fulfillments(int(order_id))),
            ),
            ("POST", r"fulfillments\.json", lambda: (201, {"fulfillment": shop.create_fulfillment(_json(body))}, {})),
            *payment_routes(self.server.payments, query, api_base=f"http://{self._host()}/admin/api/{version}"),
        )
        path_known = False
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, resource)
            if match is None:
                continue
            path_known = True
            if route_method == method:
                return action(*match.groups())
        if path_known:
            return 405, {"errors": "Method Not Allowed"}, {}
        return 404, {"errors": NOT_FOUND}, {}

    def _host(self) -> str:
        host, port = self.server.server_address[:2]
        return self.headers.get("Host") or f"{host}:{port}"

    def _order(self, order_id: int, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        order = self.server.shop.get_order(order_id)
        if order is None:
            return 404, {"errors": NOT_FOUND}, {}
        return 200, {"order": _only_fields(order, query.get("fields"))}, {}

    def _orders(self, version: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        limit = _limit(query.get("limit"))
        after = before = None
        if "page_info" in query:
            extra = sorted(set(query) - _PAGE_INFO_COMPANIONS)
            if extra:
                raise ShopError(
                    400,
                    f"{extra[0]} cannot be passed when page_info is present. "
                    "See https://shopify.dev/api/usage/pagination-rest for more information.",
                )
            params, direction, cursor = _decode_page_info(query["page_info"])
            if direction == "next":
                after = cursor
            else:
                before = cursor
        else:
            params = {key: value for key, value in query.items() if key in _FILTER_PARAMS and value != ""}
            _check_sort(query.get("order"))
        page = self.server.shop.page_orders(_order_filter(params), limit=limit, after=after, before=before)
        headers: dict[str, str] = {}
        if page.orders:
            # Shopify's links repeat limit (and fields); the filters travel inside page_info.
            link_base = f"http://{self._host()}/admin/api/{version}/orders.json"
            kept = {"limit": str(limit)} | ({"fields": query["fields"]} if query.get("fields") else {})
            links = []
            if page.has_previous:
                token = _encode_page_info(params, "prev", page.orders[0])
                links.append(f'<{link_base}?{urlencode({**kept, "page_info": token})}>; rel="previous"')
            if page.has_next:
                token = _encode_page_info(params, "next", page.orders[-1])
                links.append(f'<{link_base}?{urlencode({**kept, "page_info": token})}>; rel="next"')
            if links:
                headers["Link"] = ", ".join(links)
        orders = [_only_fields(order, query.get("fields")) for order in page.orders]
        return 200, {"orders": orders}, headers


# ---------------------------------------------------------------------- parsing


def _found(key: str, value: Any) -> tuple[int, Any, dict[str, str]]:
    if value is None:
        return 404, {"errors": NOT_FOUND}, {}
    return 200, {key: value}, {}


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ShopError(400, {"fulfillment": "Required parameter missing or invalid"}) from None


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise ShopError(400, {"limit": "Invalid value."}) from None
    if limit < 1:
        raise ShopError(400, {"limit": "Invalid value."})
    return min(limit, MAX_LIMIT)


def _check_sort(order: str | None) -> None:
    # Answering in another order than asked would mislead a client silently; say so instead.
    if order and " ".join(order.lower().split()) != "updated_at asc":
        raise ShopError(400, {"order": f"The sandbox shop sorts orders by 'updated_at asc' only, not {order!r}."})


def _moment(text: str, name: str) -> dt.datetime:
    candidate = text.strip()
    if "T" in candidate and " " in candidate:
        # An unencoded '+' in the offset arrives as a space.
        head, _, tail = candidate.rpartition(" ")
        candidate = f"{head}+{tail}"
    try:
        moment = dt.datetime.fromisoformat(candidate)
    except ValueError:
        raise ShopError(400, {name: f"Invalid time {text!r}; use ISO 8601, e.g. 2026-01-31T09:00:00+08:00."}) from None
    # Shopify reads a time without an offset in the shop's time zone.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=SHOP_TIMEZONE)


def _order_filter(params: Mapping[str, str]) -> OrderFilter:
    """An OrderFilter from query parameters (Shopify's default status is "open"); ShopError 400 when invalid."""
    moments = {
        name: _moment(params[name], name)
        for name in ("updated_at_min", "updated_at_max", "created_at_min", "created_at_max")
        if params.get(name)
    }
    since_id = None
    if params.get("since_id"):
        if not params["since_id"].isdigit():
            raise ShopError(400, {"since_id": "Invalid value."})
        since_id = int(params["since_id"])
    ids = None
    if params.get("ids"):
        parts = [part.strip() for part in params["ids"].split(",") if part.strip()]
        if not all(part.isdigit() for part in parts):
            raise ShopError(400, {"ids": "Invalid value."})
        ids = tuple(int(part) for part in parts)
    try:
        return OrderFilter(
            status=params.get("status") or "open",
            financial_status=params.get("financial_status") or "any",
            fulfillment_status=params.get("fulfillment_status") or "any",
            since_id=since_id,
            ids=ids,
            **moments,
        )
    except ValueError as error:
        raise ShopError(400, str(error)) from None


def _only_fields(order: dict, fields: str | None) -> dict:
    if not fields:
        return order
    wanted = {name.strip() for name in fields.split(",") if name.strip()}
    return {key: value for key, value in order.items() if key in wanted}


def _encode_page_info(params: Mapping[str, str], direction: str, edge: Mapping[str, Any]) -> str:
    # Shopify's tokens are unpadded URL-safe base64 of JSON: the filters plus where the page ended.
    cursor = {**params, "direction": direction, "last_id": edge["id"], "last_value": edge["updated_at"]}
    raw = json.dumps(cursor, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_page_info(token: str) -> tuple[dict[str, str], str, tuple[dt.datetime, int]]:
    """(filters, direction, (updated_at, id)) from a page_info token; ShopError 400 when it is not ours."""
    invalid = ShopError(400, {"page_info": "Invalid value."})
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(cursor, dict) or not _CURSOR_KEYS <= set(cursor):
        raise invalid
    direction, last_id, last_value = cursor["direction"], cursor["last_id"], cursor["last_value"]
    params = {key: value for key, value in cursor.items() if key not in _CURSOR_KEYS}
    if (
        direction not in ("next", "prev")
        or isinstance(last_id, bool)
        or not isinstance(last_id, int)
        or not isinstance(last_value, str)
        or not set(params) <= _FILTER_PARAMS
        or not all(isinstance(value, str) for value in params.values())
    ):
        raise invalid
    try:
        last_moment = dt.datetime.fromisoformat(last_value)
    except ValueError:
        raise invalid from None
    if last_moment.tzinfo is None:
        raise invalid
    return params, direction, (last_moment, last_id)
