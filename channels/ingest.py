"""Ingestion: a page of channel payloads decoded, normalised and upserted — for pulls, webhooks and replays.

Every path that brings orders in ends in ``orders_write`` with the raw
payload, so the same order arriving by pull, webhook or replay, once or many
times, is one order. A page Relay already holds at that version costs one
query: its payloads are skipped before they are normalised.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from channels.adapters.base import Adapter
from channels.adapters.payloads import payload_document, payload_stored
from channels.models import QuarantinedPayload, Store
from core.bulk import commit_lazily
from orders.canonical import NormalisationError
from orders.services import (
    PreparedOrders,
    UpsertResult,
    orders_prepare,
    orders_statistics_refresh,
    orders_write,
)
from orders.tasks import enqueue_after_ingest


@dataclass
class IngestResult:
    seen: int = 0
    created: int = 0
    updated: int = 0
    quarantined: int = 0


def _resolve_quarantine(*, store: Store, external_ids: list[str], now: dt.datetime) -> list[tuple[str, list]]:
    """The statement marking the store's open quarantine of these orders resolved (none for no orders)."""
    if not external_ids:
        return []
    return [
        (
            "UPDATE channels_quarantinedpayload SET resolved_at = %s"
            " WHERE store_id = %s AND resolved_at IS NULL AND external_id = ANY(%s)",
            [now, store.pk, external_ids],
        )
    ]


@dataclass
class PreparedPage:
    """One page of payloads normalised and computed down to rows; no query made yet."""

    store_id: int
    seen: int
    orders: PreparedOrders
    quarantine: list[tuple[str, object, str]]  # (external id, payload, reason)
    # Open quarantine entries this page resolves: of orders it writes, or holds at a version as new.
    resolve: list[str] = field(default_factory=list)


# What a page's payloads say of themselves before they are normalised: (external id, update time) each.
Heads = list[tuple[str, dt.datetime] | None]


@dataclass
class Held:
    """What Relay holds of the orders a page names (held_versions)."""

    asked: set[str]
    versions: dict[str, dt.datetime]  # external id -> channel_updated_at of the version held
    quarantined: set[str]  # external ids with an open quarantine entry


def page_heads(*, adapter: Adapter, payloads: list) -> Heads:
    """Each payload's (external id, update time) as the adapter reads them cheaply; None where it cannot."""
    return [adapter.payload_head(payload) for payload in payloads]


def _asked(heads: Heads) -> set[str]:
    return {head[0] for head in heads if head is not None}


def held_versions(*, store: Store, heads: Heads) -> Held:
    """The version held of each order named in ``heads`` and which have an open quarantine entry: one query."""
    asked = _asked(heads)
    held = Held(asked=asked, versions={}, quarantined=set())
    if not asked:
        return held
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT external_id, channel_updated_at FROM orders_order WHERE store_id = %s AND external_id = ANY(%s)"
            " UNION ALL SELECT external_id, NULL FROM channels_quarantinedpayload"
            " WHERE store_id = %s AND resolved_at IS NULL AND external_id = ANY(%s)",
            [store.pk, list(asked), store.pk, list(asked)],
        )
        for external_id, updated_at in cursor.fetchall():
            if updated_at is None:
                held.quarantined.add(external_id)
            else:
                held.versions[external_id] = updated_at
    return held


REMEMBERED = 100_000  # orders a new store's first sync remembers (_Remembered): some 15 MB
# A sync that asks (held_versions) refreshes the orders table's statistics after creating this many
# orders: while it adds thousands of orders to a store the statistics call small, the planner answers
# held_versions by reading every order of the store instead of probing (store, external id).
STATISTICS_REFRESH_AT = (1_000, 10_000, 100_000)


