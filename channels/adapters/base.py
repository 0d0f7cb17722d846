"""The channel adapter interface and the HTTP plumbing every adapter shares.

An adapter talks to one store on one channel: it pages through orders, counts
them, turns one raw payload into a ``ChannelOrder``, pushes tracking back and
checks webhook signatures. It holds no database state, so it can be tested
against recorded payloads served by ``httpx.MockTransport``.

Errors a caller must tell apart:

- ``ChannelAuthError``: the credentials were refused (401/403). Retrying will
  not help; a person must renew them.
- ``ChannelUnavailable``: the channel is down, slow or rate limiting us and the
  bounded retries ran out. The task may try again later (``retry_after``).
- ``NothingToFulfil``: a fulfillment the channel refuses because nothing of
  those lines is left open there (fulfilled or cancelled on the channel).
  Retrying will not help either.
- ``ChannelAddressRefused``: the store's address is (or resolves to) one Relay
  does not connect to (loopback, private, link-local, metadata; see
  core.outbound). Never retried; nothing was sent.
- ``ChannelError``: any other refusal; the message says what the channel said.

Messages are for a person and never contain a credential.
"""

from __future__ import annotations

import abc
import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import httpx
import orjson

from channels.adapters.payloads import RawPayload
from channels.payouts import ChannelPayout
from core.outbound import DEFAULT_TIMEOUT, OutboundRefused, outbound_client
from orders.canonical import ChannelOrder, NormalisationError

logger = logging.getLogger(__name__)

# A slow channel must not hold a worker forever; connecting should be quick.
TIMEOUT = DEFAULT_TIMEOUT
BACKOFF_START = 1.0  # seconds before the second attempt; doubles after each failure
BACKOFF_CAP = 30.0
# Longer waits than this are not slept through in a worker: we give up and let
# the task retry later with the channel's Retry-After.
MAX_WAIT = 60.0
ERROR_TEXT_LIMIT = 300


class ChannelError(Exception):
    """The channel refused or could not serve a request; the message is for a person."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class ChannelAuthError(ChannelError):
    """The credentials were refused (401/403): wrong, revoked or missing a permission. Never retried."""


class NothingToFulfil(ChannelError):
    """The channel has nothing left open to fulfil for the lines pushed (done or cancelled there). Never retried."""


class ChannelAddressRefused(ChannelError):
    """Relay refused to connect to the store's address (core.outbound.OutboundRefused). Never retried.

    ``host`` and ``reason`` (a key of core.outbound.KINDS) say what was refused, for the log.
    """

    def __init__(self, message: str, *, host: str, reason: str):
        super().__init__(message)
        self.host = host
        self.reason = reason


class ChannelUnavailable(ChannelError):
    """Timeouts, 5xx or 429 after the bounded retries ran out; worth trying again later."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, status=status)
        self.retry_after = retry_after


@dataclass(frozen=True)
class WebhookDelivery:
    delivery_id: str
    topic: str
    triggered_at: dt.datetime | None
    payload: dict


# ------------------------------------------------------------------ parsing helpers


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name in ``headers``."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None


# ------------------------------------------------------------------ the adapter


