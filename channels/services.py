"""Stores: connect, test, pause, whether they may sync; syncing — pull, replay, re-process.

Ingesting a page (decode, skip what is held, normalise, quarantine, upsert) is
channels.ingest; its entry points are named here too, where callers find them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import httpx
import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.adapters import get_adapter
from channels.adapters.base import Adapter, ChannelAddressRefused, ChannelAuthError, ChannelError
from channels.ingest import ingest_pages, ingest_payloads
from channels.models import CREDENTIAL_FIELDS, Channel, QuarantinedPayload, Store, SyncRun
from channels.store_states import store_transition
from channels.vault import decrypt_credentials, encrypt_credentials, rotate_token
from core.bulk import commit_lazily
from core.outbound import url_refusal
from core.tasks import enqueue_named
from orders.models import Order

logger = logging.getLogger(__name__)

# Each run re-reads this much before the cursor, so an order updated on the
# boundary (clock skew, a page committed late on the channel) is never missed.
SYNC_OVERLAP = dt.timedelta(minutes=10)
# Short, renewed after every page: a killed worker's lock frees itself soon.
SYNC_LOCK_SECONDS = 120
# The Celery task that runs store_sync (declared in channels.tasks, which imports this module).
SYNC_STORE_TASK = "channels.sync_store"
# The statuses a refused credential moves to "needs re-authorisation" (one already there stays, without a new event).
_CREDENTIALS_TRUSTED = (Store.Status.ACTIVE, Store.Status.PAUSED)


# ------------------------------------------------------------------ stores


def adapter_for(store: Store, *, client: httpx.Client | None = None, **options) -> Adapter:
    """The channel adapter of a pulling store, with its decrypted credentials."""
    if not store.pulls:
        raise ValidationError(_("Spreadsheet stores have no channel API."))
    return get_adapter(
        store.channel,
        base_url=store.base_url,
        credentials=decrypt_credentials(store.credentials_encrypted),
        client=client,
        **options,
    )


def _check_base_url(base_url: str, *, store: Store | None = None) -> None:
    """Refuse (ValidationError on ``base_url``) an address Relay will not call: not http(s), with a user name or
    password, or a loopback, private, link-local or metadata address (by itself or by what its name resolves
    to now) that settings.RELAY_OUTBOUND_ALLOW does not list. Connect time checks again (core.outbound)."""
    if not base_url:
        return
    refusal = url_refusal(base_url)
    if refusal:
        host = urlsplit(base_url).hostname or ""
        logger.warning(
            "store address refused", extra={"store": store.pk if store else None, "host": host, "reason": refusal}
        )
        raise ValidationError({"base_url": refusal})


def _log_address_refused(store: Store, exc: ChannelAddressRefused) -> None:
    logger.warning("store address refused", extra={"store": store.pk, "host": exc.host, "reason": exc.reason})


def _clean_credentials(channel: str, credentials: Mapping[str, str]) -> dict[str, str]:
    allowed = CREDENTIAL_FIELDS[channel]
    return {key: str(credentials[key]).strip() for key in allowed if credentials.get(key)}


@transaction.atomic
def store_create(
    *, name: str, channel: str, base_url: str = "", credentials: Mapping[str, str] | None = None,
    sync_interval_minutes: int = 5,
) -> Store:  # fmt: skip
    """Connect a store. Raises ValidationError naming what is missing or wrong.

    A ``base_url`` that is not http(s), carries a user name or password, or is (or resolves to) a loopback,
    private, link-local or metadata address not allow-listed (settings.RELAY_OUTBOUND_ALLOW) is refused.
    """
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    if Store.objects.filter(name__iexact=name.strip()).exists():
        raise ValidationError({"name": _("A store with this name already exists.")})
    _check_base_url(base_url)
    creds = _clean_credentials(channel, credentials or {})
    if channel in (Channel.SHOPIFY, Channel.WOOCOMMERCE, Channel.SANDBOX):
        if not base_url:
            raise ValidationError({"base_url": _("The store's address is required.")})
        required = {
            "shopify": ["access_token"],
            "sandbox": ["access_token"],
            "woocommerce": ["consumer_key", "consumer_secret"],
        }
        missing = [key for key in required[channel] if key not in creds]
        if missing:
            raise ValidationError({key: _("This credential is required.") for key in missing})
    store = Store(
        name=name.strip(),
        channel=channel,
        base_url=base_url.rstrip("/"),
        sync_interval_minutes=sync_interval_minutes,
        credentials_encrypted=encrypt_credentials(creds) if creds else "",
    )
    store.full_clean(exclude=["credentials_encrypted", "webhook_token"])
    store.save()
    return store


def store_update(
    *, store: Store, name: str | None = None, base_url: str | None = None,
    credentials: Mapping[str, str] | None = None, sync_interval_minutes: int | None = None, actor=None,
) -> Store:  # fmt: skip
    """Change a store. Credentials given replace those fields; blank ones keep the stored value.

    New credentials lift a "needs re-authorisation" status back to active
    (with its StoreEvent, ``actor`` acting). Raises ValidationError naming
    the field, changing nothing (a base_url Relay will not call is refused, see store_create).
    """
    if base_url is not None:
        _check_base_url(base_url, store=store)
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        fields = []
        if name is not None and name.strip() != store.name:
            if Store.objects.filter(name__iexact=name.strip()).exclude(pk=store.pk).exists():
                raise ValidationError({"name": _("A store with this name already exists.")})
            store.name = name.strip()
            fields.append("name")
        if base_url is not None:
            store.base_url = base_url.rstrip("/")
            fields.append("base_url")
        if sync_interval_minutes is not None:
            store.sync_interval_minutes = sync_interval_minutes
            fields.append("sync_interval_minutes")
        new = _clean_credentials(store.channel, credentials or {})
        if new:
            merged = {**decrypt_credentials(store.credentials_encrypted), **new}
            store.credentials_encrypted = encrypt_credentials(merged)
            fields.append("credentials_encrypted")
        store.full_clean(exclude=["credentials_encrypted", "webhook_token"])
        if fields:
            store.save(update_fields=fields)
        if new and store.status == Store.Status.NEEDS_REAUTH:
            store_transition(
                store=store, to=Store.Status.ACTIVE, actor=actor, actor_label="console",
                reason=_("New credentials were entered."),
            )  # fmt: skip
    return store


def store_set_paused(*, store: Store, paused: bool, actor=None) -> Store:
    """Pause an active store, or resume a paused one; writes its StoreEvent.

    Raises IllegalTransition, changing nothing, for any other status (a store
    waiting for credentials is made active by entering them, not by resuming).
    """
    to, only_from = (Store.Status.PAUSED, Store.Status.ACTIVE) if paused else (Store.Status.ACTIVE, Store.Status.PAUSED)
    return store_transition(
        store=store, to=to, expected_from=only_from, actor=actor, actor_label="console",
        reason=_("Paused in the console.") if paused else _("Resumed in the console."),
    )  # fmt: skip


def store_test_connection(*, store: Store, client: httpx.Client | None = None, actor=None) -> tuple[bool, str]:
    """Ask the channel whether the credentials work; the message is for the person.

    Refused credentials mark the store "needs re-authorisation"; working ones
    lift that mark. Each change writes its StoreEvent with ``actor``. An address
    Relay does not connect to (core.outbound) is reported, logged and never reached.
    """
    if not store.pulls:
        return True, _("Spreadsheet stores have no connection to test.")
    try:
        with contextlib.closing(adapter_for(store, client=client)) as adapter:
            description = adapter.test_connection()
    except ChannelAddressRefused as exc:
        _log_address_refused(store, exc)
        return False, str(exc)
    except ChannelAuthError as exc:
        store_transition(
            store=store, to=Store.Status.NEEDS_REAUTH, actor=actor, actor_label="connection test",
            reason=str(exc), when_from=_CREDENTIALS_TRUSTED,
        )  # fmt: skip
        return False, str(exc)
    except ChannelError as exc:
        return False, str(exc)
    store_transition(
        store=store, to=Store.Status.ACTIVE, actor=actor, actor_label="connection test",
        reason=_("The connection test passed."), when_from=[Store.Status.NEEDS_REAUTH],
    )  # fmt: skip
    return True, _("Connected: %(shop)s") % {"shop": description}


def rotate_store_credentials() -> int:
    """Re-encrypt every store's credentials with the current primary key."""
    count = 0
    for store in Store.objects.exclude(credentials_encrypted="").only("pk", "credentials_encrypted"):
        Store.objects.filter(pk=store.pk).update(credentials_encrypted=rotate_token(store.credentials_encrypted))
        count += 1
    return count


