"""What every state machine shares: the refusal and its plain-words reason, and how the actor is named.

Each app keeps its own machine (which states, which moves, why not) beside
its model; this module only holds the parts that are the same for all.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError


class IllegalTransition(ValidationError):
    """A change of state the state machine does not allow; the message says from, to and why."""


def _label(status: str) -> str:
    return status.replace("_", " ")


def transition_problem(*, kind: str, name: str, current: str, to: str, allowed, why: dict[str, str]) -> str | None:
    """The plain-words reason a transition is refused, or None when it is allowed."""
    if to not in allowed:
        return f"Unknown {kind} state “{to}”."
    if current == to:
        return f"{kind.capitalize()} {name} is {_label(current)} already."
    if to not in allowed[current]:
        return f"{kind.capitalize()} {name} cannot go from {_label(current)} to {_label(to)}: {why[current]}."
    return None


def actor_name(actor, default: str) -> str:
    """How a timeline names who acted: the user's e-mail, or what did it ("routing", "channel", …)."""
    if actor is None:
        return default
    return getattr(actor, "email", "") or str(actor)
