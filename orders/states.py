"""The order's state machine: which changes of ``Order.status`` are allowed, and the record of each one.

Every change of an order's status goes through here, one order at a time
(``order_transition``) or a routed batch at once (``orders_transition``): the
row is locked, the change checked against ``ALLOWED``, saved, and written to
the timeline as a Transition (who or what, when, from, to, why).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from core.bulk import copy_rows
from core.states import IllegalTransition, actor_name, transition_problem
from orders.models import Order, Transition

_TRANSITION_COLUMNS = ("order_id", "from_state", "to_state", "actor_id", "actor_label", "reason", "at")

S = Order.Status

ALLOWED: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.HELD, S.ROUTED, S.CANCELLED}),
    # A held order that still has shipped lines (a rejection after part of it shipped) goes back to partly shipped.
    S.HELD: frozenset({S.ROUTED, S.PARTIALLY_SHIPPED, S.CANCELLED}),
    S.ROUTED: frozenset({S.HELD, S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.HELD, S.SHIPPED, S.CANCELLED}),
    # Cancelled after shipping: the order keeps its returns (ReturnRecord) for settlement.
    S.SHIPPED: frozenset({S.CANCELLED}),
    S.CANCELLED: frozenset(),
}

# Why a state cannot be left for another, in the words the refusal uses.
_WHY: dict[str, str] = {
    S.NEW: "a new order must be routed (or held) before anything ships",
    S.HELD: "a held order must be routed before anything ships",
    S.ROUTED: "a routed order is held, shipped or cancelled, not sent back",
    S.PARTIALLY_SHIPPED: "part of it has shipped already",
    S.SHIPPED: "it has shipped; only a cancellation (with returns) can follow",
    S.CANCELLED: "a cancelled order is final",
}


def orders_lock(*, order_ids: Iterable[int], with_lines: bool = False) -> list[Order]:
    """Lock these orders FOR UPDATE in id order (the first lock of every lifecycle path); ``with_lines``
    fetches their lines too."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    orders = Order.objects.select_for_update().filter(pk__in=ids).defer("raw").order_by("pk")  # raw: the payload
    return list(orders.prefetch_related("lines") if with_lines else orders)


def check_order_transition(order: Order, to: str) -> None:
    """Raises IllegalTransition when ``order`` (as loaded) may not move to ``to``."""
    problem = transition_problem(
        kind="order", name=order.order_number, current=order.status, to=to, allowed=ALLOWED, why=_WHY
    )
    if problem:
        raise IllegalTransition(problem, code="illegal_transition")


@transaction.atomic
def order_transition(*, order: Order, to: str, actor=None, actor_label: str, reason: str = "") -> Order:
    """Move one order to ``to`` and record it; returns the order as saved.

    Locks the order's row and checks the state it really has (not the one the
    caller loaded). Raises IllegalTransition, changing nothing, when the state
    machine does not allow the move.
    """
    locked = Order.objects.select_for_update().get(pk=order.pk)
    check_order_transition(locked, to)
    from_state = locked.status
    locked.status = to
    locked.save(update_fields=["status", "updated"])
    Transition.objects.create(
        order=locked,
        from_state=from_state,
        to_state=to,
        actor=actor,
        actor_label=actor_name(actor, actor_label),
        reason=reason[:500],
    )
    order.status, order.updated = locked.status, locked.updated
    return locked


def orders_transition(
    *,
    orders: Sequence[Order],
    to: str,
    actor=None,
    actor_label: str,
    reasons: dict[int, str] | None = None,
    extra: dict[str, object] | None = None,
) -> int:
    """Move many orders, already locked by the caller, to one state: one UPDATE and one INSERT.

    Checks every order first and raises IllegalTransition before writing
    anything. ``extra`` are more columns to set on the same rows (routed_at …).
    Returns how many Transition rows were written; the orders are updated in place.
    """
    if not orders:
        return 0
    for order in orders:
        check_order_transition(order, to)
    now = timezone.now()
    values = {"status": to, "updated": now, **(extra or {})}
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(**values)
    label = actor_name(actor, actor_label)
    actor_id = getattr(actor, "pk", None)
    reasons = reasons or {}
    rows = [(order.pk, order.status, to, actor_id, label, reasons.get(order.pk, "")[:500], now) for order in orders]
    for order in orders:
        for field, value in values.items():
            setattr(order, field, value)
    return copy_rows("orders_transition", _TRANSITION_COLUMNS, rows)


def allowed_from(status: str) -> Iterable[str]:
    """The states an order in ``status`` may move to (for pages that offer actions)."""
    return sorted(ALLOWED.get(status, ()))