# ------------------------------------------------------------------ may it sync?


def store_sync_refusal(*, store: Store, kind: str) -> str | None:
    """Why ``store`` may not be synced now (a sync of ``kind``, replays included), or None when it may.

    The one rule for the page, the API and the task: only an active store
    that pulls from a channel syncs. A paused store waits to be resumed, a
    store whose credentials were refused waits for new ones, and a
    spreadsheet store is imported from files.
    """
    if not store.pulls:
        return _("Spreadsheet stores are imported from files, not synced.")
    action = _("replay a window") if kind == SyncRun.Kind.REPLAY else _("sync it")
    if store.status == Store.Status.PAUSED:
        return _("The store is paused; resume it before you %(action)s.") % {"action": action}
    if store.status == Store.Status.NEEDS_REAUTH:
        return _("The channel refused the store's credentials; enter new ones before you %(action)s.") % {
            "action": action
        }
    return None


def store_sync_start(
    *, store: Store, kind: str = SyncRun.Kind.MANUAL, window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
) -> None:  # fmt: skip
    """Start a sync, or with a window a replay of it, in the background once the transaction commits.

    Raises ValidationError with the reason (see store_sync_refusal), starting nothing.
    """
    refusal = store_sync_refusal(store=store, kind=kind)
    if refusal:
        raise ValidationError(refusal, code="sync_refused")
    window = [window_start.isoformat(), window_end.isoformat()] if window_start and window_end else []
    enqueue_named(SYNC_STORE_TASK, store.pk, kind, *window)


