"""Back to the channel: telling each order's store what shipped, parcel by parcel, with its tracking.

- ``fulfillments_plan``: the FulfillmentPush rows of a shipped dispatch, one per
  (parcel, order) — a parcel of a merged dispatch carries lines of several orders.
- ``fulfillment_push``: one attempt at one push, classified: pushed; failed
  with the channel's words (a refusal, refused credentials, nothing left to
  fulfil there); or still pending, to try again after a wait (the channel was
  down or rate limiting). The task ``channels.push_fulfillment`` loops over attempts.
- ``fulfillment_retry``: the retry button: a failed push goes back to pending and is sent again.
- ``shipped_orders_export``: what a spreadsheet store's merchant gives back to
  the channel by hand, as CSV or XLSX.

What a parcel tells the channel is counted in the channel's own lines (order
lines, in listing units): gifts Relay added are not the channel's, and a
bundle's line counts as shipped only once every product of that unit has
shipped (``parcel_channel_lines``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

import httpx
import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.adapters.base import ChannelAuthError, ChannelError, ChannelUnavailable
from channels.models import Channel, FulfillmentPush, Store
from channels.services import adapter_for
from channels.store_states import store_transition
from core import spreadsheets
from core.states import IllegalTransition, actor_name
from core.tasks import enqueue_named
from orders.models import Order, OrderLine
from suppliers.carriers import carrier_lookup, tracking_url
from suppliers.models import Dispatch, DispatchLine, Parcel, ParcelLine

logger = logging.getLogger(__name__)

P = FulfillmentPush.Status

# Declared in channels.tasks; orders.lifecycle sends PUSH_FULFILLMENTS_TASK by name after a dispatch ships.
PUSH_FULFILLMENTS_TASK = "channels.push_fulfillments"
PUSH_FULFILLMENT_TASK = "channels.push_fulfillment"
# Attempts of one push before it is failed (the channel down or rate limiting all along).
MAX_TRIES = 8
# Waits between attempts when the channel gives no Retry-After: 30 s, 1, 2, 4 … minutes, at most 15.
BACKOFF_FIRST = 30.0
BACKOFF_CAP = 15 * 60.0
# One attempt at a time per push; a killed worker's lock frees itself.
LOCK_SECONDS = 300
MESSAGE_LENGTH = 1000
# Dispatches whose lines no longer count towards what an order line needs.
_GONE = (Dispatch.Status.REJECTED, Dispatch.Status.CANCELLED)


# ------------------------------------------------------------------ what a parcel tells the channel


@dataclass(frozen=True)
class ChannelLine:
    """Units of one of the channel's order lines that a parcel completes."""

    order_line: OrderLine
    quantity: int


def parcel_channel_lines(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], list[ChannelLine]]:
    """For each (parcel id, order id): the order lines it ships, in the channel's units, by line position.

    Gift lines and lines without an order line are not the channel's and are
    left out. A line whose listing is a bundle ships a unit when every product
    of that unit has shipped: the units a parcel reports are those complete
    after it less those complete before it (parcels count in id order, which
    is shipping order), so the parcel holding the last product carries the
    line and one holding only part of it reports nothing for it. Three
    queries, whatever the number of pairs.
    """
    wanted = set(pairs)
    result: dict[tuple[int, int], list[ChannelLine]] = {pair: [] for pair in wanted}
    order_ids = {order_id for _parcel, order_id in wanted}
    if not order_ids:
        return result
    order_lines = {line.pk: line for line in OrderLine.objects.filter(order_id__in=order_ids)}
    channel_lines = DispatchLine.objects.filter(order_id__in=order_ids, is_gift=False, order_line__isnull=False)
    need: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))  # order line -> product -> units
    for line_id, product_id, units in channel_lines.exclude(dispatch__status__in=_GONE).values_list(
        "order_line_id", "product_id", "quantity"
    ):
        need[line_id][product_id] += units
    rows = (
        ParcelLine.objects.filter(dispatch_line__in=channel_lines)
        .order_by("parcel_id", "pk")
        .values_list(
            "parcel_id", "dispatch_line__order_id", "dispatch_line__order_line_id", "dispatch_line__product_id",
            "quantity",
        )
    )  # fmt: skip
    shipped: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))  # so far, in id order
    for parcel_id, group in groupby(rows, key=itemgetter(0)):
        before: dict[int, int] = {}
        touched: dict[int, set[int]] = defaultdict(set)
        for _parcel, order_id, line_id, product_id, units in group:
            if line_id not in before:
                before[line_id] = _complete_units(order_lines[line_id], need[line_id], shipped[line_id])
            shipped[line_id][product_id] += units
            touched[order_id].add(line_id)
        for order_id, line_ids in touched.items():
            if (parcel_id, order_id) not in wanted:
                continue
            for line_id in line_ids:
                units = _complete_units(order_lines[line_id], need[line_id], shipped[line_id]) - before[line_id]
                if units > 0:
                    result[(parcel_id, order_id)].append(ChannelLine(order_lines[line_id], units))
            result[(parcel_id, order_id)].sort(key=lambda item: (item.order_line.position, item.order_line.pk))
    return result