class Adapter(abc.ABC):
    """One store on one channel. Subclasses implement the abstract methods below.

    ``client`` is injectable (tests pass one built on ``httpx.MockTransport``);
    without one the adapter owns a core.outbound client (it refuses loopback,
    private and metadata addresses at connect time) and ``close()`` releases it.
    ``sleep`` is injectable so retries and throttling can be tested without waiting.
    """

    channel_label = "The channel"
    signature_header = ""  # the header carrying base64(HMAC-SHA256(webhook secret, body))

    def __init__(
        self,
        *,
        base_url: str,
        credentials: dict[str, str],
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self._credentials = dict(credentials)
        self._owns_client = client is None
        self._client = client if client is not None else outbound_client(timeout=TIMEOUT)
        self._sleep = sleep
        self.max_attempts = max_attempts
        self._pause_before_next = 0.0  # set by a subclass that reads the channel's rate-limit headers

    def __repr__(self) -> str:  # never the credentials
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -------------------------------------------------------------- the interface

    @abc.abstractmethod
    def iter_order_pages(
        self, *, updated_since: dt.datetime | None, updated_until: dt.datetime | None = None
    ) -> Iterator[list[dict]]:
        """Yield the raw payloads of orders updated in the window, oldest first, page by page."""

    @abc.abstractmethod
    def count_orders(self, *, updated_since: dt.datetime | None, updated_until: dt.datetime | None) -> int | None:
        """The channel's own count of orders updated in the window; None if it cannot count."""

    @abc.abstractmethod
    def normalise(self, payload: dict) -> ChannelOrder:
        """The canonical order of one raw payload. Raises NormalisationError with a plain reason."""

    # -------------------------------------------------------------- pages as received (the ingest's fast path)
    # A payload is the decoded document (a dict) or, where the adapter reads response bodies itself, a
    # RawPayload: one order's JSON exactly as the channel sent it, stored as it came, never dumped again.

    def iter_payload_pages(
        self, *, updated_since: dt.datetime | None, updated_until: dt.datetime | None = None
    ) -> Iterator[list]:
        """Like iter_order_pages, with each payload in whichever form this adapter reads fastest (see above)."""
        return self.iter_order_pages(updated_since=updated_since, updated_until=updated_until)

    def page_payloads(self, page: bytes | list) -> list:
        """The payloads of one page: a list of payloads as it is, or a response body (bytes) decoded.

        Raises ChannelError for a body that is not a page of orders.
        """
        if isinstance(page, list):
            return page
        try:
            decoded = orjson.loads(page)
        except orjson.JSONDecodeError:
            raise ChannelError(f"{self.channel_label} answered with something that is not JSON.") from None
        if not isinstance(decoded, list):
            raise ChannelError(f"{self.channel_label} answered the order list without a list of orders.")
        return decoded

    def normalise_payload(self, payload: Any) -> ChannelOrder:
        """normalise() for a payload in either form. Raises NormalisationError with a plain reason."""
        if isinstance(payload, RawPayload):
            try:
                payload = orjson.loads(payload.data)
            except orjson.JSONDecodeError:
                raise NormalisationError("the payload is not JSON (or not UTF-8)") from None
        return self.normalise(payload)

    def payload_head(self, payload: Any) -> tuple[str, dt.datetime] | None:
        """(external id, the channel's update time) of a payload, read without normalising it; None when
        this adapter cannot tell. An ingest skips a payload no newer than the order it holds."""
        return None

    @abc.abstractmethod
    def test_connection(self) -> str:
        """A cheap authenticated call; returns a short description of the store (its name)."""

    @abc.abstractmethod
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
        """Tell the channel these (line external id, quantity) shipped in one parcel; returns the channel's id for it.

        ``carrier`` is the carrier's name as the channel knows it. ``complete``
        says every dispatch of the order has now shipped (a channel without
        partial fulfilment completes the order only then). Safe to call again
        for the same parcel after a lost answer: the channel's record of this
        tracking number is found and returned, not made twice.
        """

    @abc.abstractmethod
    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """The delivery in a verified webhook request. Raises ValueError for an unreadable one."""

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes) -> bool:
        """True when the signature header is base64(HMAC-SHA256(webhook_secret, body)).

        False without a configured secret: an unsigned request is never trusted.
        """
        secret = self._credentials.get("webhook_secret", "")
        given = header(headers, self.signature_header) if self.signature_header else None
        if not secret or not given:
            return False
        expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected.encode(), given.strip().encode())

    def iter_payouts(self, *, since: dt.date | None = None) -> Iterator[ChannelPayout]:
        """The payouts dated ``since`` or later, newest first, each with its money movements.

        Only a channel with a payouts API overrides this; the others refuse at once with ChannelError
        (their payouts come from the payment provider's file).
        """
        raise ChannelError(f"{self.channel_label} has no payouts API here: import the payment provider's file instead.")

    # -------------------------------------------------------------- HTTP plumbing

    def _auth(self) -> dict[str, Any]:
        """Keyword arguments for httpx that authenticate a request (headers or auth)."""
        return {}

    def _auth_message(self, status: int) -> str:
        return f"{self.channel_label} refused the credentials ({status}). Check them and save them again."

    def _observe(self, response: httpx.Response) -> None:
        """Hook: read rate-limit headers of a response (sets ``_pause_before_next``)."""
        return

    def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """Send one request with explicit timeouts, retrying what is worth retrying.

        Timeouts, transport errors, 5xx and 429 are retried up to ``max_attempts``
        with exponential backoff and jitter (a 429's Retry-After is honoured);
        then ChannelUnavailable. 401/403 raise ChannelAuthError at once; other
        4xx ChannelError with the channel's own words. A forbidden address
        raises ChannelAddressRefused at once, nothing sent.
        """
        if self._pause_before_next > 0:
            pause, self._pause_before_next = self._pause_before_next, 0.0
            self._sleep(pause)
        auth = self._auth()
        headers = {"Accept": "application/json", **auth.pop("headers", {}), **kw.pop("headers", {})}
        for attempt in range(1, self.max_attempts + 1):
            cause: Exception | None = None
            try:
                response = self._client.request(method, url, headers=headers, timeout=TIMEOUT, **auth, **kw)
            except OutboundRefused as exc:
                raise ChannelAddressRefused(self._redact(str(exc)), host=exc.host, reason=exc.reason) from exc
            except httpx.TimeoutException as exc:
                cause, failure = (
                    exc,
                    ChannelUnavailable(f"{self.channel_label} did not answer in time ({attempt} attempts)."),
                )
                wait = self._backoff(attempt)
            except httpx.TransportError as exc:
                cause, failure = (
                    exc,
                    ChannelUnavailable(
                        f"{self.channel_label} could not be reached ({type(exc).__name__}, {attempt} attempts)."
                    ),
                )
                wait = self._backoff(attempt)
            else:
                self._observe(response)
                if response.status_code < 300:
                    return response
                failure, wait = self._retryable(response, attempt)
            if attempt == self.max_attempts:
                raise failure from cause
            logger.warning(
                "channel request retried",
                extra={"channel": self.channel_label, "path": urlsplit(url).path, "attempt": attempt,
                       "wait": round(wait, 2), "reason": str(failure)},
            )  # fmt: skip
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retryable(self, response: httpx.Response, attempt: int) -> tuple[ChannelUnavailable, float]:
        """For a failed response: the error to raise if no attempt is left, and how long to wait.

        Raises at once what retrying cannot mend.
        """
        status = response.status_code
        if status < 400:
            location = response.headers.get("Location", "")
            raise ChannelError(
                self._redact(
                    f"{self.channel_label} redirected the request ({status}) to {location or 'another address'}."
                    " Save the store's address as the one it redirects to."
                ),
                status=status,
            )
        if status in (401, 403):
            said = _error_text(response, redact=self._redact)
            message = self._auth_message(status)
            if said:  # e.g. which scope is missing; worth showing the person
                message = f"{message} {self.channel_label} said: {said}"
            raise ChannelAuthError(self._redact(message), status=status)
        if status == 429:
            retry_after = _retry_after(response)
            failure = ChannelUnavailable(
                f"{self.channel_label} is rate limiting requests (429).", status=429, retry_after=retry_after
            )
            if retry_after is not None and retry_after > MAX_WAIT:
                raise failure
            return failure, retry_after if retry_after is not None else self._backoff(attempt)
        if status >= 500:
            message = f"{self.channel_label} had an error ({status}) after {attempt} attempts."
            return ChannelUnavailable(message, status=status), self._backoff(attempt)
        raise ChannelError(self._refusal(response), status=status)

    def _backoff(self, attempt: int) -> float:
        delay = min(BACKOFF_CAP, BACKOFF_START * 2 ** (attempt - 1))
        # Jitter spreads out the retries of many workers hitting the same channel.
        return delay + random.uniform(0, delay / 2)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ChannelError(
                f"{self.channel_label} answered with something that is not JSON ({response.status_code}).",
                status=response.status_code,
            ) from None

    def _refusal(self, response: httpx.Response) -> str:
        said = _error_text(response, redact=self._redact)
        message = f"{self.channel_label} refused the request ({response.status_code})"
        return self._redact(f"{message}: {said}" if said else f"{message}.")

    def _redact(self, message: str) -> str:
        """The message without the credentials in any form a channel or a proxy may quote them back in: as
        they are, URL-encoded, or base64 inside a Basic authorisation (``key:secret``, padded or not)."""
        values = [value for value in self._credentials.values() if value and len(value) >= 4]
        forms = set(values) | {quote(value, safe="") for value in values} | {quote_plus(value) for value in values}
        auth = self._auth().get("auth")
        if isinstance(auth, httpx.BasicAuth):
            sent = next(auth.auth_flow(httpx.Request("GET", "https://channel.invalid/"))).headers["Authorization"]
            basic = sent.removeprefix("Basic ")
            forms |= {basic, basic.rstrip("=")}
        for form in sorted(forms, key=len, reverse=True):  # longest first: a form inside another goes with it
            message = message.replace(form, "[redacted]")
        return message


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())


def _error_text(response: httpx.Response, *, redact: Callable[[str], str]) -> str:
    """The channel's own words from an error body: Shopify's ``errors``, WooCommerce's ``message``.

    Redacted before it is cut short: a credential cut in two would escape the redaction.
    """
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return redact(response.text.strip())[:ERROR_TEXT_LIMIT]
    said: Any = body
    if isinstance(body, dict):
        said = body.get("errors") or body.get("error") or body.get("message") or body
    if isinstance(said, dict):
        said = "; ".join(
            f"{key}: {', '.join(map(str, value)) if isinstance(value, list) else value}" for key, value in said.items()
        )
    elif isinstance(said, list):
        said = "; ".join(map(str, said))
    return redact(str(said).strip())[:ERROR_TEXT_LIMIT]


def webhook_json(body: bytes) -> dict:
    """The JSON object of a webhook body; ValueError for anything else."""
    payload = json.loads(body.decode("utf-8"))
    if not isinstance(payload, dict):
        raise ValueError("the webhook body is not a JSON object")
    return payload


def body_fingerprint(body: bytes) -> str:
    """A stand-in delivery id: the same body delivered twice is then recognised as a duplicate."""
    return "sha256:" + hashlib.sha256(body).hexdigest()
