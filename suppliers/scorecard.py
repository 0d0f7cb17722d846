"""How well a supplier works, month by month, from its dispatches: set-based SQL, one query per question.

A dispatch counts in the month (tenant time zone) it was routed in, so a
month's figures settle as its dispatches are answered and shipped:

- decided: accepted, shipped or rejected (pending and merchant-cancelled ones
  say nothing about the supplier);
- median time to accept: routed → accepted (a dispatch shipped without being
  accepted first counts as accepted when it shipped);
- median time to ship: routed → shipped;
- on-time rate: shipped by the ship-by deadline, among the shipped ones that
  had a deadline;
- rejection rate: rejected / decided, and the rejections by reason code.

Routing's "best supplier record" strategy reads ``supplier_records``: the same
figures over a trailing window, per supplier.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Aggregate, Count, DurationField, F, Q
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from suppliers.models import Dispatch

D = Dispatch.Status
R = Dispatch.RejectReason

DECIDED = (D.ACCEPTED, D.SHIPPED, D.REJECTED)
RECORD_DAYS = 180  # the window of the record routing ranks suppliers by
MAX_MONTHS = 24
NO_CODE = ""  # rejections written before reason codes existed


class Median(Aggregate):
    """PostgreSQL's percentile_cont(0.5): the median, interpolated, of an interval or a number."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


_SHIPPED_IN_TIME = Q(status=D.SHIPPED, shipped_at__isnull=False, ship_by__isnull=False)


def _figures() -> dict:
    """The aggregates every scorecard row and every routing record is made of."""
    return {
        "dispatches": Count("id"),
        "decided": Count("id", filter=Q(status__in=DECIDED)),
        "rejected": Count("id", filter=Q(status=D.REJECTED)),
        "shipped": Count("id", filter=Q(status=D.SHIPPED)),
        "with_deadline": Count("id", filter=_SHIPPED_IN_TIME),
        "on_time": Count("id", filter=_SHIPPED_IN_TIME & Q(shipped_at__lte=F("ship_by"))),
    }


@dataclass(frozen=True)
class MonthScore:
    """One supplier's figures for one month (dispatches routed in it)."""

    month: dt.date  # the first day of the month
    dispatches: int = 0
    decided: int = 0
    rejected: int = 0
    shipped: int = 0
    with_deadline: int = 0  # shipped dispatches that had a ship-by deadline
    on_time: int = 0
    median_accept: dt.timedelta | None = None
    median_ship: dt.timedelta | None = None
    rejections: dict[str, int] = field(default_factory=dict)  # reason code ("" = none given) -> count

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.with_deadline if self.with_deadline else None

    @property
    def rejection_rate(self) -> float | None:
        return self.rejected / self.decided if self.decided else None

    def as_dict(self) -> dict:
        return {
            "month": self.month.strftime("%Y-%m"),
            "dispatches": self.dispatches,
            "decided": self.decided,
            "rejected": self.rejected,
            "shipped": self.shipped,
            "shipped_with_deadline": self.with_deadline,
            "on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "rejection_rate": self.rejection_rate,
            "median_accept_seconds": _seconds(self.median_accept),
            "median_ship_seconds": _seconds(self.median_ship),
            "rejections": dict(self.rejections),
        }


def _seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def month_starts(*, months: int, tz: dt.tzinfo, now: dt.datetime | None = None) -> list[dt.date]:
    """The first days of the last ``months`` months in ``tz``, oldest first, ending with the current one."""
    today = (now or timezone.now()).astimezone(tz).date()
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def supplier_scorecard(
    *, supplier_id: int, tz: dt.tzinfo, months: int = 6, now: dt.datetime | None = None
) -> list[MonthScore]:
    """The supplier's figures for each of the last ``months`` months (1–24) in ``tz``, oldest first.

    A month without dispatches is there with zeros. Two queries whatever the
    number of dispatches.
    """
    months = max(1, min(months, MAX_MONTHS))
    starts = month_starts(months=months, tz=tz, now=now)
    start = dt.datetime.combine(starts[0], dt.time.min, tzinfo=tz)
    qs = (
        Dispatch.objects.filter(supplier_id=supplier_id, created__gte=start)
        .annotate(month=TruncMonth("created", tzinfo=tz))
        .values("month")
        .order_by()
    )
    rows = qs.annotate(
        **_figures(),
        median_accept=Median(
            Coalesce("accepted_at", "shipped_at") - F("created"),
            output_field=DurationField(),
            filter=Q(accepted_at__isnull=False) | Q(shipped_at__isnull=False),
        ),
        median_ship=Median(
            F("shipped_at") - F("created"), output_field=DurationField(), filter=Q(shipped_at__isnull=False)
        ),
    )
    by_month = {row.pop("month").date(): row for row in rows}
    reasons: dict[dt.date, dict[str, int]] = {}
    for row in qs.filter(status=D.REJECTED).values("month", "reject_code").annotate(count=Count("id")):
        reasons.setdefault(row["month"].date(), {})[row["reject_code"]] = row["count"]
    return [MonthScore(month=m, rejections=reasons.get(m, {}), **by_month.get(m, {})) for m in starts]


def rejections_total(scores: Iterable[MonthScore]) -> list[tuple[str, str, int]]:
    """(reason code, label, count) over the months, every reason code listed, most frequent first."""
    totals: dict[str, int] = dict.fromkeys(R.values, 0)
    for score in scores:
        for code, count in score.rejections.items():
            totals[code] = totals.get(code, 0) + count
    labels = dict(R.choices)
    rows = [(code, str(labels.get(code, "—")), count) for code, count in totals.items() if code or count]
    return sorted(rows, key=lambda row: -row[2])


@dataclass(frozen=True)
class Record:
    """A supplier's figures over routing's window: what the "best supplier record" strategy ranks by."""

    supplier_id: int
    decided: int
    rejected: int
    with_deadline: int  # shipped dispatches that had a ship-by deadline: 0 = no record to rank by
    on_time: int

    @property
    def rejection_rate(self) -> float:
        return self.rejected / self.decided if self.decided else 0.0

    @property
    def on_time_rate(self) -> float:
        return self.on_time / self.with_deadline if self.with_deadline else 0.0


def supplier_records(
    *, supplier_ids: Iterable[int], days: int = RECORD_DAYS, now: dt.datetime | None = None
) -> dict[int, Record]:
    """Each supplier's record from its dispatches routed in the last ``days`` days; one query.

    Suppliers without such dispatches are absent.
    """
    ids = sorted(set(supplier_ids))
    if not ids:
        return {}
    since = (now or timezone.now()) - dt.timedelta(days=days)
    rows = (
        Dispatch.objects.filter(supplier_id__in=ids, created__gte=since)
        .values("supplier_id")
        .annotate(**_figures())
        .order_by()
    )
    return {
        row["supplier_id"]: Record(
            supplier_id=row["supplier_id"],
            decided=row["decided"],
            rejected=row["rejected"],
            with_deadline=row["with_deadline"],
            on_time=row["on_time"],
        )
        for row in rows
    }
