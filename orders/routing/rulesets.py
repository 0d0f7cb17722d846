"""Rule sets: draft → (simulate) → activate. Writes only; the pure rules live in orders.routing.

Only a draft can change. Every edit is checked with the engine's own
validation before anything is saved: a problem raises ``ValidationError``
with the problems in plain words, and the database is left as it was.
Activating retires the previous active set in the same transaction, so there
is always at most one active set and every decision can name the version it
used.

At the end, the reads the rule set pages need beyond orders.routing.selectors: the
versions list (filtered, sorted, downloaded) and what an activation changes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import ExportTable
from core.listing import Sort, Sorts
from orders.models import Rule, RuleSet, RuleSetEvent
from orders.phrases import VERSION_ACTIVATED
from orders.routing import core as routing
from orders.routing.core.rules import RULE_KINDS, validate_rule

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


# Kinds of which only the first enabled rule applies (as orders.routing.core.rules.validate_ruleset checks).
_ONE_APPLIES = ("sourcing", "split", "merge")


def _rule_label(rule: routing.Rule) -> str:
    return _("Rule “%(name)s”") % {"name": rule.name} if rule.name else _("Rule #%(id)s") % {"id": rule.rule_id}


def _problems(snapshot: routing.RuleSet) -> list[str]:
    """``validate_ruleset``'s problems, the ones across rules in the reader's language (the core speaks English)."""
    problems = [
        f"{_rule_label(rule)}: {problem}"
        for rule in snapshot.rules
        for problem in validate_rule(rule.kind, rule.params)
    ]
    first: dict[str, routing.Rule] = {}
    for rule in snapshot.rules:
        if not rule.enabled or rule.kind not in _ONE_APPLIES:
            continue
        if rule.kind in first:
            problems.append(
                _("%(rule)s never applies: %(earlier)s comes first and decides this setting; disable one of them.")
                % {"rule": _rule_label(rule), "earlier": _rule_label(first[rule.kind])}
            )
        else:
            first[rule.kind] = rule
    return problems


def ruleset_problems(*, ruleset: RuleSet) -> list[str]:
    """Everything that keeps this rule set from being activated; empty when it can be."""
    return _problems(_snapshot(ruleset.version, list(ruleset.rules.order_by("position"))))


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
    before = set(_problems(_snapshot(ruleset.version, current)))
    added = [p for p in _problems(_snapshot(ruleset.version, proposed)) if p not in before]
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
                    reason=VERSION_ACTIVATED % {"version": draft.version}, at=now,
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


# ---------------------------------------------------------------------------
# Reads for the rule set pages

VERSION_SORTS = Sorts(
    {"version": ("version",), "status": ("status", "version"), "rules": ("rule_count", "version"),
     "activated": ("activated_at", "version")},
    default="-version",
)  # fmt: skip


def ruleset_versions_filter(
    versions: QuerySet[RuleSet], *, status: str = "", q: str = "", sort: Sort | None = None
) -> QuerySet[RuleSet]:
    """``versions`` (orders.routing.selectors.rulesets_for) in state ``status``, whose note or author's e-mail
    contains ``q``, in ``sort`` order (newest version first by default); never-activated versions sort last
    by activation either way."""
    if status in RuleSet.Status.values:
        versions = versions.filter(status=status)
    if q := q.strip():
        versions = versions.filter(Q(note__icontains=q) | Q(created_by__email__icontains=q))
    sort = sort or VERSION_SORTS.parse(None)
    ordering: list = list(sort.ordering)
    if sort.key == "activated":
        column = F("activated_at")
        ordering[0] = column.desc(nulls_last=True) if sort.descending else column.asc(nulls_last=True)
    return versions.order_by(*ordering)


def rulesets_export_table(versions: QuerySet[RuleSet]) -> ExportTable:
    """The versions list as a download: the same rows as the page, in its order, labels in the active language."""
    statuses = dict(RuleSet.Status.choices)
    rows = versions.values_list(
        "version", "status", "rule_count", "created_by__email", "created", "activated_at", "note"
    )

    def generate() -> Iterator[tuple]:
        for version, status, rule_count, email, created, activated_at, note in rows.iterator(chunk_size=2000):
            yield (version, str(statuses.get(status, status)), rule_count, email or "", created, activated_at, note)

    return ExportTable(
        title=_("Rule set versions"),
        columns=[_("Version"), _("State"), _("Rules"), _("Created by"), _("Created"), _("Activated"), _("Note")],
        count=versions.count(),
        rows=generate(),
    )


def _rule_key(rule: Rule) -> str:
    return json.dumps([rule.kind, rule.name, rule.enabled, rule.params], sort_keys=True, default=str)


@dataclass
class RulesetChanges:
    """What activating a draft changes, rule by rule, compared with the active set (or no rules)."""

    added: list[Rule] = field(default_factory=list)  # in the draft, not in the active set
    removed: list[Rule] = field(default_factory=list)  # in the active set, not in the draft
    reordered: bool = False  # the same rules in another order
    kept: int = 0

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.reordered)


def ruleset_changes(*, draft: RuleSet, active: RuleSet | None) -> RulesetChanges:
    """The rules the draft adds and removes compared with ``active``: a changed rule counts as one removed and
    one added (its old and new settings). Two queries."""
    new = list(draft.rules.order_by("position"))
    old = list(active.rules.order_by("position")) if active is not None else []
    left = {}
    for rule in old:
        left.setdefault(_rule_key(rule), []).append(rule)
    changes = RulesetChanges()
    kept_order = []
    for rule in new:
        same = left.get(_rule_key(rule))
        if same:
            kept_order.append(same.pop(0).pk)
            changes.kept += 1
        else:
            changes.added.append(rule)
    changes.removed = [rule for rules in left.values() for rule in rules]
    changes.removed.sort(key=lambda r: r.position)
    positions = {rule.pk: rule.position for rule in old}
    changes.reordered = kept_order != sorted(kept_order, key=positions.__getitem__)
    return changes
