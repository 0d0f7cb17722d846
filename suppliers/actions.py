"""What a supplier does with a dispatch: accept (with a promised ship date), reject with a reason, or
accept in part, rejecting single lines; one dispatch or many at once. Shipping is suppliers.shipping.

What a rejection means for the orders and the stock (reservations given
back, the lines routed to the next source on their paths) is the order
lifecycle's business: it runs as the task DISPATCH_CHANGED, sent after the
commit, which is safe to run twice.

A partial acceptance splits the dispatch: the rejected lines move to a new
dispatch of the same supplier, which is rejected at once (with its reason
code, so reports and the supplier's record count it), and the rest is accepted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.tasks import enqueue_named
from suppliers.dispatch_states import IllegalTransition, dispatch_note, dispatch_transition
from suppliers.dispatches import DISPATCH_CHANGED, NewDispatch, dispatch_ids_allocate, dispatches_insert
from suppliers.models import Dispatch, DispatchLine, Supplier

D = Dispatch.Status
R = Dispatch.RejectReason

__all__ = [
    "BulkResult",
    "dispatch_accept",
    "dispatch_accept_partly",
    "dispatch_reject",
    "dispatches_accept",
    "dispatches_reject",
    "rejection_text",
]


def rejection_text(code: str, comment: str = "") -> str:
    """The reason a timeline shows for a rejection: the reason code's label, then the supplier's comment."""
    label = str(R(code).label) if code in R.values else code
    comment = (comment or "").strip()
    return f"{label}: {comment}" if comment else label


def _clean_rejection(code: str, comment: str) -> tuple[str, str]:
    code = (code or "").strip()
    comment = (comment or "").strip()
    if code not in R.values:
        raise ValidationError(
            {"reason_code": _("Choose why: %(choices)s.") % {"choices": ", ".join(str(label) for label in R.labels)}}
        )
    if code == R.OTHER and not comment:
        raise ValidationError({"comment": _("Say why in a comment when the reason is “Other”.")})
    if len(comment) > 400:
        raise ValidationError({"comment": _("The comment is longer than 400 characters.")})
    return code, comment


def _clean_promise(promised: dt.date | None) -> dt.date | None:
    if promised is not None and promised < timezone.localdate():
        raise ValidationError({"promised_ship_date": _("The promised ship date is in the past.")})
    return promised


def _own(dispatch: Dispatch, supplier: Supplier | None) -> None:
    # Defence in depth: the portal's selectors only ever find the user's own dispatches.
    if supplier is not None and dispatch.supplier_id != supplier.pk:
        raise ValidationError(_("Dispatch %(number)s is not yours.") % {"number": dispatch.number})


@transaction.atomic
def dispatch_accept(
    *, dispatch: Dispatch, actor=None, promised_ship_date: dt.date | None = None, supplier: Supplier | None = None
) -> Dispatch:
    """The supplier will ship it, by ``promised_ship_date`` if given (not in the past).

    Raises IllegalTransition (nothing changed) unless the dispatch is pending,
    ValidationError for a date in the past or a dispatch of another supplier.
    """
    _own(dispatch, supplier)
    promised = _clean_promise(promised_ship_date)
    reason = _("Accepted, ship date promised %(date)s.") % {"date": promised.isoformat()} if promised else ""
    accepted = dispatch_transition(dispatch=dispatch, to=D.ACCEPTED, actor=actor, actor_label="supplier", reason=reason)
    if promised is not None:
        accepted.promised_ship_date = dispatch.promised_ship_date = promised
        accepted.save(update_fields=["promised_ship_date"])
    return accepted


@transaction.atomic
def dispatch_reject(
    *, dispatch: Dispatch, reason_code: str, comment: str = "", actor=None, supplier: Supplier | None = None
) -> Dispatch:
    """The supplier will not ship any of it: rejected with a reason code (``other`` needs a comment).

    After the commit the order lifecycle gives its stock back and routes its
    lines to the next usable source on their paths (DISPATCH_CHANGED). Raises
    IllegalTransition (nothing changed) unless the dispatch is pending or
    accepted, ValidationError for a missing reason.
    """
    _own(dispatch, supplier)
    code, comment = _clean_rejection(reason_code, comment)
    rejected = dispatch_transition(
        dispatch=dispatch, to=D.REJECTED, actor=actor, actor_label="supplier", reason=rejection_text(code, comment),
        reject_code=code,
    )  # fmt: skip
    enqueue_named(DISPATCH_CHANGED, rejected.pk, actor_id=getattr(actor, "pk", None))
    return rejected


@transaction.atomic
def dispatch_accept_partly(
    *,
    dispatch: Dispatch,
    rejected_line_ids: Iterable[int],
    reason_code: str,
    comment: str = "",
    promised_ship_date: dt.date | None = None,
    actor=None,
    supplier: Supplier | None = None,
) -> tuple[Dispatch, Dispatch | None]:
    """Accept a dispatch except some of its lines, which are rejected with a reason and routed on.

    The rejected lines move to a new dispatch of the same supplier, rejected at
    once; the dispatch keeps the rest and is accepted (it may be accepted
    already: lines found out of stock later can still be given back). Returns
    (the kept dispatch, the rejected split, or None when no line was named).
    Rejecting every line rejects the whole dispatch instead. Raises
    ValidationError (nothing changed) for lines not on the dispatch, and
    IllegalTransition unless the dispatch is pending or accepted.
    """
    _own(dispatch, supplier)
    code, comment = _clean_rejection(reason_code, comment)
    promised = _clean_promise(promised_ship_date)
    locked = Dispatch.objects.select_for_update().get(pk=dispatch.pk)
    if locked.status not in (D.PENDING, D.ACCEPTED):
        raise IllegalTransition(
            _("Dispatch %(number)s is %(status)s: only a pending or accepted dispatch can be accepted in part.")
            % {"number": locked.number, "status": locked.get_status_display()},
            code="illegal_transition",
        )
    wanted = set(rejected_line_ids)
    lines = {line.pk: line for line in DispatchLine.objects.filter(dispatch_id=locked.pk).order_by("pk")}
    if not wanted:
        kept = (
            locked
            if locked.status == D.ACCEPTED
            else dispatch_accept(dispatch=locked, actor=actor, promised_ship_date=promised)
        )
        return kept, None
    strangers = sorted(wanted - set(lines))
    if strangers:
        raise ValidationError(
            {"lines": _("Line(s) %(ids)s are not on dispatch %(number)s.")
             % {"ids": ", ".join(map(str, strangers)), "number": locked.number}}
        )  # fmt: skip
    if wanted == set(lines):
        return dispatch_reject(dispatch=locked, reason_code=code, comment=comment, actor=actor), None

    (split_id,) = dispatch_ids_allocate(count=1)
    now = timezone.now()
    dispatches_insert(
        dispatches=[
            NewDispatch(
                split_id, locked.supplier_id, "", locked.ruleset_version, locked.ship_to, locked.buyer_name,
                locked.buyer_email,
            )
        ],
        now=now,
    )  # fmt: skip
    DispatchLine.objects.filter(pk__in=sorted(wanted)).update(dispatch_id=split_id)
    split = Dispatch.objects.get(pk=split_id)
    Dispatch.objects.filter(pk=split_id).update(accept_by=locked.accept_by, ship_by=locked.ship_by)
    text = rejection_text(code, comment)
    skus = ", ".join(lines[pk].listing_sku or str(lines[pk].product_id) for pk in sorted(wanted))
    dispatch_note(
        notes=[(locked.pk, _("Lines %(skus)s rejected (%(why)s); moved to %(split)s and routed on.")
                % {"skus": skus, "why": text, "split": split.number})],
        actor=actor,
        actor_label="supplier",
    )  # fmt: skip
    split_note = _("Split from %(number)s.") % {"number": locked.number}
    rejected = dispatch_reject(dispatch=split, reason_code=code, comment=f"{split_note} {comment}".strip(), actor=actor)
    kept = locked
    if locked.status == D.PENDING:
        kept = dispatch_accept(dispatch=locked, actor=actor, promised_ship_date=promised)
    dispatch.status = kept.status
    return kept, rejected


@dataclass
class BulkResult:
    """What a bulk action did: the dispatch numbers done, and each refused one with its reason."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def _each(dispatches: Sequence[Dispatch], act: Callable[[Dispatch], object]) -> BulkResult:
    """Apply ``act`` to each dispatch in its own savepoint: one refusal changes nothing of that one and stops no other."""
    result = BulkResult()
    for dispatch in dispatches:
        try:
            with transaction.atomic():
                act(dispatch)
        except ValidationError as exc:
            result.refused.append((dispatch.number, " ".join(exc.messages)))
        else:
            result.done.append(dispatch.number)
    return result


def dispatches_accept(
    *, dispatches: Sequence[Dispatch], actor=None, promised_ship_date: dt.date | None = None, supplier: Supplier
) -> BulkResult:
    """Accept many dispatches; each one that cannot be accepted is refused with its reason, the others go ahead."""
    _clean_promise(promised_ship_date)
    return _each(
        dispatches,
        lambda d: dispatch_accept(dispatch=d, actor=actor, promised_ship_date=promised_ship_date, supplier=supplier),
    )


def dispatches_reject(
    *, dispatches: Sequence[Dispatch], reason_code: str, comment: str = "", actor=None, supplier: Supplier
) -> BulkResult:
    """Reject many dispatches with one reason; each that cannot be rejected is refused with its reason."""
    _clean_rejection(reason_code, comment)
    return _each(
        dispatches,
        lambda d: dispatch_reject(dispatch=d, reason_code=reason_code, comment=comment, actor=actor, supplier=supplier),
    )