def _complete_units(line: OrderLine, need: dict[int, int], shipped: dict[int, int]) -> int:
    """Units of ``line`` whose every product has shipped (at most the line's quantity)."""
    if line.quantity <= 0 or not need:
        return 0
    return min(line.quantity, *(shipped.get(product, 0) * line.quantity // units for product, units in need.items()))


# ------------------------------------------------------------------ planning


def fulfillments_plan(*, dispatch_id: int) -> list[int]:
    """Write the pushes of a shipped dispatch, one per (parcel, order); returns the ids of those still pending.

    Safe to run twice: a push already written is left as it is (unique on
    parcel and order), so the second run adds nothing. A spreadsheet store's
    push is ``not_needed`` (its shipped-orders export carries the tracking),
    as is one whose parcel holds nothing the channel sells (only gifts, or
    part of a bundle a later parcel completes). A dispatch that has not
    shipped has no parcels and gets no push.
    """
    pairs = sorted(
        set(
            ParcelLine.objects.filter(parcel__dispatch_id=dispatch_id, parcel__dispatch__status=Dispatch.Status.SHIPPED)
            .order_by()
            .values_list("parcel_id", "dispatch_line__order_id")
        )
    )
    written = set(FulfillmentPush.objects.filter(parcel__dispatch_id=dispatch_id).values_list("parcel_id", "order_id"))
    new = [pair for pair in pairs if pair not in written]
    if new:
        store_of = dict(Order.objects.filter(pk__in={order_id for _p, order_id in new}).values_list("pk", "store_id"))
        channel_of = dict(Store.objects.filter(pk__in=set(store_of.values())).values_list("pk", "channel"))
        lines = parcel_channel_lines(pairs=new)
        rows = []
        for parcel_id, order_id in new:
            status, message = P.PENDING, ""
            if channel_of[store_of[order_id]] == Channel.SPREADSHEET:
                status, message = P.NOT_NEEDED, _spreadsheet_store()
            elif not lines[(parcel_id, order_id)]:
                status, message = P.NOT_NEEDED, _nothing_for_the_channel()
            rows.append(
                FulfillmentPush(
                    store_id=store_of[order_id], order_id=order_id, parcel_id=parcel_id, status=status, message=message
                )
            )
        FulfillmentPush.objects.bulk_create(rows, ignore_conflicts=True)
        logger.info(
            "fulfillment pushes planned",
            extra={"dispatch": dispatch_id, "pushes": len(rows),
                   "pending": sum(1 for row in rows if row.status == P.PENDING)},
        )  # fmt: skip
    return list(
        FulfillmentPush.objects.filter(parcel__dispatch_id=dispatch_id, status=P.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# A pending push not attempted for this long lost its task (a worker died, a message was dropped): longer
# than the longest wait between two attempts, so a push waiting for its retry is never sent twice.
STUCK_AFTER = dt.timedelta(seconds=BACKOFF_CAP * 2)


def fulfillments_stuck(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of pending pushes not attempted for STUCK_AFTER, oldest first: what the periodic sweep sends
    again. One query on the (status, updated) index: cheap enough to run every minute."""
    before = (now or timezone.now()) - STUCK_AFTER
    return list(
        FulfillmentPush.objects.filter(status=P.PENDING, updated__lt=before)
        .order_by("updated", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def _spreadsheet_store() -> str:
    return _("Spreadsheet store: the tracking is in its shipped-orders export.")


def _nothing_for_the_channel() -> str:
    return _("Nothing in this parcel for the channel: only gifts, or part of a bundle that a later parcel completes.")


# ------------------------------------------------------------------ one attempt


@dataclass(frozen=True)
class PushOutcome:
    """What an attempt left: the push's status, and when the channel was unavailable, seconds to wait."""

    status: str
    retry_in: float | None = None


def backoff(attempt: int) -> float:
    """Seconds before the next attempt when the channel gave no Retry-After (with jitter, so workers spread out)."""
    delay = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, attempt - 1))
    return delay + random.uniform(0, delay / 4)


def fulfillment_push(*, push_id: int, last_try: bool = False, client: httpx.Client | None = None) -> PushOutcome:
    """One attempt to tell the channel about one pending push.

    The outcome, written with a compare-and-set on ``pending``:

    - pushed: ``external_id`` is the channel's id for it, ``pushed_at`` now.
      A fulfillment the channel already holds with this tracking number (a
      retry after a lost answer) counts as pushed.
    - failed, with the channel's message and never retried: a refusal; a
      422 meaning nothing is left to fulfil there; refused credentials (the
      store is then marked as needing re-authorisation, its credentials never
      in the message).
    - still pending with ``retry_in`` seconds (the channel's Retry-After, else
      ``backoff``): timeouts, network errors, 429 and 5xx. On ``last_try``
      those fail too.

    Skips, returning the status as it is, a push that is not pending (pushed,
    failed, not needed) or that another worker is attempting right now.
    Counts the attempt in ``attempts``.
    """
    lock = redis.Redis.from_url(settings.REDIS_URL).lock(
        f"relay:lock:{connection.schema_name}:fulfillment-push:{push_id}", timeout=LOCK_SECONDS
    )
    if not lock.acquire(blocking=False):
        logger.info("fulfillment push skipped: another attempt is running", extra={"push": push_id})
        return PushOutcome(status=P.PENDING)
    try:
        return _attempt(push_id=push_id, last_try=last_try, client=client)
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()


def _attempt(*, push_id: int, last_try: bool, client: httpx.Client | None) -> PushOutcome:
    claimed = FulfillmentPush.objects.filter(pk=push_id, status=P.PENDING).update(
        attempts=F("attempts") + 1, updated=timezone.now()
    )
    if not claimed:
        status = FulfillmentPush.objects.filter(pk=push_id).values_list("status", flat=True).first()
        return PushOutcome(status=status or "")
    push = FulfillmentPush.objects.select_related("store", "parcel").get(pk=push_id)
    order = Order.objects.only("pk", "external_id", "status").get(pk=push.order_id)
    lines = parcel_channel_lines(pairs=[(push.parcel_id, order.pk)])[(push.parcel_id, order.pk)]
    if not push.store.pulls:
        return _finish(push, P.NOT_NEEDED, message=_spreadsheet_store())
    if not lines:
        return _finish(push, P.NOT_NEEDED, message=_nothing_for_the_channel())
    if push.store.status == Store.Status.NEEDS_REAUTH:
        return _finish(push, P.FAILED, message=_reauth(_("The channel refused the store's credentials earlier.")))
    return _call_channel(push=push, order=order, lines=lines, last_try=last_try, client=client)


def _call_channel(
    *, push: FulfillmentPush, order: Order, lines: list[ChannelLine], last_try: bool, client: httpx.Client | None
) -> PushOutcome:
    store, parcel = push.store, push.parcel
    carrier = carrier_lookup(parcel.carrier)
    adapter = adapter_for(store, client=client, max_attempts=1)  # the task spaces out the attempts
    try:
        external_id = adapter.push_fulfillment(
            order_external_id=order.external_id,
            lines=[(line.order_line.external_id, line.quantity) for line in lines],
            carrier=carrier.shopify_company if carrier else parcel.carrier,
            tracking_number=parcel.tracking_number,
            tracking_url=parcel.tracking_url or tracking_url(parcel.carrier, parcel.tracking_number),
            # Every dispatch of the order has shipped: the lifecycle moved it before sending the push.
            complete=order.status == Order.Status.SHIPPED,
        )
    except ChannelAuthError as exc:
        store_transition(
            store=store, to=Store.Status.NEEDS_REAUTH, actor_label="fulfillment push", reason=str(exc)[:500],
            when_from=(Store.Status.ACTIVE, Store.Status.PAUSED),
        )  # fmt: skip
        return _finish(push, P.FAILED, message=_reauth(str(exc)))
    except ChannelUnavailable as exc:
        return _unavailable(push, exc, last_try=last_try)
    except ChannelError as exc:  # a refusal, NothingToFulfil among them: trying again will not help
        return _finish(push, P.FAILED, message=str(exc))
    except Exception as exc:
        _finish(push, P.FAILED, message=_("Unexpected error: %(error)s") % {"error": type(exc).__name__})
        raise
    finally:
        adapter.close()
    return _finish(push, P.PUSHED, external_id=external_id)


def _unavailable(push: FulfillmentPush, exc: ChannelUnavailable, *, last_try: bool) -> PushOutcome:
    """The channel is down or rate limiting: wait (its Retry-After, else backoff) and try again, or give up."""
    if last_try:
        return _finish(
            push, P.FAILED,
            message=_("%(reason)s Gave up after %(attempts)d attempts.") % {"reason": exc, "attempts": push.attempts},
        )  # fmt: skip
    # Never longer than the cap: a countdown past the broker's visibility timeout would be delivered twice.
    wait = min(exc.retry_after, BACKOFF_CAP) if exc.retry_after is not None else backoff(push.attempts)
    message = _("%(reason)s Trying again in %(seconds)d s.") % {"reason": exc, "seconds": round(wait)}
    FulfillmentPush.objects.filter(pk=push.pk, status=P.PENDING).update(message=message[:MESSAGE_LENGTH])
    logger.warning(
        "fulfillment push will be retried",
        extra={"push": push.pk, "store": push.store_id, "attempt": push.attempts, "wait": round(wait, 1),
               "reason": str(exc)},
    )  # fmt: skip
    return PushOutcome(status=P.PENDING, retry_in=wait)


def _reauth(reason: str) -> str:
    return _("The store needs re-authorisation: %(reason)s") % {"reason": reason}


def _finish(push: FulfillmentPush, status: str, *, message: str = "", external_id: str = "") -> PushOutcome:
    now = timezone.now()
    fields = {"status": status, "message": message[:MESSAGE_LENGTH], "updated": now}
    if status == P.PUSHED:
        fields.update(external_id=external_id[:200], pushed_at=now)
    done = FulfillmentPush.objects.filter(pk=push.pk, status=P.PENDING).update(**fields)
    log = logger.warning if status == P.FAILED else logger.info
    log(
        "fulfillment push finished",
        extra={"push": push.pk, "store": push.store_id, "order": push.order_id, "parcel": push.parcel_id,
               "status": status, "attempts": push.attempts, "said": message, "written": bool(done)},
    )  # fmt: skip
    return PushOutcome(status=status)


# ------------------------------------------------------------------ the retry button


def fulfillment_retry(*, push_id: int, actor) -> FulfillmentPush:
    """A person asks for a failed push to be tried again: it becomes pending and is sent once this commits.

    Raises IllegalTransition, changing nothing, for a push that is not failed.
    The new round has its own MAX_TRIES attempts; ``attempts`` keeps counting.
    """
    with transaction.atomic():
        push = FulfillmentPush.objects.select_for_update().get(pk=push_id)
        if push.status != P.FAILED:
            raise IllegalTransition(
                _("Only a failed channel update can be retried; this one is %(status)s.")
                % {"status": push.get_status_display().lower()},
                code="illegal_transition",
            )
        push.status = P.PENDING
        push.message = _("Retry asked by %(who)s.") % {"who": actor_name(actor, "console")}
        push.save(update_fields=["status", "message", "updated"])
        enqueue_named(PUSH_FULFILLMENT_TASK, push.pk)
    logger.info("fulfillment push retry asked", extra={"push": push.pk, "store": push.store_id,
                                                        "actor": getattr(actor, "pk", None)})  # fmt: skip
    return push


@dataclass(frozen=True)
class RetryReport:
    retried: int
    refused: list[tuple[str, str]]  # (order number, why), for the pushes left as they were


def fulfillments_retry(*, push_ids: Iterable[int], actor) -> RetryReport:
    """The bulk form of ``fulfillment_retry``: each failed push among ``push_ids`` becomes pending and is sent
    once this commits; any other (already pushed, pending) is left unchanged and reported as refused; an unknown
    id is skipped. Each push is its own transaction, so one refusal never holds back the others."""
    retried, refused = 0, []
    for push_id in sorted(set(push_ids)):
        try:
            fulfillment_retry(push_id=push_id, actor=actor)
        except IllegalTransition as exc:
            number = FulfillmentPush.objects.filter(pk=push_id).values_list("order__order_number", flat=True).first()
            refused.append((number or "", " ".join(exc.messages)))
        except FulfillmentPush.DoesNotExist:
            continue
        else:
            retried += 1
    return RetryReport(retried=retried, refused=refused)


# ------------------------------------------------------------------ the shipped-orders export

EXPORT_COLUMNS: tuple[str, ...] = (
    "order_number", "external_id", "sku", "quantity", "carrier", "tracking_number", "tracking_url", "shipped_at",
)  # fmt: skip
EXPORT_FORMATS = ("csv", "xlsx")
# What makes a spreadsheet read a cell as a formula (CSV injection): such text gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def shipped_orders_rows(
    *, store: Store, since: dt.datetime | None = None, until: dt.datetime | None = None, tz: dt.tzinfo = dt.UTC
) -> list[dict[str, object]]:
    """One row per order line and parcel of the store's orders shipped in [since, until), oldest first.

    Quantities are in the channel's units (see parcel_channel_lines); gifts
    are left out. ``shipped_at`` is a naive datetime in ``tz`` (the tenant's).
    """
    parcel_lines = ParcelLine.objects.filter(dispatch_line__order__store=store)
    if since is not None:
        parcel_lines = parcel_lines.filter(parcel__shipped_at__gte=since)
    if until is not None:
        parcel_lines = parcel_lines.filter(parcel__shipped_at__lt=until)
    pairs = set(parcel_lines.order_by().values_list("parcel_id", "dispatch_line__order_id"))
    if not pairs:
        return []
    parcels = Parcel.objects.in_bulk({parcel_id for parcel_id, _o in pairs})
    orders = Order.objects.only("pk", "order_number", "external_id").in_bulk({order_id for _p, order_id in pairs})
    lines = parcel_channel_lines(pairs=pairs)
    rows = []
    for parcel_id, order_id in sorted(pairs, key=lambda pair: (parcels[pair[0]].shipped_at, pair[0], pair[1])):
        parcel, order = parcels[parcel_id], orders[order_id]
        carrier = carrier_lookup(parcel.carrier)
        for line in lines[(parcel_id, order_id)]:
            rows.append(
                {
                    "order_number": order.order_number,
                    "external_id": order.external_id,
                    "sku": line.order_line.listing_sku,
                    "quantity": line.quantity,
                    "carrier": carrier.shopify_company if carrier else parcel.carrier,
                    "tracking_number": parcel.tracking_number,
                    "tracking_url": parcel.tracking_url or tracking_url(parcel.carrier, parcel.tracking_number),
                    "shipped_at": parcel.shipped_at.astimezone(tz).replace(tzinfo=None),
                }
            )
    return rows


def shipped_orders_export(
    *, store: Store, fmt: str, since: dt.datetime | None = None, until: dt.datetime | None = None,
    tz: dt.tzinfo = dt.UTC,
) -> bytes:  # fmt: skip
    """The shipped-orders rows as a CSV (UTF-8 with BOM) or XLSX file; text that a spreadsheet would run
    as a formula is written with a leading apostrophe. Raises ValueError for another format."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    rows = [
        {key: _inert(value) for key, value in row.items()}
        for row in shipped_orders_rows(store=store, since=since, until=until, tz=tz)
    ]
    if fmt == "csv":
        return spreadsheets.template_csv(columns=EXPORT_COLUMNS, rows=rows)
    return spreadsheets.template_xlsx(
        columns=EXPORT_COLUMNS, rows=rows, sheet_title="shipped",
        number_formats={"quantity": "0", "shipped_at": "yyyy-mm-dd hh:mm"},
    )  # fmt: skip


def _inert(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