class _Remembered:
    """What a sync knows is held without asking, when the store held no order as it began: what it wrote.

    A store's first sync (its whole history, often the biggest sync it will have) would otherwise ask,
    page after page, which of its orders are held, of a store that PostgreSQL's statistics still call
    empty: a scan of all the store's orders for each page. Nothing else writes a new store's orders in
    bulk; an order a webhook brings meanwhile is merged again, and the merge keeps the newer version.
    Up to REMEMBERED orders (``full``); past that, the sync asks (held_versions).

    Written by the preparing thread only, page after page in order, so a page knows the pages before it.
    """

    def __init__(self, quarantined: set[str]) -> None:
        self.versions: dict[str, dt.datetime] = {}
        self.quarantined = quarantined  # external ids with an open quarantine entry
        self.full = False

    @classmethod
    def of_new_store(cls, store: Store) -> _Remembered | None:
        """For a store that holds no order: its open quarantine entries remembered (one query); else None."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM orders_order WHERE store_id = %s), ARRAY(SELECT external_id"
                " FROM channels_quarantinedpayload WHERE store_id = %s AND resolved_at IS NULL)",
                [store.pk, store.pk],
            )
            has_orders, quarantined = cursor.fetchone()
        return None if has_orders else cls(set(quarantined))

    def held(self, heads: Heads) -> Held:
        asked = _asked(heads)
        return Held(
            asked=asked,
            versions={key: self.versions[key] for key in asked if key in self.versions},
            quarantined=self.quarantined & asked,
        )

    def note(self, page: PreparedPage) -> None:
        """Remember a page prepared to be written (if writing it fails, the sync stops there)."""
        for key, version in zip(page.orders.external_ids, page.orders.versions, strict=True):
            if key not in self.versions or self.versions[key] < version:
                self.versions[key] = version
        self.quarantined.difference_update(page.resolve)
        self.quarantined.update(external_id[:64] for external_id, _, _ in page.quarantine)
        self.full = len(self.versions) >= REMEMBERED


def prepare_page(
    *, store: Store, adapter: Adapter, payloads: list, heads: Heads | None = None, held: Held | None = None
) -> PreparedPage:
    """Normalise a page; what cannot be normalised is set aside with its reason. Runs no query.

    With ``heads`` (page_heads) and ``held`` (held_versions), a payload no newer than the version held
    is skipped before it is normalised: re-reading a page Relay already has costs next to nothing. The
    upsert stays the authority (a version held only grows, so skipping on an older reading is safe).
    """
    good, bad, skipped = [], [], []
    for position, payload in enumerate(payloads):
        head = heads[position] if held is not None and heads else None
        if head is not None:
            held_at = held.versions.get(head[0])
            if held_at is not None and held_at >= head[1]:
                skipped.append(head[0])
                continue
        try:
            order = adapter.normalise_payload(payload)
        except NormalisationError as exc:
            document = payload_document(payload)
            external_id = str(document.get("id", "")) if isinstance(document, dict) else ""
            bad.append((external_id, document, str(exc)))
        else:
            good.append((order, payload_stored(payload)))
    orders = orders_prepare(store_id=store.pk, orders=good)
    present = [*orders.external_ids, *skipped]
    if held is not None:  # only those known to be open, or not asked about
        present = [key for key in present if key in held.quarantined or key not in held.asked]
    return PreparedPage(store_id=store.pk, seen=len(payloads), orders=orders, quarantine=bad, resolve=present)


def write_page(*, store: Store, page: PreparedPage, durable: bool = True, hand_on: bool = True) -> IngestResult:
    """Upsert a prepared page and its quarantine in one transaction.

    A quarantined order that now normalises (or whose version held is as new as the page's) is marked
    resolved. The orders created or changed are handed on to routing (orders.after_ingest) once the
    transaction commits, unless ``hand_on`` is False (the ingest benchmark).

    ``durable=False`` is for pulled pages: the commit returns before its WAL
    is flushed (core.bulk.commit_lazily). A crash may lose the newest such
    pages, never one without those before it, and the sync cursor moves in a
    flushed commit after every page, so a lost page is simply pulled again.
    Webhooks and imports, which answer someone, commit durably.
    """
    resolve = _resolve_quarantine(store=store, external_ids=page.resolve, now=timezone.now())
    if not page.orders and not page.quarantine and not resolve:
        return IngestResult(seen=page.seen)  # a page Relay already holds: not a query more
    with transaction.atomic():
        if not durable and not page.orders:
            commit_lazily()  # else orders_write asks for it in its first round trip
        if not page.quarantine:  # nothing to quarantine first: resolving can go right away
            for sql, params in resolve:
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
            resolve = []
        upserted: UpsertResult = orders_write(page.orders, durable=durable)
        if hand_on:
            enqueue_after_ingest(order_ids=upserted.changed_ids.values())
        for external_id, payload, reason in page.quarantine:
            QuarantinedPayload.objects.update_or_create(
                store=store,
                external_id=external_id[:64],
                resolved_at=None,
                defaults={"payload": payload, "reason": reason[:500]},
            )
        for sql, params in resolve:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
    return IngestResult(
        seen=page.seen, created=upserted.created, updated=upserted.updated, quarantined=len(page.quarantine)
    )


def ingest_payloads(*, store: Store, adapter: Adapter, payloads: list, durable: bool = True) -> IngestResult:
    """Normalise and upsert one page in one transaction (prepare_page, then write_page); payloads no newer
    than the orders held are skipped first (one query)."""
    heads = page_heads(adapter=adapter, payloads=payloads)
    page = prepare_page(
        store=store, adapter=adapter, payloads=payloads, heads=heads, held=held_versions(store=store, heads=heads)
    )
    return write_page(store=store, page=page, durable=durable)


# While a page is prepared on the helper thread, this thread, back from each round trip to PostgreSQL,
# waits for the interpreter lock until the helper's time slice ends: 5 ms by default, about as long as
# the query. Shorter slices while pages are ingested hand it back sooner (a worker runs one task at once).
_INGEST_SWITCH_INTERVAL = 0.0001


@contextlib.contextmanager
def _quick_handover() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, _INGEST_SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def ingest_pages(
    *, store: Store, adapter: Adapter, pages: Iterable[bytes | list], durable: bool = True, hand_on: bool = True
) -> Iterator[IngestResult]:
    """Ingest pages one by one, fetching and preparing the next page while this one is written.

    A page is a list of payloads or a response body the adapter decodes (``Adapter.page_payloads``).
    Three stages: a fetching thread pulls pages from ``pages`` (HTTP or a file) one ahead and decodes
    them; this thread asks which of a fetched page's orders are already held at that version (one
    query) and hands it to a preparing thread, which normalises what is not held (no database); this
    thread writes the prepared pages, which mostly waits on PostgreSQL. In a new store's first sync
    nothing is asked (_Remembered), and the preparing thread decodes the pages itself: one thread
    fewer taking turns at the interpreter, which all three need most of the time. A page is never
    kept from its commit by a slow next page: when the next page is not fetched yet, this one is
    written first.
    Yields each page's result after its commit. An error in any stage stops the pipeline and is raised
    here, after the pages before it are committed. While it asks, the orders table's statistics are
    refreshed as the store grows (STATISTICS_REFRESH_AT).
    """
    source = iter(pages)

    remembered = _Remembered.of_new_store(store)

    def fetch(decode: bool) -> tuple[list, Heads | None] | None:
        page = next(source, None)
        if page is None:
            return None
        if not decode:
            return page, None  # the preparing thread decodes it (prepare_remembered)
        payloads = adapter.page_payloads(page)
        return payloads, page_heads(adapter=adapter, payloads=payloads)

    def prepare(payloads: list, heads: Heads, held: Held) -> PreparedPage:
        return prepare_page(store=store, adapter=adapter, payloads=payloads, heads=heads, held=held)

    def prepare_remembered(page, known: _Remembered) -> PreparedPage:
        payloads = adapter.page_payloads(page)
        heads = page_heads(adapter=adapter, payloads=payloads)
        prepared = prepare(payloads, heads, known.held(heads))
        known.note(prepared)
        return prepared

    def remembering() -> bool:
        return remembered is not None and not remembered.full

    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-fetch") as fetching,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-ingest") as preparing,
        _quick_handover(),
    ):

        def run(pool: ThreadPoolExecutor, fn, *args) -> Future:
            # The helper threads log with this task's tenant and task id.
            return pool.submit(contextvars.copy_context().run, fn, *args)

        fetched: Future = run(fetching, fetch, not remembering())

        def prepare_next() -> Future | None:
            """The next page's preparation, under way; None after the last page. Raises what fetching raised."""
            nonlocal fetched
            page = fetched.result()
            if page is None:
                return None
            fetched = run(fetching, fetch, not remembering())  # the page after it comes in meanwhile
            if page[1] is None:
                return run(preparing, prepare_remembered, page[0], remembered)
            return run(preparing, prepare, *page, held_versions(store=store, heads=page[1]))

        upcoming = prepare_next()
        created, refresh_at = 0, list(STATISTICS_REFRESH_AT)
        while upcoming is not None:
            page = upcoming.result()
            # The next page prepares while this one is written, if it is here already and came in well.
            ready = fetched.done() and fetched.exception() is None
            upcoming = prepare_next() if ready else None
            result = write_page(store=store, page=page, durable=durable, hand_on=hand_on)
            created += result.created
            if refresh_at and created >= refresh_at[0] and not remembering():
                orders_statistics_refresh()
                refresh_at = [at for at in refresh_at if at > created]
            yield result
            if not ready:
                upcoming = prepare_next()