# ------------------------------------------------------------------ syncing (ingestion: channels.ingest)


def _lock(store: Store) -> redis.lock.Lock:
    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.lock(f"relay:lock:{connection.schema_name}:store-sync:{store.pk}", timeout=SYNC_LOCK_SECONDS)


def _lock_take(lock: redis.lock.Lock, *, task_id: str | None) -> bool:
    """Acquire ``lock`` now, or take it over when it is held under this very task's id (a redelivered task)."""
    token = task_id.encode() if task_id else None
    if lock.acquire(blocking=False, token=token):
        return True
    if token is None or lock.redis.get(lock.name) != token:
        return False
    lock.local.token = token
    lock.reacquire()  # a fresh timeout, under the same token
    logger.info("sync lock taken over: the same task, redelivered after its worker stopped")
    return True


def store_sync(
    *, store_id: int, kind: str = SyncRun.Kind.SCHEDULED, window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None, client: httpx.Client | None = None,
    on_progress: Callable[[SyncRun], None] | None = None, adapter_options: dict | None = None,
    task_id: str | None = None,
) -> SyncRun | None:  # fmt: skip
    """Pull the store's orders updated in a window and upsert them, page by page.

    Without a window: from the cursor (less the overlap) to now, and the
    cursor moves to the window's end only after every page is committed. With
    a window (replay) the cursor is left alone. Returns None when another sync
    of the store is running (one at a time), else the ledger row.

    Returns None too, running nothing, when the store may not sync now
    (store_sync_refusal: paused or waiting for credentials since the sync was
    asked for, or a spreadsheet store).

    Raises ChannelUnavailable (the task retries it); a refused credential marks
    the store "needs re-authorisation" and returns the failed run.

    ``task_id`` (the Celery task's id) is the lock's token: when the broker hands the same task again because
    its worker died holding the lock, the task takes its own lock over instead of waiting for it to expire.
    """
    store = Store.objects.get(pk=store_id)
    refusal = store_sync_refusal(store=store, kind=kind)
    if refusal:
        logger.info("sync skipped: %s", refusal, extra={"store": store.pk})
        return None
    lock = _lock(store)
    if not _lock_take(lock, task_id=task_id):
        logger.info("sync skipped: already running", extra={"store": store.pk})
        return None
    # We hold the lock, so a run still marked running was cut off (worker killed).
    SyncRun.objects.filter(store=store, status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        message=_("Interrupted; the next run picked up from the cursor."),
    )
    started = time.monotonic()
    replay = window_start is not None
    until = window_end or timezone.now()
    since = window_start if replay else (store.sync_cursor - SYNC_OVERLAP if store.sync_cursor else None)
    run = SyncRun.objects.create(store=store, kind=kind, window_start=since, window_end=until)
    try:
        adapter = adapter_for(store, client=client, **(adapter_options or {}))
        _pull(run=run, store=store, adapter=adapter, lock=lock, on_progress=on_progress)
        _finish(run=run, store=store, move_cursor=not replay)
    except ChannelAuthError as exc:
        _fail(run=run, store=store, message=str(exc), needs_reauth=True)
    except ChannelError as exc:
        if isinstance(exc, ChannelAddressRefused):
            _log_address_refused(store, exc)
        _fail(run=run, store=store, message=str(exc))
        raise
    except Exception as exc:
        _fail(run=run, store=store, message=_("Unexpected error: %(error)s") % {"error": type(exc).__name__})
        raise
    finally:
        run.finished_at = timezone.now()
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.save()
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()
        logger.info(
            "sync finished",
            extra={
                "store": store.pk, "run": run.pk, "status": run.status, "seen": run.orders_seen,
                "orders_created": run.orders_created, "orders_updated": run.orders_updated,
                "quarantined": run.orders_quarantined, "ms": run.duration_ms,
            },
        )  # fmt: skip
    return run


