"""The store's state machine: which changes of ``Store.status`` are allowed, and the record of each one.

A store is active (pulled on its schedule), paused by a person, or waiting
for new credentials after the channel refused them. Every change goes
through ``store_transition``: the row is locked, the move checked against
``ALLOWED``, saved, and written as a StoreEvent (who or what, when, from,
to, why) that the store page lists under "History".
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction

from channels.models import Store, StoreEvent
from core.states import IllegalTransition, actor_name, transition_problem

S = Store.Status

ALLOWED: dict[str, frozenset[str]] = {
    S.ACTIVE: frozenset({S.PAUSED, S.NEEDS_REAUTH}),
    # A paused store's credentials can still be refused (a connection test); resuming it then needs new ones.
    S.PAUSED: frozenset({S.ACTIVE, S.NEEDS_REAUTH}),
    # Only working credentials (entered again, or a test that passes) bring it back; pausing it would hide the problem.
    S.NEEDS_REAUTH: frozenset({S.ACTIVE}),
}

_WHY: dict[str, str] = {
    S.ACTIVE: "it is active",
    S.PAUSED: "a paused store is resumed first",
    S.NEEDS_REAUTH: "the channel refused its credentials; enter new ones first",
}

__all__ = ["ALLOWED", "IllegalTransition", "check_store_transition", "store_transition"]


def check_store_transition(store: Store, to: str) -> None:
    """Raises IllegalTransition when ``store`` (as loaded) may not move to ``to``."""
    problem = transition_problem(kind="store", name=store.name, current=store.status, to=to, allowed=ALLOWED, why=_WHY)
    if problem:
        raise IllegalTransition(problem, code="illegal_transition")


@transaction.atomic
def store_transition(
    *,
    store: Store,
    to: str,
    actor=None,
    actor_label: str,
    reason: str = "",
    expected_from: str | None = None,
    when_from: Collection[str] | None = None,
) -> Store:
    """Move ``store`` to the status ``to`` and record it; returns the store as saved (``store`` is updated too).

    Locks the store's row and checks the status it really has, not the one
    the caller loaded. Raises IllegalTransition, changing and writing
    nothing, when the move is not allowed, or when ``expected_from`` is given
    and the store is in another status (an action a person took for one
    status: resume is for a paused store).

    ``when_from`` is for what the system notices, again and again (refused
    credentials, a connection test that passes): a store in another status is
    left as it is, without an event and without an error.
    """
    locked = Store.objects.select_for_update().get(pk=store.pk)
    store.status = locked.status
    if when_from is not None and locked.status not in when_from:
        return locked
    if expected_from is not None and locked.status not in (expected_from, to):
        raise IllegalTransition(
            f"Store {locked.name} is not {_label(expected_from)} ({_label(locked.status)}): {_WHY[locked.status]}.",
            code="illegal_transition",
        )
    check_store_transition(locked, to)
    from_status = locked.status
    locked.status = to
    locked.save(update_fields=["status"])
    StoreEvent.objects.create(
        store=locked,
        from_status=from_status,
        to_status=to,
        actor=actor,
        actor_label=actor_name(actor, actor_label),
        reason=reason[:500],
    )
    store.status = to
    return locked


def _label(status: str) -> str:
    return str(S(status).label).lower()
