"""Rule sets: draft → (simulate) → activate. Writes only; the pure rules live in orders.routing.

Only a draft can change. Every edit is checked with the engine's own
validation before anything is saved: a problem raises ``ValidationError``
with the problems in plain words, and the database is left as it was.
Activating retires the previous active set in the same transaction, so there
is always at most one active set and every decision can name the version it
used.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Rule, RuleSet, RuleSetEvent
from orders.routing import core as routing
from orders.routing.core.rules import RULE_KINDS, validate_rule, validate_ruleset

logger = logging.getLogger(__name__)


def _lock_rulesets() -> None:
    """Serialise draft creation and activation within this tenant (advisory lock, released at commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('relay.rulesets.' || current_schema()))")


def _actor_label(actor) -> str:
    return getattr(actor, "email", "") or "system"


def _snapshot(version: int, rules: Sequence[Rule]) -> routing.RuleSet:
    return routing.RuleSet(
        version=version,
        rules=tuple(
            routing.Rule(
                rule_id=rule.pk or 0,
                kind=rule.kind,
                enabled=rule.enabled,
                params=dict(rule.params or {}),
                name=rule.name or (_("new rule") if rule.pk is None else ""),
            )
            for rule in rules
        ),
    )


def ruleset_problems(*, ruleset: RuleSet) -> list[str]:
    """Everything that keeps this rule set from being activated; empty when it can be."""
    return validate_ruleset(_snapshot(ruleset.version, list(ruleset.rules.order_by("position"))))


def _draft_locked(ruleset: RuleSet) -> RuleSet:
    """The rule set, row-locked, if it is still a draft; otherwise ValidationError saying why not."""
    locked = RuleSet.objects.select_for_update().get(pk=ruleset.pk)
    if locked.status != RuleSet.Status.DRAFT:
        raise ValidationError(
            _("Version %(version)s is %(status)s and cannot be changed; edit a draft instead.")
            % {"version": locked.version, "status": locked.get_status_display().lower()}
        )
    return locked


def _check(kind: str, params: Mapping[str, Any], *, ruleset: RuleSet, proposed: list[Rule], current: list[Rule]):
    """Refuse a rule with problems, or an edit that gives the whole set a problem it did not have."""
    if kind not in RULE_KINDS:
        raise ValidationError(_("Unknown rule kind “%(kind)s”.") % {"kind": kind})
    problems = validate_rule(kind, params)
    if problems:
        raise ValidationError(problems)
    before = set(validate_ruleset(_snapshot(ruleset.version, current)))
    added = [p for p in validate_ruleset(_snapshot(ruleset.version, proposed)) if p not in before]
    if added:
        raise ValidationError(added)


def _renumber(ruleset: RuleSet, rules: list[Rule]) -> None:
    """Write positions 1..n in the given order (the position constraint is deferred to commit)."""
    changed = []
    for place, rule in enumerate(rules, 1):
        if rule.position != place:
            rule.position = place
            changed.append(rule)
    if changed:
        Rule.objects.bulk_update(changed, ["position"])


@transaction.atomic
def ruleset_draft_create(*, actor) -> RuleSet:
    """The open draft: the existing one if there is one, else a new version copying the active rules."""
    _lock_rulesets()
    draft = RuleSet.objects.filter(status=RuleSet.Status.DRAFT).order_by("-version").first()
    if draft is not None:
        return draft
    version = (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    draft = RuleSet.objects.create(version=version, status=RuleSet.Status.DRAFT, created_by=actor)
    active = RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).first()
    if active is not None:
        Rule.objects.bulk_create(
            Rule(
                ruleset=draft,
                position=rule.position,
                kind=rule.kind,
                name=rule.name,
                enabled=rule.enabled,
                params=rule.params,
            )
            for rule in active.rules.order_by("position")
        )
    logger.info("rule set draft created", extra={"version": version, "actor": _actor_label(actor)})
    return draft


@transaction.atomic
def ruleset_draft_discard(*, ruleset: RuleSet, actor) -> None:
    """Delete a draft with its rules and simulations; an active or retired set is kept for the record."""
    locked = _draft_locked(ruleset)
    locked.delete()
    logger.info("rule set draft discarded", extra={"version": ruleset.version, "actor": _actor_label(actor)})


@transaction.atomic
def rule_add(
    *, ruleset: RuleSet, kind: str, params: Mapping[str, Any], name: str = "", enabled: bool = True, actor
) -> Rule:
    """Append a rule to a draft. Raises ValidationError (nothing saved) for a problem with it."""
    locked = _draft_locked(ruleset)
    current = list(locked.rules.order_by("position"))
    rule = Rule(
        ruleset=locked, position=len(current) + 1, kind=kind, name=name.strip(), enabled=enabled, params=dict(params)
    )
    _check(kind, rule.params, ruleset=locked, proposed=[*current, rule], current=current)
    _renumber(locked, current)
    rule.position = len(current) + 1
    rule.save()
    logger.info("rule added", extra={"version": locked.version, "rule": rule.pk, "actor": _actor_label(actor)})
    return rule


