"""Shopify, through the Admin REST API at a pinned version.

Amounts are read in the shop's currency (``shop_money`` and the top-level
price fields), never the buyer's presentment currency, so one store's orders
are all in one currency. The local sandbox shop speaks the same dialect.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from channels.adapters.base import (
    Adapter,
    ChannelAuthError,
    ChannelError,
    NothingToFulfil,
    WebhookDelivery,
    body_fingerprint,
    header,
    webhook_json,
)
from channels.adapters.payloads import RawPayload, payload_document
from channels.adapters.reading import (
    check_lines,
    currency_code,
    external_id,
    log_if_inconsistent,
    parse_money,
    parse_optional_money,
    parse_optional_time,
    parse_quantity,
    parse_time,
    person_name,
    text,
)
from channels.adapters.shopify_payouts import payout_head, payout_row
from channels.adapters.shopify_raw import ShopifyObject, decode_order, split_page
from channels.payouts import ChannelPayout, PayoutRow
from orders.canonical import Address, ChannelOrder, ChannelOrderLine, NormalisationError

logger = logging.getLogger(__name__)

API_VERSION = "2025-07"
PAGE_SIZE = 250  # Shopify's maximum
# Throttle once the call-limit bucket is this full, to keep headroom for other apps on the shop.
BUCKET_HIGH_WATER = 0.8
OPEN_FULFILLMENT_ORDER = frozenset({"open", "in_progress"})
# What normalise reads as a JSON object: a dict, or the struct decoded from an order's bytes.
JSON_OBJECT = (dict, ShopifyObject)


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("window bounds must be aware datetimes")
    return moment.astimezone(dt.UTC).isoformat()


class ShopifyAdapter(Adapter):
    """A Shopify store. Credentials: ``access_token`` (Admin API) and ``webhook_secret``."""

    channel_label = "Shopify"
    signature_header = "X-Shopify-Hmac-Sha256"

    def _url(self, path: str) -> str:
        return f"{self.base_url}/admin/api/{API_VERSION}/{path}"

    def _auth(self) -> dict[str, Any]:
        return {"headers": {"X-Shopify-Access-Token": self._credentials.get("access_token", "")}}

    def _auth_message(self, status: int) -> str:
        if status == 403:
            return (
                "The access token is missing a permission Relay needs (403). Give the app the read_orders and "
                "write_merchant_managed_fulfillment_orders access scopes, then paste its new Admin API token here."
            )
        return (
            "The access token was refused (401). Create a new Admin API access token in the Shopify admin "
            "(Settings → Apps and sales channels → Develop apps) and paste it here."
        )

    def _observe(self, response) -> None:
        # "32/40": calls in the shop's leaky bucket / its size. It drains at
        # size/20 calls a second (2/s for the standard 40), so near the top we
        # wait just long enough for a few calls to drain before the next request.
        used_size = response.headers.get("X-Shopify-Shop-Api-Call-Limit", "")
        try:
            used, size = (int(part) for part in used_size.split("/", 1))
        except ValueError:
            return
        if size <= 0:
            return
        high_water = size * BUCKET_HIGH_WATER
        if used >= high_water:
            self._pause_before_next = (used - high_water + 1) / (size / 20)

    # -------------------------------------------------------------- pulling

    def _window(self, updated_since: dt.datetime | None, updated_until: dt.datetime | None) -> dict[str, str]:
        params = {"status": "any"}
        if updated_since is not None:
            params["updated_at_min"] = _iso(updated_since)
        if updated_until is not None:
            params["updated_at_max"] = _iso(updated_until)
        return params

    def iter_order_pages(
        self, *, updated_since: dt.datetime | None, updated_until: dt.datetime | None = None
    ) -> Iterator[list[dict]]:
        """Orders updated in the window, oldest update first, 250 a page, following the Link cursor."""
        for page in self.iter_payload_pages(updated_since=updated_since, updated_until=updated_until):
            yield [payload_document(payload) for payload in page]

    def iter_payload_pages(
        self, *, updated_since: dt.datetime | None, updated_until: dt.datetime | None = None
    ) -> Iterator[list]:
        """As iter_order_pages, each order a RawPayload: its own JSON bytes (a view of the response body)."""
        url: str | None = self._url("orders.json")
        params: dict | None = {
            **self._window(updated_since, updated_until),
            "limit": PAGE_SIZE,
            "order": "updated_at asc",
        }
        followed: set[str] = set()
        while url:
            response = self._request("GET", url, params=params)
            orders = self.page_payloads(response.content)
            if orders:
                yield orders
            url = response.links.get("next", {}).get("url")
            # With page_info Shopify refuses the other filters: the next URL is followed as given.
            params = None
            if url:
                self._check_next(url, followed)

    def page_payloads(self, page: bytes | list) -> list:
        """The orders of a page: out of a response body (``{"orders": [...]}``), each order's own bytes
        with its typed structs (shopify_raw); a list as it is. ChannelError for a body without an ``orders`` list."""
        if isinstance(page, list):
            return page
        return [RawPayload(memoryview(raw), decode_order(raw)) for raw in split_page(page)]

    def normalise_payload(self, payload: Any) -> ChannelOrder:
        """normalise() for a dict or a RawPayload: its structs, or its plain JSON when they did not fit them."""
        if isinstance(payload, RawPayload) and payload.decoded is not None:
            return self.normalise(payload.decoded)
        return super().normalise_payload(payload)

    def payload_head(self, payload: Any) -> tuple[str, dt.datetime] | None:
        """The order's id and updated_at, read without normalising; None when either cannot be read."""
        head = payload.decoded if isinstance(payload, RawPayload) else payload
        if not isinstance(head, JSON_OBJECT):
            return None
        try:
            return (
                external_id(head.get("id"), what="order id"),
                parse_time(head.get("updated_at"), what="updated_at"),
            )
        except NormalisationError:
            return None

    def _check_next(self, url: str, followed: set[str]) -> None:
        # The token goes with every request: never to a host other than the store's.
        if urlsplit(url).netloc != urlsplit(self.base_url).netloc:
            raise ChannelError("Shopify's next page points to another host; stopped so the token stays with the shop.")
        if url in followed:
            raise ChannelError("Shopify returned the same page twice; stopped to avoid looping.")
        followed.add(url)

    def count_orders(self, *, updated_since: dt.datetime | None, updated_until: dt.datetime | None) -> int | None:
        body = self._json(
            self._request("GET", self._url("orders/count.json"), params=self._window(updated_since, updated_until))
        )
        count = body.get("count") if isinstance(body, dict) else None
        if isinstance(count, bool) or not isinstance(count, int):
            raise ChannelError("Shopify answered the order count without a number.")
        return count

    def test_connection(self) -> str:
        body = self._json(self._request("GET", self._url("shop.json")))
        shop = body.get("shop") if isinstance(body, dict) else None
        if not isinstance(shop, dict):
            raise ChannelError("Shopify answered without describing the shop; is this a Shopify store's address?")
        return text(shop.get("name")) or text(shop.get("myshopify_domain")) or urlsplit(self.base_url).netloc

    # -------------------------------------------------------------- normalising

    def normalise(self, payload: dict | ShopifyObject) -> ChannelOrder:
        """The canonical order of one Shopify order (its dict, or its structs: see shopify_raw).

        - ``subtotal`` is ours: the sum of quantity × price over the lines
          (Shopify's subtotal_price is after discounts).
        - A line's discount is the sum of its ``discount_allocations`` (which
          carry order-level codes spread by Shopify too), else its ``total_discount``.
        - Shipping is what the buyer pays for it: the shipping price less
          discounts allocated to shipping lines; ``discount_total`` is every
          other discount (``total_discounts`` less those), never less than the
          lines' own discounts.
        - A line without a SKU is listed as ``variant:<id>`` (else
          ``product:<id>``, else ``title:<title>``), the most stable key Shopify
          gives, so the merchant can still map it to a product.
        - ``total`` is Shopify's total_price even where the parts do not add up.
        """
        if not isinstance(payload, JSON_OBJECT):
            raise NormalisationError("the payload is not a JSON object")
        order_id = external_id(payload.get("id"), what="order id")
        currency = currency_code(payload.get("currency"), what=f"order {order_id}: currency")

        raw_lines = payload.get("line_items")
        if not isinstance(raw_lines, list):
            raise NormalisationError(f"order {order_id}: line_items is missing")
        lines = [self._line(item, position) for position, item in enumerate(raw_lines, start=1)]

        shipping_lines = payload.get("shipping_lines") or []
        if not isinstance(shipping_lines, list):
            raise NormalisationError(f"order {order_id}: shipping_lines is not a list")
        shipping_discount = sum(
            (
                parse_money(allocation.get("amount"), what="shipping discount amount")
                for shipping_line in shipping_lines
                if isinstance(shipping_line, JSON_OBJECT)
                for allocation in (shipping_line.get("discount_allocations") or [])
                if isinstance(allocation, JSON_OBJECT)
            ),
            Decimal(0),
        )
        shipping_gross = self._shipping_price(payload, shipping_lines)
        line_discounts = sum((line.line_discount for line in lines), Decimal(0))
        total_discounts = parse_optional_money(payload.get("total_discounts"), what="total_discounts")
        discount_total = max(line_discounts, total_discounts - shipping_discount)
        check_lines(order_id=order_id, lines=lines, discount_total=discount_total)

        customer = payload.get("customer")
        customer = customer if isinstance(customer, JSON_OBJECT) else {}
        ship_to = payload.get("shipping_address")
        ship_to = ship_to if isinstance(ship_to, JSON_OBJECT) else {}
        buyer_name = person_name(customer.get("first_name"), customer.get("last_name"))
        order = ChannelOrder(
            external_id=order_id,
            order_number=text(payload.get("name")) or text(payload.get("order_number")) or order_id,
            currency=currency,
            placed_at=parse_time(payload.get("created_at"), what=f"order {order_id}: created_at"),
            updated_at=parse_time(payload.get("updated_at"), what=f"order {order_id}: updated_at"),
            lines=tuple(lines),
            subtotal=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
            discount_total=discount_total,
            shipping_total=max(Decimal(0), shipping_gross - shipping_discount),
            tax_total=parse_optional_money(payload.get("total_tax"), what=f"order {order_id}: total_tax"),
            total=parse_money(payload.get("total_price"), what=f"order {order_id}: total_price"),
            buyer_name=buyer_name or text(ship_to.get("name")),
            buyer_email=text(payload.get("email")) or text(payload.get("contact_email")) or text(customer.get("email")),
            buyer_phone=text(payload.get("phone")) or text(customer.get("phone")) or text(ship_to.get("phone")),
            shipping_address=_address(ship_to),
            financial_status=text(payload.get("financial_status")).lower(),
            fulfillment_status=text(payload.get("fulfillment_status")).lower(),
            cancelled_at=parse_optional_time(payload.get("cancelled_at"), what=f"order {order_id}: cancelled_at"),
            refunded_total=_refunded(payload, order_id),
            note=text(payload.get("note")),
            tags=tuple(tag.strip() for tag in text(payload.get("tags")).split(",") if tag.strip()),
        )
        log_if_inconsistent(order, tax_included=bool(payload.get("taxes_included")))
        return order

    def _line(self, item: Any, position: int) -> ChannelOrderLine:
        if not isinstance(item, JSON_OBJECT):
            raise NormalisationError(f"line item {position} is not an object")
        line_id = external_id(item.get("id"), what=f"line item {position}: id")
        what = f"line {line_id}"
        allocations = item.get("discount_allocations")
        if isinstance(allocations, list) and allocations:
            discount = sum(
                (
                    parse_money(a.get("amount"), what=f"{what}: discount amount")
                    for a in allocations
                    if isinstance(a, JSON_OBJECT)
                ),
                Decimal(0),
            )
        else:
            discount = parse_optional_money(item.get("total_discount"), what=f"{what}: total_discount")
        title = text(item.get("name")) or text(item.get("title"))
        return ChannelOrderLine(
            external_id=line_id,
            listing_sku=_listing_sku(item, title),
            title=title,
            quantity=parse_quantity(item.get("quantity"), what=f"{what}: quantity"),
            unit_price=parse_money(item.get("price"), what=f"{what}: price"),
            line_discount=discount,
        )

    def _shipping_price(self, payload: dict | ShopifyObject, shipping_lines: list) -> Decimal:
        price_set = payload.get("total_shipping_price_set")
        shop_money = price_set.get("shop_money") if isinstance(price_set, JSON_OBJECT) else None
        if isinstance(shop_money, JSON_OBJECT):
            return parse_money(shop_money.get("amount"), what="total_shipping_price_set amount")
        return sum(
            (
                parse_money(line.get("price"), what="shipping line price")
                for line in shipping_lines
                if isinstance(line, JSON_OBJECT)
            ),
            Decimal(0),
        )

    # -------------------------------------------------------------- fulfillment

    def push_fulfillment(
        self,
        *,
        order_external_id: str,
        lines: list[tuple[str, int]],
        carrier: str,
        tracking_number: str,
        tracking_url: str = "",
        complete: bool = False,
    ) -> str:
        """Fulfil one parcel's lines through Shopify's fulfillment orders, with its tracking, and notify the buyer.

        Reads the order's fulfillment orders, matches our lines to their open
        line items by ``line_item_id`` and posts one fulfillment with
        ``line_items_by_fulfillment_order`` and ``tracking_info`` (company,
        number, url) per location (Shopify's rule; one for a shop with one
        location). ``complete`` changes nothing: Shopify fulfils by line.

        When Shopify has nothing left to fulfil for a line, or answers 422 (a
        closed fulfillment order, a line already fulfilled), and a fulfillment
        with this tracking number exists (a retried push whose first answer
        was lost), its id is returned; otherwise NothingToFulfil with
        Shopify's words. Returns the fulfillment id (ids joined by "," when
        several locations ship).
        """
        if not lines:
            raise ValueError("push_fulfillment needs at least one line")
        order_path = f"orders/{order_external_id}"
        body = self._json(self._request("GET", self._url(f"{order_path}/fulfillment_orders.json")))
        fulfillment_orders = body.get("fulfillment_orders", []) if isinstance(body, dict) else []
        by_location, short = _allocate(lines, _open_items(fulfillment_orders))
        if short:
            return self._already_fulfilled(
                order_path,
                tracking_number,
                f"Shopify has nothing left to fulfil for line(s) {', '.join(short)} of order {order_external_id}."
                " It may have been fulfilled or cancelled in Shopify already.",
            )

        tracking_info = {"company": carrier, "number": tracking_number}
        if tracking_url:
            tracking_info["url"] = tracking_url
        fulfillment_ids = []
        for groups in by_location.values():
            request = {
                "fulfillment": {
                    "line_items_by_fulfillment_order": [
                        {"fulfillment_order_id": fo_id, "fulfillment_order_line_items": items}
                        for fo_id, items in groups.items()
                    ],
                    "tracking_info": tracking_info,
                    "notify_customer": True,
                }
            }
            try:
                response = self._request("POST", self._url("fulfillments.json"), json=request)
            except ChannelError as exc:
                if exc.status != 422:
                    raise
                # Fulfilled or closed since we read the fulfillment orders: by us (a lost answer) or in Shopify.
                return self._already_fulfilled(order_path, tracking_number, str(exc))
            answer = self._json(response)
            fulfillment = answer.get("fulfillment") if isinstance(answer, dict) else None
            if not isinstance(fulfillment, dict) or fulfillment.get("id") is None:
                raise ChannelError("Shopify accepted the fulfillment but did not return its id.")
            fulfillment_ids.append(str(fulfillment["id"]))
        return ",".join(fulfillment_ids)

    def _already_fulfilled(self, order_path: str, tracking_number: str, message: str) -> str:
        """The id of the fulfillment carrying ``tracking_number``; NothingToFulfil with ``message`` when none does."""
        existing = self._fulfillment_with_tracking(order_path, tracking_number)
        if existing:
            return existing
        raise NothingToFulfil(message, status=422)

    def _fulfillment_with_tracking(self, order_path: str, tracking_number: str) -> str | None:
        body = self._json(self._request("GET", self._url(f"{order_path}/fulfillments.json")))
        for fulfillment in body.get("fulfillments", []) if isinstance(body, dict) else []:
            if fulfillment.get("status") in ("cancelled", "error", "failure"):
                continue
            numbers = set(fulfillment.get("tracking_numbers") or []) | {fulfillment.get("tracking_number")}
            if tracking_number in numbers:
                return str(fulfillment["id"])
        return None

    # -------------------------------------------------------------- Shopify Payments payouts

    def iter_payouts(self, *, since: dt.date | None = None, status: str | None = None) -> Iterator[ChannelPayout]:
        """Shopify Payments payouts dated ``since`` or later (every one when None), newest first as Shopify lists them.

        Each comes with all its balance transactions as PayoutRows: amount signed and fee as Shopify gives
        them, ``reference`` the transaction's id, ``payout_reference`` the payout's, the order's Shopify id in
        ``extra["order_external_id"]`` (``order_number`` only where Shopify names the order), Shopify's type,
        net and sources in ``extra``. ``status`` keeps one payout status (scheduled, in_transit, paid …).
        Raises ChannelAuthError when the token may not read payouts, ChannelError for a shop without
        Shopify Payments (404) or an answer that is not a payout, ChannelUnavailable as every request does.
        """
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if since is not None:
            params["date_min"] = since.isoformat()
        if status:
            params["status"] = status
        for raw in self._list("shopify_payments/payouts.json", params, key="payouts"):
            try:
                payout = payout_head(raw)
            except NormalisationError as exc:
                raise ChannelError(f"Shopify sent a payout Relay cannot read: {exc}.") from None
            payout.rows.extend(self._payout_rows(payout.id))
            logger.info("shopify payout read", extra={"payout": payout.id, "rows": len(payout.rows)})
            yield payout

    def _payout_rows(self, payout_id: str) -> list[PayoutRow]:
        rows = []
        params = {"payout_id": payout_id, "limit": PAGE_SIZE}
        for raw in self._list("shopify_payments/balance/transactions.json", params, key="transactions"):
            try:
                rows.append(payout_row(raw, payout_id=payout_id))
            except NormalisationError as exc:
                raise ChannelError(
                    f"Shopify sent a transaction of payout {payout_id} Relay cannot read: {exc}."
                ) from None
        return rows

    def _list(self, path: str, params: dict[str, Any] | None, *, key: str) -> Iterator[dict]:
        """Every item of a Shopify Payments list, page by page along the Link cursor."""
        url: str | None = self._url(path)
        followed: set[str] = set()
        while url:
            try:
                response = self._request("GET", url, params=params)
            except ChannelAuthError as exc:
                if exc.status != 403:
                    raise
                said = str(exc).partition(f"{self.channel_label} said: ")[2]
                message = (
                    "The access token may not read Shopify Payments payouts (403). Give the app the "
                    "read_shopify_payments_payouts access scope, then paste its new Admin API token here."
                )
                raise ChannelAuthError(f"{message} Shopify said: {said}" if said else message, status=403) from None
            except ChannelError as exc:
                if exc.status != 404:
                    raise
                raise ChannelError(
                    "Shopify has no Shopify Payments payouts for this store (404): if it takes payments through "
                    "another provider, import that provider's file instead.",
                    status=404,
                ) from None
            body = self._json(response)
            items = body.get(key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise ChannelError(f"Shopify answered {path} without a '{key}' list.")
            yield from items
            url = response.links.get("next", {}).get("url")
            params = None  # the next URL carries page_info and the limit; filters are refused beside it
            if url:
                self._check_next(url, followed)

    # -------------------------------------------------------------- webhooks

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """orders/create, orders/updated, orders/cancelled: the body is the order itself."""
        payload = webhook_json(body)
        delivery_id = header(headers, "X-Shopify-Event-Id") or header(headers, "X-Shopify-Webhook-Id")
        try:
            triggered_at = parse_optional_time(header(headers, "X-Shopify-Triggered-At"), what="X-Shopify-Triggered-At")
        except NormalisationError:
            triggered_at = None  # informative only; a bad stamp must not lose the delivery
        return WebhookDelivery(
            delivery_id=(delivery_id or "").strip() or body_fingerprint(body),
            topic=(header(headers, "X-Shopify-Topic") or "").strip(),
            triggered_at=triggered_at,
            payload=payload,
        )


def _open_items(fulfillment_orders: list) -> dict[str, list[list[Any]]]:
    """Line item id -> [fulfillment order id, location, its line id, quantity left], in Shopify's order."""
    open_items: dict[str, list[list[Any]]] = defaultdict(list)
    for fo in fulfillment_orders:
        if not isinstance(fo, dict) or fo.get("status") not in OPEN_FULFILLMENT_ORDER:
            continue
        actions = fo.get("supported_actions")
        if actions is not None and "create_fulfillment" not in actions:
            continue
        for item in fo.get("line_items") or []:
            left = item.get("fulfillable_quantity", item.get("quantity", 0)) or 0
            if left > 0:
                open_items[str(item.get("line_item_id"))].append(
                    [fo.get("id"), fo.get("assigned_location_id"), item.get("id"), left]
                )
    return open_items


def _allocate(
    lines: list[tuple[str, int]], open_items: dict[str, list[list[Any]]]
) -> tuple[dict[Any, dict[Any, list[dict]]], list[str]]:
    """Our (line, quantity) onto fulfillment order line items, grouped by location then fulfillment order.

    Also returns the lines Shopify has too little left of, as text for a person.
    """
    by_location: dict[Any, dict[Any, list[dict]]] = defaultdict(lambda: defaultdict(list))
    short: list[str] = []
    for line_id, quantity in lines:
        if quantity < 1:
            raise ValueError(f"quantity for line {line_id} must be at least 1")
        need = quantity
        for slot in open_items.get(str(line_id), []):
            fo_id, location, fo_line_id, left = slot
            take = min(need, left)
            if take:
                by_location[location][fo_id].append({"id": fo_line_id, "quantity": take})
                slot[3] -= take
                need -= take
        if need:
            short.append(f"{line_id} ({need} of {quantity})")
    return by_location, short


def _listing_sku(item: dict | ShopifyObject, title: str) -> str:
    sku = text(item.get("sku"))
    if sku:
        return sku
    if variant_id := item.get("variant_id"):
        return f"variant:{variant_id}"
    if product_id := item.get("product_id"):
        return f"product:{product_id}"
    return f"title:{title}"


def _address(data: dict | ShopifyObject) -> Address:
    # Province by name (what a person and a supplier read), its code when that is all Shopify has.
    name = text(data.get("name")) or person_name(data.get("first_name"), data.get("last_name"))
    return Address(
        name=name,
        country=text(data.get("country_code")).upper(),
        province=text(data.get("province")) or text(data.get("province_code")),
        city=text(data.get("city")),
        line1=text(data.get("address1")),
        line2=text(data.get("address2")),
        postal_code=text(data.get("zip")),
        phone=text(data.get("phone")),
    )


def _refunded(payload: dict | ShopifyObject, order_id: str) -> Decimal:
    """What was given back to the buyer: total_price less current_total_price (Shopify lowers the current
    total by every refund, in the shop's currency). An order without current_total_price refunded nothing."""
    if payload.get("current_total_price") in (None, ""):
        return Decimal(0)
    total = parse_money(payload.get("total_price"), what=f"order {order_id}: total_price")
    current = parse_money(payload.get("current_total_price"), what=f"order {order_id}: current_total_price")
    return max(Decimal(0), total - current)
