"""WooCommerce, through its REST API v3 (``/wp-json/wc/v3``).

Authentication is HTTP Basic with the REST API key's consumer key and secret,
which WooCommerce accepts only over HTTPS. Times are read from the ``*_gmt``
fields, which WooCommerce gives without an offset but in UTC.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator, Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from channels.adapters.base import Adapter, ChannelError, WebhookDelivery, body_fingerprint, header, webhook_json
from channels.adapters.reading import (
    check_lines,
    currency_code,
    external_id,
    log_if_inconsistent,
    parse_money,
    parse_optional_money,
    parse_quantity,
    parse_signed_money,
    parse_time,
    person_name,
    text,
)
from core.money import round_money
from orders.canonical import Address, ChannelOrder, ChannelOrderLine, NormalisationError

API_PATH = "/wp-json/wc/v3"
# The Shipment Tracking extension's REST namespace (woocommerce.com/document/shipment-tracking).
SHIPMENT_TRACKING_PATH = "/wp-json/wc-shipment-tracking/v3"
PAGE_SIZE = 100  # WooCommerce's maximum per_page

# status -> (financial status, fulfillment status) in the words Relay uses for every channel;
# a status a plugin adds (e.g. "shipped") is kept as the financial word, fulfillment unknown ("").
STATUS_WORDS = {
    "pending": ("pending", ""),
    "checkout-draft": ("pending", ""),
    "on-hold": ("on-hold", ""),
    "processing": ("paid", ""),
    "completed": ("paid", "fulfilled"),
    "cancelled": ("cancelled", ""),
    "refunded": ("refunded", ""),
    "failed": ("failed", ""),
}


def _gmt(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("window bounds must be aware datetimes")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


class WooCommerceAdapter(Adapter):
    """A WooCommerce store. Credentials: ``consumer_key``, ``consumer_secret`` and ``webhook_secret``."""

    channel_label = "WooCommerce"
    signature_header = "X-WC-Webhook-Signature"

    def _url(self, path: str) -> str:
        return f"{self.base_url}{API_PATH}/{path}"

    def _auth(self) -> dict[str, Any]:
        return {
            "auth": httpx.BasicAuth(
                self._credentials.get("consumer_key", ""), self._credentials.get("consumer_secret", "")
            )
        }

    def _auth_message(self, status: int) -> str:
        if status == 403:
            return (
                "The REST API key is not allowed to do this (403). In WooCommerce → Settings → Advanced → REST API, "
                "give the key Read/Write permission, or create a new one and paste both values here."
            )
        message = (
            "The consumer key or secret was refused (401). In WooCommerce → Settings → Advanced → REST API, "
            "create a new key with Read/Write permission and paste both values here."
        )
        if urlsplit(self.base_url).scheme != "https":
            message += " WooCommerce accepts these keys only over HTTPS: use the store's https:// address."
        return message

    def _window(self, updated_since: dt.datetime | None, updated_until: dt.datetime | None) -> dict[str, str]:
        params = {"dates_are_gmt": "true"}
        if updated_since is not None:
            params["modified_after"] = _gmt(updated_since)
        if updated_until is not None:
            params["modified_before"] = _gmt(updated_until)
        return params

    # -------------------------------------------------------------- pulling

    def iter_order_pages(
        self, *, updated_since: dt.datetime | None, updated_until: dt.datetime | None = None
    ) -> Iterator[list[dict]]:
        """Orders modified in the window, oldest modification first, 100 a page.

        Pages are numbered (WooCommerce has no cursor). An order modified while
        we page leaves the window (modified_before is fixed), which can shift
        one order past us; the sync's count check against X-WP-Total and the
        next run's overlap are the backstop.
        """
        params = {
            **self._window(updated_since, updated_until),
            "per_page": PAGE_SIZE,
            "orderby": "modified",
            "order": "asc",
        }
        page, last_page = 1, 1
        while page <= last_page:
            response = self._request("GET", self._url("orders"), params={**params, "page": page})
            orders = self._json(response)
            if not isinstance(orders, list):
                raise ChannelError("WooCommerce answered the order list with something that is not a list.")
            if orders:
                yield orders
            total_pages = response.headers.get("X-WP-TotalPages")
            if total_pages is not None and total_pages.strip().isdigit():
                last_page = int(total_pages)
            elif len(orders) == PAGE_SIZE:
                last_page = page + 1  # no header (a proxy dropped it): go on while pages are full
            page += 1

    def count_orders(self, *, updated_since: dt.datetime | None, updated_until: dt.datetime | None) -> int | None:
        response = self._request(
            "GET", self._url("orders"), params={**self._window(updated_since, updated_until), "per_page": 1}
        )
        total = response.headers.get("X-WP-Total", "").strip()
        return int(total) if total.isdigit() else None

    def test_connection(self) -> str:
        """One authenticated read of the order list: proves the key can read orders."""
        response = self._request("GET", self._url("orders"), params={"per_page": 1})
        if not isinstance(self._json(response), list):
            raise ChannelError("The address answered, but not as a WooCommerce store's order list.")
        host = urlsplit(self.base_url).netloc
        total = response.headers.get("X-WP-Total", "").strip()
        return f"{host} ({total} orders)" if total.isdigit() else host

    # -------------------------------------------------------------- normalising

    def normalise(self, payload: dict) -> ChannelOrder:
        """The canonical order of one WooCommerce order.

        - A line's unit price is its ``subtotal`` (before coupons) / quantity and
          its discount ``subtotal - total``. ``price`` is not used: WooCommerce
          sends it as a JSON number and after coupons. When the division is not
          exact in the currency, the unit price is rounded up and the difference
          counted as line discount, so the line's net amount stays exact.
        - Fee lines, which WooCommerce adds to the total: negative ones
          (discounts some plugins add) count as discount, positive ones (gift
          wrap, cash-on-delivery fees) with shipping, so the parts still add up.
        - Without a shipping address (shipping disabled), the billing address is used.
        - A line without a SKU is listed as ``variation:<id>`` (else
          ``product:<id>``, else ``title:<name>``).
        - A cancelled order's cancellation time is its last modification.
        """
        if not isinstance(payload, dict):
            raise NormalisationError("the payload is not a JSON object")
        order_id = external_id(payload.get("id"), what="order id")
        currency = currency_code(payload.get("currency"), what=f"order {order_id}: currency")

        raw_lines = payload.get("line_items")
        if not isinstance(raw_lines, list):
            raise NormalisationError(f"order {order_id}: line_items is missing")
        lines = [self._line(item, position, currency) for position, item in enumerate(raw_lines, start=1)]

        fee_charges, fee_discounts = Decimal(0), Decimal(0)
        for fee in payload.get("fee_lines") or []:
            if not isinstance(fee, dict):
                continue
            amount = parse_signed_money(fee.get("total") or "0", what=f"order {order_id}: fee total")
            if amount < 0:
                fee_discounts -= amount
            else:
                fee_charges += amount

        line_discounts = sum((line.line_discount for line in lines), Decimal(0))
        coupon_discounts = parse_optional_money(payload.get("discount_total"), what=f"order {order_id}: discount_total")
        discount_total = max(line_discounts, coupon_discounts) + fee_discounts
        check_lines(order_id=order_id, lines=lines, discount_total=discount_total)

        modified_at = parse_time(
            payload.get("date_modified_gmt") or payload.get("date_created_gmt"),
            what=f"order {order_id}: date_modified_gmt",
            naive_is_utc=True,
        )
        status = text(payload.get("status")).lower()
        financial, fulfillment = STATUS_WORDS.get(status, (status, ""))
        billing = payload.get("billing") if isinstance(payload.get("billing"), dict) else {}
        shipping = payload.get("shipping") if isinstance(payload.get("shipping"), dict) else {}
        ship_to = shipping if (text(shipping.get("address_1")) or text(shipping.get("country"))) else billing
        order = ChannelOrder(
            external_id=order_id,
            order_number=text(payload.get("number")) or order_id,
            currency=currency,
            placed_at=parse_time(
                payload.get("date_created_gmt"), what=f"order {order_id}: date_created_gmt", naive_is_utc=True
            ),
            updated_at=modified_at,
            lines=tuple(lines),
            subtotal=sum((line.unit_price * line.quantity for line in lines), Decimal(0)),
            discount_total=discount_total,
            shipping_total=parse_optional_money(payload.get("shipping_total"), what=f"order {order_id}: shipping_total")
            + fee_charges,
            tax_total=parse_optional_money(payload.get("total_tax"), what=f"order {order_id}: total_tax"),
            total=parse_money(payload.get("total"), what=f"order {order_id}: total"),
            buyer_name=_person(billing),
            buyer_email=text(billing.get("email")),
            buyer_phone=text(billing.get("phone")),
            shipping_address=Address(
                name=_person(ship_to),
                country=text(ship_to.get("country")).upper(),
                province=text(ship_to.get("state")),
                city=text(ship_to.get("city")),
                line1=text(ship_to.get("address_1")),
                line2=text(ship_to.get("address_2")),
                postal_code=text(ship_to.get("postcode")),
                phone=text(ship_to.get("phone")) or text(billing.get("phone")),
            ),
            financial_status=financial,
            fulfillment_status=fulfillment,
            cancelled_at=modified_at if status == "cancelled" else None,
            # WooCommerce lists each refund with a negative total.
            refunded_total=sum(
                (
                    parse_money(text(r.get("total")).lstrip("-"), what=f"order {order_id}: refund total")
                    for r in payload.get("refunds") or []
                ),
                Decimal(0),
            ),
            note=text(payload.get("customer_note")),
        )
        # WooCommerce line and shipping totals are before tax even when prices include it.
        log_if_inconsistent(order)
        return order

    def _line(self, item: Any, position: int, currency: str) -> ChannelOrderLine:
        if not isinstance(item, dict):
            raise NormalisationError(f"line item {position} is not an object")
        line_id = external_id(item.get("id"), what=f"line item {position}: id")
        what = f"line {line_id}"
        quantity = parse_quantity(item.get("quantity"), what=f"{what}: quantity")
        subtotal = parse_money(item.get("subtotal"), what=f"{what}: subtotal")
        total = parse_money(item.get("total"), what=f"{what}: total")
        if total > subtotal:
            raise NormalisationError(f"{what}: total {total} is more than its subtotal {subtotal}")
        unit_price = subtotal / quantity
        if unit_price * quantity != subtotal or unit_price != round_money(unit_price, currency):
            # Rounding up keeps the discount non-negative; the net (total) is unchanged.
            unit_price = round_money(unit_price, currency, rounding=ROUND_CEILING)
        name = html.unescape(text(item.get("name")))
        return ChannelOrderLine(
            external_id=line_id,
            listing_sku=_listing_sku(item, name),
            title=name,
            quantity=quantity,
            unit_price=unit_price,
            line_discount=unit_price * quantity - total,
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
        """Give the buyer one parcel's tracking, and complete the order once everything has shipped.

        WooCommerce core has no shipment API and no partial fulfilment, so
        ``lines`` is not sent. In this order, each step skipped when a retry
        finds it done:

        1. When the store has the Shipment Tracking extension (its endpoint
           answers; 404 means it is not installed), a tracking item with the
           carrier as a custom provider and our tracking link.
        2. A customer note with carrier, number and link (WooCommerce e-mails it).
        3. With ``complete``, status ``completed`` (WooCommerce's "order
           completed" e-mail then carries the tracking items).

        Returns the note's id.
        """
        order_path = f"orders/{order_external_id}"
        self._add_shipment_tracking(order_external_id, carrier, tracking_number, tracking_url)
        note_id = self._tracking_note(order_path, carrier, tracking_number, tracking_url)
        if complete:
            self._request("PUT", self._url(order_path), json={"status": "completed"})
        return note_id

    def _add_shipment_tracking(self, order_external_id: str, carrier: str, number: str, url: str) -> bool:
        """Add the tracking item through the Shipment Tracking extension; False when the store does not have it."""
        endpoint = f"{self.base_url}{SHIPMENT_TRACKING_PATH}/orders/{order_external_id}/shipment-trackings"
        try:
            items = self._json(self._request("GET", endpoint))
        except ChannelError as exc:
            if exc.status == 404:
                return False
            raise
        if isinstance(items, list) and any(
            isinstance(item, dict) and text(item.get("tracking_number")) == number for item in items
        ):
            return True
        # Our carrier names are not the extension's provider list: a custom provider carries our link.
        item = {"custom_tracking_provider": carrier, "tracking_number": number}
        if url:
            item["custom_tracking_link"] = url
        self._request("POST", endpoint, json=item)
        return True

    def _tracking_note(self, order_path: str, carrier: str, number: str, url: str) -> str:
        notes = self._json(self._request("GET", self._url(f"{order_path}/notes"), params={"type": "customer"}))
        for note in notes if isinstance(notes, list) else []:
            if isinstance(note, dict) and number in text(note.get("note")) and note.get("id") is not None:
                return str(note["id"])
        message = f"Shipped with {carrier}, tracking number {number}."
        if url:
            message += f" Track it at {url}"
        answer = self._json(
            self._request("POST", self._url(f"{order_path}/notes"), json={"note": message, "customer_note": True})
        )
        if not isinstance(answer, dict) or answer.get("id") is None:
            raise ChannelError("WooCommerce added the note but did not return its id.")
        return str(answer["id"])

    # -------------------------------------------------------------- webhooks

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """order.created, order.updated, …: the body is the order as the REST API shows it.

        WooCommerce sends no trigger time, so ``triggered_at`` is None.
        """
        payload = webhook_json(body)
        delivery_id = (header(headers, "X-WC-Webhook-Delivery-ID") or "").strip()
        return WebhookDelivery(
            delivery_id=delivery_id or body_fingerprint(body),
            topic=(header(headers, "X-WC-Webhook-Topic") or "").strip(),
            triggered_at=None,
            payload=payload,
        )


def _person(data: dict) -> str:
    return person_name(data.get("first_name"), data.get("last_name"))


def _listing_sku(item: dict, name: str) -> str:
    sku = text(item.get("sku"))
    if sku:
        return sku
    if item.get("variation_id"):
        return f"variation:{item['variation_id']}"
    if item.get("product_id"):
        return f"product:{item['product_id']}"
    return f"title:{name}"
