"""Helpers for the fulfillment push tests: shipped dispatches made by the real services, channel doubles.

- ``routed_order`` / ``ship``: an order routed to a supplier, and shipped in parcels, as the supplier
  and the worker do it (suppliers.shipping.dispatch_ship, then orders.lifecycle.dispatch_changed).
- ``FakeWoo``: a WooCommerce store (orders, notes, the Shipment Tracking extension when installed),
  served through httpx.MockTransport.
- ``serving``: any httpx-style handler (request -> response) served over real HTTP on a free local port,
  for the code paths that build their own HTTP client (the Celery task).
- ``shopify_fulfillment_orders``: the fulfillment orders Shopify would show for a Relay order's lines.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx

from orders.lifecycle import dispatch_changed
from orders.models import Order
from orders.routing.services import route_orders
from suppliers.models import Dispatch, DispatchLine, Supplier
from suppliers.shipping import ParcelSpec, dispatch_ship
from tests.orders.routing_factories import add_source, make_order, make_product, map_listing

_numbers = itertools.count(1)


def sf_number() -> str:
    """A fresh SF Express waybill number (SF and 13 digits): numbers are used once in a tenant."""
    return f"SF{next(_numbers):013d}"


def stocked(supplier: Supplier, *skus: str) -> None:
    """Products sold under these listing SKUs, each sourced at ``supplier`` with stock."""
    for sku in skus:
        product = make_product(sku)
        map_listing(sku, (product, 1))
        add_source(product, supplier, stock=100)


def routed_order(store, *lines: tuple[str, int], external_id: str | None = None) -> Order:
    """An order of the store with these (listing SKU, quantity) lines, routed (products must be stocked)."""
    order = make_order(store, *lines, external_id=external_id)
    route_orders(order_ids=[order.pk], trigger="ingest")
    return order


def dispatch_of(order: Order, supplier: Supplier | None = None) -> Dispatch:
    dispatches = Dispatch.objects.filter(lines__order=order).distinct()
    if supplier is not None:
        dispatches = dispatches.filter(supplier=supplier)
    return dispatches.get()


def line_of(dispatch: Dispatch, listing_sku: str) -> DispatchLine:
    return DispatchLine.objects.get(dispatch=dispatch, listing_sku=listing_sku, is_gift=False)


def ship(dispatch: Dispatch, *parcels: ParcelSpec) -> Dispatch:
    """The supplier ships in ``parcels`` (default: one SF parcel with everything); the lifecycle follows."""
    shipped = dispatch_ship(dispatch=dispatch, parcels=list(parcels) or [ParcelSpec("sf", sf_number())])
    dispatch_changed(dispatch_id=dispatch.pk)
    return shipped


# ------------------------------------------------------------------ Shopify


def shopify_fulfillment_orders(order: Order, *, status: str = "open", fo_id: int = 9001) -> dict:
    """Shopify's answer to fulfillment_orders.json: one fulfillment order holding every line, nothing fulfilled."""
    return {
        "fulfillment_orders": [
            {
                "id": fo_id, "order_id": order.external_id, "status": status, "assigned_location_id": 42,
                "supported_actions": ["create_fulfillment"] if status in ("open", "in_progress") else [],
                "line_items": [
                    {"id": 7000 + line.position, "line_item_id": line.external_id, "quantity": line.quantity,
                     "fulfillable_quantity": line.quantity if status in ("open", "in_progress") else 0}
                    for line in order.lines.order_by("position")
                ],
            }
        ]
    }  # fmt: skip


def answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={} if body is None else body, headers=headers)


# ------------------------------------------------------------------ WooCommerce


class FakeWoo:
    """A WooCommerce store's REST API for one order's fulfilment: notes, status, Shipment Tracking if installed.

    ``fail`` holds (status, headers) answers given, one each, to the next requests.
    """

    def __init__(self, *, shipment_tracking: bool, orders: set[str] | None = None):
        self.shipment_tracking = shipment_tracking
        self.orders = orders  # the order ids it has (None: any)
        self.trackings: dict[str, list[dict]] = {}
        self.notes: dict[str, list[dict]] = {}
        self.statuses: dict[str, str] = {}
        self.requests: list[httpx.Request] = []
        self.fail: list[tuple[int, dict]] = []
        self._ids = itertools.count(500)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def calls(self) -> list[tuple[str, str]]:
        return [(request.method, request.url.path) for request in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail:
            status, headers = self.fail.pop(0)
            return httpx.Response(status, headers=headers, json={"code": "error", "message": "injected"})
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if path.startswith("/wp-json/wc-shipment-tracking/v3/orders/"):
            if not self.shipment_tracking:
                return httpx.Response(
                    404, json={"code": "rest_no_route", "message": "No route was found matching the URL and request method."}
                )  # fmt: skip
            order_id = path.split("/")[5]
            items = self.trackings.setdefault(order_id, [])
            if request.method == "POST":
                item = {"tracking_id": f"t{next(self._ids)}", **body}
                items.append(item)
                return httpx.Response(201, json=item)
            return httpx.Response(200, json=items)
        parts = path.removeprefix("/wp-json/wc/v3/").split("/")
        order_id = parts[1]
        if self.orders is not None and order_id not in self.orders:
            return httpx.Response(
                404, json={"code": "woocommerce_rest_shop_order_invalid_id", "message": "Invalid ID."}
            )
        if parts[-1] == "notes":
            notes = self.notes.setdefault(order_id, [])
            if request.method == "POST":
                note = {"id": next(self._ids), "note": body["note"], "customer_note": body["customer_note"]}
                notes.append(note)
                return httpx.Response(201, json=note)
            wanted = parse_qs(urlsplit(str(request.url)).query).get("type", ["any"])[0]
            return httpx.Response(200, json=[n for n in notes if wanted == "any" or n["customer_note"]])
        if request.method == "PUT":
            self.statuses[order_id] = body["status"]
            return httpx.Response(200, json={"id": int(order_id) if order_id.isdigit() else order_id, **body})
        return httpx.Response(404, json={"code": "rest_no_route", "message": "No route was found."})


# ------------------------------------------------------------------ real HTTP


@contextlib.contextmanager
def serving(handler: Callable[[httpx.Request], httpx.Response]) -> Iterator[str]:
    """``handler`` answering real HTTP requests on a free local port; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            host, port = self.server.server_address[:2]
            request = httpx.Request(
                self.command, f"http://{host}:{port}{self.path}", headers=dict(self.headers.items()),
                content=self.rfile.read(length) if length else b"",
            )  # fmt: skip
            response = handler(request)
            data = response.read()
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _any

        def log_message(self, format, *args) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
