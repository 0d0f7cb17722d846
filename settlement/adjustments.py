"""Adjustments: amounts added to or taken off a supplier's statement of a period, with a reason and an approver.

An adjustment goes into an open period only (a closed one refuses it, in the database too). What happens
to a closed period's orders after the close (a cost correction, a penalty, a dispute resolved in the
supplier's favour) is a ``late_adjustment``: it lands in the next open period and points back to the
original line. Returns and late shipments need no call: the next close bills them (settlement.closing).
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import parse_money
from settlement.models import Adjustment, Period, StatementLine
from settlement.periods import next_month, period_for
from suppliers.models import Supplier

# How many months ahead late_adjustment looks for an open period before it gives up.
_HORIZON = 24


def _amount(amount: Decimal | str | int, currency: str) -> Decimal:
    try:
        value = parse_money(amount, currency)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_amount") from None
    if not value:
        raise ValidationError(_("An adjustment needs an amount other than zero."), code="invalid_amount")
    return value


def _open_period_locked(period: Period) -> Period:
    """``period`` locked (so a close cannot start until this transaction ends) and checked open."""
    locked = Period.objects.select_for_update(no_key=True).get(pk=period.pk)
    if locked.status != Period.Status.OPEN:
        raise ValidationError(
            _("%(month)s is %(status)s: adjustments go into an open period.")
            % {"month": locked, "status": locked.get_status_display().lower()},
            code="period_not_open",
        )
    return locked


@transaction.atomic
def adjustment_create(
    *,
    period: Period,
    supplier: Supplier,
    currency: str,
    amount: Decimal | str | int,
    reason: str,
    actor,
    kind: str = Adjustment.Kind.ADJUSTMENT,
    origin: StatementLine | None = None,
    approve: bool = False,
) -> Adjustment:
    """An adjustment of ``supplier``'s ``currency`` statement for ``period``, approved by ``actor`` when
    ``approve``; only approved adjustments are billed when the period closes.

    ``amount`` is what the merchant owes the supplier more (positive) or less (negative), with the
    currency's decimals; a penalty is negative. Raises ValidationError, writing nothing, for a period that
    is not open, an empty reason, a zero or malformed amount, or a positive penalty.
    """
    value = _amount(amount, currency)
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why: an adjustment needs a reason."), code="reason_required")
    if kind not in Adjustment.Kind.values:
        raise ValidationError(_("Unknown adjustment kind %(kind)s.") % {"kind": kind}, code="invalid_kind")
    if kind == Adjustment.Kind.PENALTY and value > 0:
        raise ValidationError(_("A penalty is taken off what is owed: give a negative amount."), code="invalid_amount")
    locked = _open_period_locked(period)
    now = timezone.now()
    return Adjustment.objects.create(
        period=locked,
        supplier=supplier,
        currency=currency.upper(),
        kind=kind,
        amount=value,
        reason=reason[:300],
        origin=origin,
        created_by=actor,
        approved_by=actor if approve else None,
        approved_at=now if approve else None,
        created=now,
    )


@transaction.atomic
def adjustment_approve(*, adjustment: Adjustment, actor) -> Adjustment:
    """Approve an adjustment of an open period, so the close bills it. Raises ValidationError, changing
    nothing, when it is approved already or its period is not open."""
    _open_period_locked(adjustment.period)
    locked = Adjustment.objects.select_for_update().get(pk=adjustment.pk)
    if locked.approved_at is not None:
        raise ValidationError(_("This adjustment is approved already."), code="approved_already")
    locked.approved_by, locked.approved_at = actor, timezone.now()
    locked.save(update_fields=["approved_by", "approved_at"])
    adjustment.approved_by, adjustment.approved_at = locked.approved_by, locked.approved_at
    return locked


def next_open_period(*, after: Period) -> Period:
    """The first open period after ``after``'s month, created when its month has none yet."""
    month = after.month
    for _step in range(_HORIZON):
        month = next_month(month)
        period = period_for(month=month)
        if period.status == Period.Status.OPEN:
            return period
    raise ValidationError(_("No open period within two years of %(month)s.") % {"month": after}, code="no_open_period")


@transaction.atomic
def late_adjustment(
    *,
    origin: StatementLine,
    amount: Decimal | str | int,
    reason: str,
    actor,
    kind: str = Adjustment.Kind.ADJUSTMENT,
) -> Adjustment:
    """Correct a line of a closed period: an approved adjustment in the next open period, for the same
    supplier and currency, pointing back to ``origin``; the next close bills it as a line with that origin.

    Raises ValidationError, writing nothing, when ``origin``'s period is not closed (a line of a period
    still closing is corrected after it closed), or as adjustment_create does.
    """
    origin = StatementLine.objects.select_related("statement__period").get(pk=origin.pk)
    statement = origin.statement
    if statement.period.status != Period.Status.CLOSED:
        raise ValidationError(
            _("%(month)s is not closed: a late adjustment corrects a closed period.") % {"month": statement.period},
            code="period_not_closed",
        )
    return adjustment_create(
        period=next_open_period(after=statement.period),
        supplier=statement.supplier,
        currency=statement.currency,
        amount=amount,
        reason=reason,
        actor=actor,
        kind=kind,
        origin=origin,
        approve=True,
    )
