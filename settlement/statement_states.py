"""The statement's state machine: draft → issued → confirmed | disputed → paid, and the record of each move.

Finance issues a closed period's statement; the supplier confirms it or disputes single lines with a
comment (a StatementDispute each); finance resolves each dispute by an adjustment (in the next open
period, pointing back to the line) or by rejecting it; when none is left open the statement is issued
again for the supplier to confirm. Finance marks a confirmed statement paid with the payment's reference
and date. Each move: lock the row, check, save(update_fields), a StatementEvent. Disputes are kept.

A supplier's call names the supplier: a statement of another supplier is not found (Statement.DoesNotExist),
and a draft is not the supplier's to see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.states import IllegalTransition, actor_name, transition_problem
from settlement.adjustments import late_adjustment
from settlement.models import Period, Statement, StatementDispute, StatementEvent, StatementLine
from settlement.periods import tenant_time_zone
from suppliers.models import Supplier

S = Statement.Status

ALLOWED: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.ISSUED}),
    S.ISSUED: frozenset({S.CONFIRMED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.ISSUED}),  # every dispute resolved
    S.CONFIRMED: frozenset({S.PAID}),
    S.PAID: frozenset(),
}

_WHY: dict[str, str] = {
    S.DRAFT: "it has not been issued to the supplier",
    S.ISSUED: "it waits for the supplier to confirm or dispute it",
    S.DISPUTED: "its disputes wait for finance",
    S.CONFIRMED: "the supplier confirmed it; what is left is to pay it",
    S.PAID: "it has been paid",
}

__all__ = [
    "ALLOWED",
    "IllegalTransition",
    "dispute_reject",
    "dispute_resolve_by_adjustment",
    "statement_confirm",
    "statement_dispute",
    "statement_issue",
    "statement_mark_paid",
]


def _check(statement: Statement, to: str) -> None:
    problem = transition_problem(
        kind="statement", name=statement.number, current=statement.status, to=to, allowed=ALLOWED, why=_WHY
    )
    if problem:
        raise IllegalTransition(problem, code="illegal_transition")


def _lock(statement: Statement, *, supplier: Supplier | None = None) -> Statement:
    rows = Statement.objects.select_for_update()
    if supplier is not None:
        rows = rows.filter(supplier=supplier).exclude(status=S.DRAFT)
    return rows.get(pk=statement.pk)


def _move(
    locked: Statement, *, to: str, actor, actor_label: str, reason: str = "", fields: Sequence[str] = ()
) -> StatementEvent:
    from_state = locked.status
    locked.status = to
    locked.save(update_fields=["status", "updated", *fields])
    return StatementEvent.objects.create(
        statement=locked,
        from_state=from_state,
        to_state=to,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_name(actor, actor_label)[:120],
        reason=reason[:500],
    )


def _sync(statement: Statement, locked: Statement) -> Statement:
    for field in ("status", "issued_at", "confirmed_at", "paid_at", "payment_reference", "payment_date", "updated"):
        setattr(statement, field, getattr(locked, field))
    return locked


@transaction.atomic
def statement_issue(*, statement: Statement, actor) -> Statement:
    """Finance issues a draft statement of a closed period: the supplier sees it from now on.

    Raises IllegalTransition (not a draft) or ValidationError (period not closed), changing nothing.
    """
    locked = _lock(statement)
    _check(locked, S.ISSUED)
    if not Period.objects.filter(pk=locked.period_id, status=Period.Status.CLOSED).exists():
        raise ValidationError(_("A statement is issued once its period has closed."), code="period_not_closed")
    locked.issued_at = timezone.now()
    _move(locked, to=S.ISSUED, actor=actor, actor_label="finance", fields=["issued_at"])
    return _sync(statement, locked)


@transaction.atomic
def statement_confirm(*, statement: Statement, supplier: Supplier, actor) -> Statement:
    """The supplier confirms an issued statement. Raises Statement.DoesNotExist for a statement that is not
    this supplier's (or a draft) and IllegalTransition when it is not issued, changing nothing."""
    locked = _lock(statement, supplier=supplier)
    _check(locked, S.CONFIRMED)
    locked.confirmed_at = timezone.now()
    _move(locked, to=S.CONFIRMED, actor=actor, actor_label="supplier", fields=["confirmed_at"])
    return _sync(statement, locked)


