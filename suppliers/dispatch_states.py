"""The dispatch's state machine: which changes of ``Dispatch.status`` are allowed, and the record of each one.

A dispatch waits for its supplier (pending), is accepted, and ships; before
shipping it can be rejected by the supplier or cancelled (intercepted) by the
merchant. Each change is written to the timeline of every order the dispatch
carries, as a Transition with ``dispatch`` set.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from core.states import IllegalTransition, actor_name, transition_problem
from orders.models import Transition
from suppliers.models import Dispatch, DispatchLine

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

__all__ = ["ALLOWED", "IllegalTransition", "check_dispatch_transition", "dispatch_transition", "dispatches_transition"]


def check_dispatch_transition(dispatch: Dispatch, to: str) -> None:
    """Raises IllegalTransition when ``dispatch`` (as loaded) may not move to ``to``."""
    problem = transition_problem(
        kind="dispatch", name=dispatch.number, current=dispatch.status, to=to, allowed=ALLOWED, why=_WHY
    )
    if problem:
        raise IllegalTransition(problem, code="illegal_transition")


def _record(
    dispatches: Sequence[tuple[Dispatch, str]], *, to: str, actor, actor_label: str, reason: str
) -> list[Transition]:
    """A Transition per (dispatch, order it carries); ``dispatches`` pairs each with the state it left."""
    by_dispatch: dict[int, list[int]] = {}
    for dispatch_id, order_id in (
        DispatchLine.objects.filter(dispatch_id__in=[d.pk for d, _ in dispatches])
        .values_list("dispatch_id", "order_id")
        .distinct()
        .order_by("dispatch_id", "order_id")
    ):
        by_dispatch.setdefault(dispatch_id, []).append(order_id)
    label = actor_name(actor, actor_label)
    rows = [
        Transition(
            order_id=order_id,
            dispatch_id=dispatch.pk,
            from_state=from_state,
            to_state=to,
            actor=actor,
            actor_label=label,
            reason=reason[:500],
        )
        for dispatch, from_state in dispatches
        for order_id in by_dispatch.get(dispatch.pk, ())
    ]
    return Transition.objects.bulk_create(rows)


@transaction.atomic
def dispatch_transition(
    *, dispatch: Dispatch, to: str, actor=None, actor_label: str = "supplier", reason: str = ""
) -> Dispatch:
    """Move one dispatch to ``to`` and record it on every order it carries; returns it as saved.

    Locks the row and checks the state it really has. Raises IllegalTransition,
    changing nothing, when the move is not allowed. Stock and order states are
    the lifecycle services' business (orders.lifecycle), not this function's.
    """
    locked = Dispatch.objects.select_for_update().get(pk=dispatch.pk)
    check_dispatch_transition(locked, to)
    from_state = locked.status
    locked.status = to
    fields = ["status", "updated"]
    if reason and to in (S.REJECTED, S.CANCELLED):
        locked.reason = reason[:500]
        fields.append("reason")
    locked.save(update_fields=fields)
    _record([(locked, from_state)], to=to, actor=actor, actor_label=actor_label, reason=reason)
    dispatch.status, dispatch.reason, dispatch.updated = locked.status, locked.reason, locked.updated
    return locked


def dispatches_transition(
    *, dispatches: Sequence[Dispatch], to: str, actor=None, actor_label: str, reason: str = ""
) -> list[Transition]:
    """Move many dispatches, already locked by the caller, to one state: checked first, then one UPDATE.

    Raises IllegalTransition before writing anything when one of them may not move.
    """
    if not dispatches:
        return []
    for dispatch in dispatches:
        check_dispatch_transition(dispatch, to)
    values: dict[str, object] = {"status": to, "updated": timezone.now()}
    if reason and to in (S.REJECTED, S.CANCELLED):
        values["reason"] = reason[:500]
    Dispatch.objects.filter(pk__in=[d.pk for d in dispatches]).update(**values)
    left = [(dispatch, dispatch.status) for dispatch in dispatches]
    for dispatch in dispatches:
        for field, value in values.items():
            setattr(dispatch, field, value)
    return _record(left, to=to, actor=actor, actor_label=actor_label, reason=reason)
