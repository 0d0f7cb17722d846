"""The dispatch's state machine: which changes of ``Dispatch.status`` are allowed, and the record of each one.

A dispatch waits for its supplier (pending), is accepted, and ships; before
shipping it can be rejected by the supplier or cancelled (intercepted) by the
merchant. Each change is written as a DispatchEvent (who or what, when, from,
to, why); the order page reads them into the order's timeline.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from core.bulk import copy_rows
from core.states import IllegalTransition, actor_name, transition_problem
from suppliers.models import Dispatch, DispatchEvent

S = Dispatch.Status

ALLOWED: dict[str, frozenset[str]] = {
    # A supplier may ship straight away: shipping implies it accepted.
    S.PENDING: frozenset({S.ACCEPTED, S.SHIPPED, S.REJECTED, S.CANCELLED}),
    S.ACCEPTED: frozenset({S.SHIPPED, S.REJECTED, S.CANCELLED}),
    S.SHIPPED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
}

_WHY: dict[str, str] = {
    S.PENDING: "it is waiting for the supplier",
    S.ACCEPTED: "the supplier accepted it",
    S.SHIPPED: "it has shipped; what follows is a return, not a change of the dispatch",
    S.REJECTED: "the supplier rejected it and its lines were routed elsewhere",
    S.CANCELLED: "it was cancelled (intercepted) and its stock released",
}

__all__ = [
    "ALLOWED",
    "IllegalTransition",
    "check_dispatch_transition",
    "dispatch_note",
    "dispatch_transition",
    "dispatches_transition",
]


def check_dispatch_transition(dispatch: Dispatch, to: str) -> None:
    """Raises IllegalTransition when ``dispatch`` (as loaded) may not move to ``to``."""
    problem = transition_problem(
        kind="dispatch", name=dispatch.number, current=dispatch.status, to=to, allowed=ALLOWED, why=_WHY
    )
    if problem:
        raise IllegalTransition(problem, code="illegal_transition")


_EVENT_COLUMNS = ("dispatch_id", "from_state", "to_state", "actor_id", "actor_label", "reason", "at")


def _write_events(rows: Sequence[tuple[int, str, str, str]], *, actor, actor_label: str) -> int:
    """One DispatchEvent per (dispatch id, from, to, reason), in one COPY: a tracking upload writes thousands."""
    label = actor_name(actor, actor_label)
    actor_id = getattr(actor, "pk", None)
    now = timezone.now()
    return copy_rows(
        DispatchEvent._meta.db_table,
        _EVENT_COLUMNS,
        ((pk, from_state, to, actor_id, label, reason[:500], now) for pk, from_state, to, reason in rows),
    )


def _record(dispatches: Sequence[tuple[Dispatch, str]], *, to: str, actor, actor_label: str, reason: str) -> int:
    """A DispatchEvent per dispatch; ``dispatches`` pairs each with the state it left. Returns how many."""
    return _write_events(
        [(dispatch.pk, from_state, to, reason) for dispatch, from_state in dispatches],
        actor=actor,
        actor_label=actor_label,
    )


def dispatch_note(*, notes: Sequence[tuple[int, str]], actor=None, actor_label: str) -> int:
    """Record something that happened to dispatches without a change of state (lines taken off …).

    ``notes`` pairs a dispatch id with its reason; the event's from and to are the state it is in.
    Returns how many events were written.
    """
    states = dict(Dispatch.objects.filter(pk__in=[pk for pk, _ in notes]).values_list("pk", "status"))
    return _write_events(
        [(pk, states[pk], states[pk], reason) for pk, reason in notes], actor=actor, actor_label=actor_label
    )


def _changes(to: str, *, reason: str, reject_code: str) -> dict[str, object]:
    """The columns a move to ``to`` writes besides the status: when it was accepted or shipped (for the
    deadlines and the scorecard), and why it was rejected or cancelled."""
    now = timezone.now()
    values: dict[str, object] = {"status": to, "updated": now}
    if to == S.ACCEPTED:
        values["accepted_at"] = now
    elif to == S.SHIPPED:
        values["shipped_at"] = now
    if reason and to in (S.REJECTED, S.CANCELLED):
        values["reason"] = reason[:500]
    if reject_code and to == S.REJECTED:
        values["reject_code"] = reject_code
    return values


@transaction.atomic
def dispatch_transition(
    *, dispatch: Dispatch, to: str, actor=None, actor_label: str = "supplier", reason: str = "", reject_code: str = ""
) -> Dispatch:
    """Move one dispatch to ``to`` and record it; returns it as saved.

    Locks the row and checks the state it really has. Raises IllegalTransition,
    changing nothing, when the move is not allowed. Accepting stamps
    ``accepted_at``, shipping ``shipped_at``; a rejection keeps ``reject_code``.
    Stock and order states are not this function's business: see suppliers.dispatches.
    """
    locked = Dispatch.objects.select_for_update().get(pk=dispatch.pk)
    check_dispatch_transition(locked, to)
    from_state = locked.status
    values = _changes(to, reason=reason, reject_code=reject_code)
    for field, value in values.items():
        setattr(locked, field, value)
        setattr(dispatch, field, value)
    locked.save(update_fields=list(values))
    _record([(locked, from_state)], to=to, actor=actor, actor_label=actor_label, reason=reason)
    return locked


def dispatches_transition(
    *, dispatches: Sequence[Dispatch], to: str, actor=None, actor_label: str, reason: str = ""
) -> int:
    """Move many dispatches, already locked by the caller, to one state: checked first, then one UPDATE.

    Raises IllegalTransition before writing anything when one of them may not move.
    """
    if not dispatches:
        return 0
    for dispatch in dispatches:
        check_dispatch_transition(dispatch, to)
    values = _changes(to, reason=reason, reject_code="")
    Dispatch.objects.filter(pk__in=[d.pk for d in dispatches]).update(**values)
    left = [(dispatch, dispatch.status) for dispatch in dispatches]
    for dispatch in dispatches:
        for field, value in values.items():
            setattr(dispatch, field, value)
    return _record(left, to=to, actor=actor, actor_label=actor_label, reason=reason)