@transaction.atomic
def statement_dispute(
    *, statement: Statement, supplier: Supplier, disputes: Sequence[tuple[int, str]], actor
) -> list[StatementDispute]:
    """The supplier disputes lines of an issued statement: ``disputes`` pairs a line id with a comment.

    Raises Statement.DoesNotExist as statement_confirm does; IllegalTransition when the statement is not
    issued; ValidationError, writing nothing, for no line, a line of another statement, an empty comment.
    """
    locked = _lock(statement, supplier=supplier)
    _check(locked, S.DISPUTED)
    if not disputes:
        raise ValidationError(_("Choose the lines you dispute."), code="no_lines")
    line_ids = [line_id for line_id, _comment in disputes]
    if len(set(line_ids)) != len(line_ids):
        raise ValidationError(_("Dispute each line once."), code="duplicate_line")
    found = set(StatementLine.objects.filter(statement=locked, pk__in=line_ids).values_list("pk", flat=True))
    if found != set(line_ids):
        raise ValidationError(_("Some of these lines are not on this statement."), code="unknown_line")
    if any(not comment.strip() for _line, comment in disputes):
        raise ValidationError(_("Say what is wrong with each line you dispute."), code="comment_required")
    now = timezone.now()
    rows = StatementDispute.objects.bulk_create(
        StatementDispute(
            statement=locked, line_id=line_id, comment=comment.strip()[:1000], raised_by=actor, raised_at=now
        )
        for line_id, comment in sorted(disputes)
    )
    _move(
        locked,
        to=S.DISPUTED,
        actor=actor,
        actor_label="supplier",
        reason=ngettext("%(count)s line disputed", "%(count)s lines disputed", len(rows)) % {"count": len(rows)},
    )
    _sync(statement, locked)
    return rows


def _check_resolvable(dispute: StatementDispute, resolution: str) -> None:
    if StatementDispute.objects.filter(pk=dispute.pk).exclude(status=StatementDispute.Status.OPEN).exists():
        raise ValidationError(_("This dispute is resolved already."), code="resolved_already")
    if not resolution.strip():
        raise ValidationError(_("Say how the dispute was resolved."), code="resolution_required")


def _resolve(dispute: StatementDispute, *, status: str, resolution: str, actor, adjustment=None) -> StatementDispute:
    """Close one open dispute (its statement locked by the caller); when it was the last, issue again."""
    _check_resolvable(dispute, resolution)
    locked = StatementDispute.objects.select_for_update().get(pk=dispute.pk)
    locked.status = status
    locked.resolution = resolution.strip()[:1000]
    locked.adjustment = adjustment
    locked.resolved_by, locked.resolved_at = actor, timezone.now()
    locked.save(update_fields=["status", "resolution", "adjustment", "resolved_by", "resolved_at"])
    return locked


def _reissue_when_settled(statement: Statement, *, actor) -> None:
    if not statement.disputes.filter(status=StatementDispute.Status.OPEN).exists():
        _check(statement, S.ISSUED)
        _move(statement, to=S.ISSUED, actor=actor, actor_label="finance", reason=_("every dispute resolved"))


def _locked_disputed(dispute: StatementDispute) -> Statement:
    statement = Statement.objects.select_for_update().get(pk=dispute.statement_id)
    if statement.status != S.DISPUTED:
        raise IllegalTransition(
            _("Statement %(number)s is not disputed.") % {"number": statement.number}, code="illegal_transition"
        )
    return statement


@transaction.atomic
def dispute_resolve_by_adjustment(
    *, dispute: StatementDispute, amount: Decimal | str | int, resolution: str, actor
) -> StatementDispute:
    """Finance accepts a dispute: an approved adjustment of ``amount`` in the next open period, pointing back
    to the disputed line (settlement.adjustments.late_adjustment). When no dispute of the statement is left
    open, the statement is issued again for the supplier to confirm. Raises ValidationError, changing
    nothing, for a dispute resolved already, no resolution, or an amount late_adjustment refuses."""
    _check_resolvable(dispute, resolution)
    statement = _locked_disputed(dispute)
    line = StatementLine.objects.get(pk=dispute.line_id)
    adjustment = late_adjustment(origin=line, amount=amount, reason=resolution, actor=actor)
    resolved = _resolve(
        dispute, status=StatementDispute.Status.ADJUSTED, resolution=resolution, actor=actor, adjustment=adjustment
    )
    _reissue_when_settled(statement, actor=actor)
    return resolved


@transaction.atomic
def dispute_reject(*, dispute: StatementDispute, resolution: str, actor) -> StatementDispute:
    """Finance rejects a dispute, saying why; the dispute is kept. When no dispute of the statement is left
    open, the statement is issued again. Raises ValidationError, changing nothing, as the above."""
    _check_resolvable(dispute, resolution)
    statement = _locked_disputed(dispute)
    resolved = _resolve(dispute, status=StatementDispute.Status.REJECTED, resolution=resolution, actor=actor)
    _reissue_when_settled(statement, actor=actor)
    return resolved


@transaction.atomic
def statement_mark_paid(*, statement: Statement, reference: str, date: dt.date, actor) -> Statement:
    """Finance records the payment of a confirmed statement: its reference and date.

    Raises IllegalTransition (not confirmed) or ValidationError (no reference, a date in the future),
    changing nothing.
    """
    locked = _lock(statement)
    _check(locked, S.PAID)
    reference = reference.strip()
    if not reference:
        raise ValidationError(_("Give the payment's reference."), code="reference_required")
    if date > timezone.now().astimezone(tenant_time_zone()).date():
        raise ValidationError(_("The payment date cannot be in the future."), code="date_in_future")
    locked.payment_reference, locked.payment_date, locked.paid_at = reference[:120], date, timezone.now()
    _move(
        locked, to=S.PAID, actor=actor, actor_label="finance", reason=reference[:120],
        fields=["payment_reference", "payment_date", "paid_at"],
    )  # fmt: skip
    return _sync(statement, locked)