def _pull(*, run: SyncRun, store: Store, adapter: Adapter, lock, on_progress) -> None:
    since, until = run.window_start, run.window_end
    try:
        run.channel_count = adapter.count_orders(updated_since=since, updated_until=until)
    except ChannelAuthError:
        raise
    except ChannelError:
        run.channel_count = None  # counting is a check, not a condition
    run.save(update_fields=["channel_count"])
    pages = adapter.iter_payload_pages(updated_since=since, updated_until=until)
    for result in ingest_pages(store=store, adapter=adapter, pages=pages, durable=False):
        run.pages += 1
        run.orders_seen += result.seen
        run.orders_created += result.created
        run.orders_updated += result.updated
        run.orders_quarantined += result.quarantined
        with transaction.atomic():
            commit_lazily()  # the ledger's counts, like the pages they count, can be re-derived by a re-pull
            run.save(update_fields=["pages", "orders_seen", "orders_created", "orders_updated", "orders_quarantined"])
        lock.reacquire()  # still alive: keep the lock; a dead worker's lock expires on its own
        if on_progress:
            on_progress(run)


def _finish(*, run: SyncRun, store: Store, move_cursor: bool) -> None:
    relay = Order.objects.filter(store=store, channel_updated_at__lte=run.window_end)
    if run.window_start is not None:
        relay = relay.filter(channel_updated_at__gte=run.window_start)
    run.relay_count = relay.count()
    run.status = SyncRun.Status.SUCCEEDED
    if run.has_gap:
        run.message = _("The channel counts %(channel)d orders in this window, Relay holds %(relay)d.") % {
            "channel": run.channel_count,
            "relay": run.relay_count,
        }
    with transaction.atomic():
        if move_cursor:
            # Only forward, and only now that every page is committed.
            Store.objects.filter(Q(sync_cursor__isnull=True) | Q(sync_cursor__lt=run.window_end), pk=store.pk).update(
                sync_cursor=run.window_end
            )
        Store.objects.filter(pk=store.pk).update(
            last_sync_at=timezone.now(), last_sync_ok=True, last_sync_message=run.message[:500]
        )


def _fail(*, run: SyncRun, store: Store, message: str, needs_reauth: bool = False) -> None:
    run.status = SyncRun.Status.FAILED
    run.message = message[:500]
    Store.objects.filter(pk=store.pk).update(
        last_sync_at=timezone.now(), last_sync_ok=False, last_sync_message=run.message
    )
    if needs_reauth:
        store_transition(
            store=store, to=Store.Status.NEEDS_REAUTH, actor_label="sync", reason=run.message,
            when_from=_CREDENTIALS_TRUSTED,
        )  # fmt: skip


def quarantine_reprocess(*, quarantined: QuarantinedPayload, payload: dict | None = None) -> bool:
    """Try a quarantined payload again (after an adapter fix, or with a corrected payload).

    True if the order is now in Relay (the quarantine entry is then resolved).
    """
    store = quarantined.store
    with transaction.atomic():
        result = ingest_payloads(store=store, adapter=adapter_for(store), payloads=[payload or quarantined.payload])
        if result.quarantined:
            QuarantinedPayload.objects.filter(pk=quarantined.pk).update(last_seen=timezone.now())
            return False
        # ingest resolves entries by the order's id; this one may have been kept under
        # another (e.g. none, when the id was what was wrong), so resolve it by its own key.
        QuarantinedPayload.objects.filter(pk=quarantined.pk, resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        )
    return True


def stores_due_for_sync(*, now: dt.datetime | None = None) -> list[int]:
    """Active pulling stores whose interval has passed since their last sync."""
    now = now or timezone.now()
    due = []
    for store in Store.objects.filter(status=Store.Status.ACTIVE, channel__in=list(CREDENTIAL_FIELDS)).only(
        "pk", "channel", "last_sync_at", "sync_interval_minutes"
    ):
        if not store.pulls:
            continue
        if store.last_sync_at is None or store.last_sync_at + dt.timedelta(minutes=store.sync_interval_minutes) <= now:
            due.append(store.pk)
    return due