def _rule_locked(rule: Rule) -> tuple[RuleSet, list[Rule], Rule]:
    locked = _draft_locked(rule.ruleset)
    current = list(locked.rules.order_by("position"))
    mine = next((r for r in current if r.pk == rule.pk), None)
    if mine is None:
        raise ValidationError(_("The rule no longer exists."))
    return locked, current, mine


@transaction.atomic
def rule_update(
    *,
    rule: Rule,
    params: Mapping[str, Any] | None = None,
    name: str | None = None,
    enabled: bool | None = None,
    actor,
) -> Rule:
    """Change a draft rule's settings, name or switch (its kind stays). ValidationError: nothing saved."""
    locked, current, mine = _rule_locked(rule)
    changed = Rule(
        pk=mine.pk, ruleset=locked, position=mine.position, kind=mine.kind,
        name=mine.name if name is None else name.strip(),
        enabled=mine.enabled if enabled is None else enabled,
        params=dict(mine.params if params is None else params),
    )  # fmt: skip
    proposed = [changed if r.pk == mine.pk else r for r in current]
    _check(mine.kind, changed.params, ruleset=locked, proposed=proposed, current=current)
    changed.save(update_fields=["name", "enabled", "params"])
    logger.info("rule updated", extra={"version": locked.version, "rule": mine.pk, "actor": _actor_label(actor)})
    return changed


def rule_set_enabled(*, rule: Rule, enabled: bool, actor) -> Rule:
    """Switch a draft rule on or off (switching on is checked like any edit)."""
    return rule_update(rule=rule, enabled=enabled, actor=actor)


@transaction.atomic
def rule_delete(*, rule: Rule, actor) -> None:
    """Remove a rule from a draft; the rules after it move up."""
    locked, current, mine = _rule_locked(rule)
    mine.delete()
    _renumber(locked, [r for r in current if r.pk != mine.pk])
    logger.info("rule deleted", extra={"version": locked.version, "rule": rule.pk, "actor": _actor_label(actor)})


@transaction.atomic
def rule_move(*, rule: Rule, position: int, actor) -> Rule:
    """Put a draft rule at ``position`` (1 = first; clamped to the list), the others keep their order.

    Order matters only among sourcing, split and merge rules (the first enabled
    one of each kind applies), so a move that makes one of those unreachable is
    refused like any edit.
    """
    locked, current, mine = _rule_locked(rule)
    position = max(1, min(position, len(current)))
    proposed = [r for r in current if r.pk != mine.pk]
    proposed.insert(position - 1, mine)
    _check(mine.kind, mine.params, ruleset=locked, proposed=proposed, current=current)
    _renumber(locked, proposed)
    logger.info("rule moved", extra={"version": locked.version, "rule": mine.pk, "actor": _actor_label(actor)})
    return mine


@transaction.atomic
def ruleset_activate(*, ruleset: RuleSet, actor, note: str | None = None) -> RuleSet:
    """Make a draft the active rule set and retire the one before it, in one transaction.

    Raises ValidationError (nothing changed) when the set is not a draft or has
    problems. Routing that starts after the commit uses the new version, and
    every decision records the version it used.
    """
    _lock_rulesets()
    locked = {
        r.pk: r for r in RuleSet.objects.select_for_update().filter(status__in=["draft", "active"]).order_by("pk")
    }
    draft = locked.get(ruleset.pk)
    if draft is None or draft.status != RuleSet.Status.DRAFT:
        current = RuleSet.objects.get(pk=ruleset.pk)
        raise ValidationError(
            _("Version %(version)s is %(status)s; only a draft can be activated.")
            % {"version": current.version, "status": current.get_status_display().lower()}
        )
    problems = ruleset_problems(ruleset=draft)
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    previous = [r for r in locked.values() if r.status == RuleSet.Status.ACTIVE]
    retired = [r.version for r in previous]
    RuleSet.objects.filter(pk__in=[r.pk for r in previous]).update(status=RuleSet.Status.RETIRED)
    draft.status = RuleSet.Status.ACTIVE
    draft.activated_at = now
    fields = ["status", "activated_at"]
    if note is not None:
        draft.note = note.strip()[:300]
        fields.append("note")
    draft.save(update_fields=fields)
    label = _actor_label(actor)
    actor_user = actor if getattr(actor, "pk", None) else None
    RuleSetEvent.objects.bulk_create(
        [
            *(
                RuleSetEvent(
                    ruleset=r, from_state="active", to_state="retired", actor=actor_user, actor_label=label,
                    reason=f"Version {draft.version} activated.", at=now,
                )
                for r in previous
            ),
            RuleSetEvent(
                ruleset=draft, from_state="draft", to_state="active", actor=actor_user, actor_label=label,
                reason=draft.note, at=now,
            ),
        ]
    )  # fmt: skip
    logger.info(
        "rule set activated",
        extra={"version": draft.version, "retired": retired, "actor": _actor_label(actor)},
    )
    return draft
