"""Rule set services: drafts, validated edits on drafts only, activation with versioning."""

import pytest
from django.core.exceptions import ValidationError

from orders.models import RoutingDecision, Rule, RuleSet, RuleSetEvent
from orders.routing import rulesets
from orders.routing.services import route_orders
from tests.orders.factories import RuleFactory
from tests.orders.routing_factories import activate_rules, mapped_product, recent_order


def snapshot():
    """Every rule set and rule as plain tuples, to assert that a refused action changed nothing."""
    return (
        list(RuleSet.objects.order_by("pk").values_list("pk", "version", "status", "activated_at")),
        list(Rule.objects.order_by("pk").values_list("pk", "ruleset_id", "position", "kind", "enabled", "params")),
    )


def test_draft_copies_the_active_rules_with_the_next_version(operator):
    active = activate_rules(("hold", {"total_above": "500"}), ("sourcing", {"strategy": "cheapest"}), version=3)

    draft = rulesets.ruleset_draft_create(actor=operator)

    assert (draft.version, draft.status, draft.created_by) == (4, "draft", operator)
    copied = list(draft.rules.order_by("position").values_list("position", "kind", "params"))
    assert copied == list(active.rules.order_by("position").values_list("position", "kind", "params"))
    assert set(draft.rules.values_list("pk", flat=True)).isdisjoint(active.rules.values_list("pk", flat=True))


def test_only_one_draft_is_open_at_a_time(operator):
    first = rulesets.ruleset_draft_create(actor=operator)
    second = rulesets.ruleset_draft_create(actor=operator)

    assert first.pk == second.pk
    assert RuleSet.objects.filter(status="draft").count() == 1


def test_first_draft_without_an_active_set_is_empty_version_1(operator):
    draft = rulesets.ruleset_draft_create(actor=operator)

    assert draft.version == 1
    assert draft.rules.count() == 0


def test_rule_add_validates_params_and_saves_nothing_on_error(operator):
    draft = rulesets.ruleset_draft_create(actor=operator)
    before = snapshot()

    with pytest.raises(ValidationError) as refused:
        rulesets.rule_add(ruleset=draft, kind="hold", params={"total_above": "lots"}, actor=operator)

    assert "The total limit must be an amount" in " ".join(refused.value.messages)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("kind", "params", "problem"),
    [
        ("hold", {}, "at least one condition"),
        ("gift", {"product_id": 1, "min_quantity": 0, "gift_product_id": 2, "gift_quantity": 1}, "min_quantity"),
        ("sourcing", {"strategy": "fastest"}, "Unknown strategy"),
        ("split", {"policy": "sometimes"}, "split policy"),
        ("merge", {"window_hours": 0}, "window_hours"),
        ("hold", {"total_above": "1", "colour": "red"}, "Unknown setting"),
    ],
)
def test_every_kind_is_validated_in_plain_words(operator, kind, params, problem):
    draft = rulesets.ruleset_draft_create(actor=operator)

    with pytest.raises(ValidationError) as refused:
        rulesets.rule_add(ruleset=draft, kind=kind, params=params, actor=operator)

    assert problem in " ".join(refused.value.messages)
    assert draft.rules.count() == 0


def test_a_second_enabled_sourcing_rule_is_refused_as_unreachable(operator):
    draft = rulesets.ruleset_draft_create(actor=operator)
    rulesets.rule_add(ruleset=draft, kind="sourcing", params={"strategy": "cheapest"}, name="Cheap", actor=operator)

    with pytest.raises(ValidationError) as refused:
        rulesets.rule_add(ruleset=draft, kind="sourcing", params={"strategy": "region_first"}, actor=operator)
    assert "never applies" in " ".join(refused.value.messages)

    # a disabled one may wait in the draft
    waiting = rulesets.rule_add(
        ruleset=draft, kind="sourcing", params={"strategy": "region_first"}, enabled=False, actor=operator
    )
    assert draft.rules.count() == 2
    with pytest.raises(ValidationError):
        rulesets.rule_set_enabled(rule=waiting, enabled=True, actor=operator)
    waiting.refresh_from_db()
    assert waiting.enabled is False


def test_update_move_enable_and_delete_keep_positions_dense(operator):
    draft = rulesets.ruleset_draft_create(actor=operator)
    a = rulesets.rule_add(ruleset=draft, kind="hold", params={"total_above": "500"}, name="Big", actor=operator)
    b = rulesets.rule_add(ruleset=draft, kind="hold", params={"tags": ["vip"]}, name="VIP", actor=operator)
    c = rulesets.rule_add(ruleset=draft, kind="merge", params={"window_hours": 4}, actor=operator)

    rulesets.rule_move(rule=c, position=1, actor=operator)
    assert list(draft.rules.order_by("position").values_list("pk", flat=True)) == [c.pk, a.pk, b.pk]

    rulesets.rule_update(rule=a, params={"total_above": "900", "currency": "USD"}, name="Bigger", actor=operator)
    rulesets.rule_set_enabled(rule=b, enabled=False, actor=operator)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.name, a.params) == ("Bigger", {"total_above": "900", "currency": "USD"})
    assert b.enabled is False

    rulesets.rule_delete(rule=c, actor=operator)
    assert list(draft.rules.order_by("position").values_list("pk", "position")) == [(a.pk, 1), (b.pk, 2)]


def test_update_with_bad_params_saves_nothing(operator):
    draft = rulesets.ruleset_draft_create(actor=operator)
    rule = rulesets.rule_add(ruleset=draft, kind="merge", params={"window_hours": 4}, actor=operator)
    before = snapshot()

    with pytest.raises(ValidationError):
        rulesets.rule_update(rule=rule, params={"window_hours": 100000}, name="changed", actor=operator)

    assert snapshot() == before


def test_active_and_retired_sets_refuse_every_edit(operator):
    active = activate_rules(("hold", {"total_above": "500"}))
    rule = active.rules.get()
    before = snapshot()

    for attempt in (
        lambda: rulesets.rule_add(ruleset=active, kind="hold", params={"tags": ["x"]}, actor=operator),
        lambda: rulesets.rule_update(rule=rule, params={"total_above": "1"}, actor=operator),
        lambda: rulesets.rule_set_enabled(rule=rule, enabled=False, actor=operator),
        lambda: rulesets.rule_move(rule=rule, position=1, actor=operator),
        lambda: rulesets.rule_delete(rule=rule, actor=operator),
        lambda: rulesets.ruleset_draft_discard(ruleset=active, actor=operator),
    ):
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert "cannot be changed" in " ".join(refused.value.messages)
    assert snapshot() == before


def test_activation_retires_the_previous_version(operator):
    old = activate_rules(("hold", {"total_above": "500"}), version=1)
    draft = rulesets.ruleset_draft_create(actor=operator)
    rulesets.rule_add(ruleset=draft, kind="sourcing", params={"strategy": "cheapest"}, actor=operator)

    activated = rulesets.ruleset_activate(ruleset=draft, actor=operator, note="Cheapest first")

    old.refresh_from_db()
    assert (activated.status, activated.version, activated.note) == ("active", 2, "Cheapest first")
    assert activated.activated_at is not None
    assert old.status == "retired"
    assert list(RuleSet.objects.filter(status="active").values_list("version", flat=True)) == [2]
    events = RuleSetEvent.objects.order_by("ruleset__version").values_list(
        "ruleset__version", "from_state", "to_state", "actor", "actor_label"
    )
    assert list(events) == [
        (1, "active", "retired", operator.pk, operator.email),
        (2, "draft", "active", operator.pk, operator.email),
    ]
    # the next draft starts from version 2's rules
    next_draft = rulesets.ruleset_draft_create(actor=operator)
    assert list(next_draft.rules.order_by("position").values_list("kind", flat=True)) == ["hold", "sourcing"]


def test_activation_refuses_an_invalid_draft_and_changes_nothing(operator):
    activate_rules(("hold", {"total_above": "500"}), version=1)
    draft = rulesets.ruleset_draft_create(actor=operator)
    # a rule made invalid behind the service's back (e.g. by an older release)
    RuleFactory(ruleset=draft, position=5, kind="merge", params={"window_hours": "soon"})
    before = snapshot()

    with pytest.raises(ValidationError) as refused:
        rulesets.ruleset_activate(ruleset=draft, actor=operator)

    assert "window_hours" in " ".join(refused.value.messages)
    assert snapshot() == before
    assert not RuleSetEvent.objects.exists()


def test_activating_twice_is_refused(operator):
    draft = rulesets.ruleset_draft_create(actor=operator)
    rulesets.ruleset_activate(ruleset=draft, actor=operator)

    with pytest.raises(ValidationError) as refused:
        rulesets.ruleset_activate(ruleset=draft, actor=operator)
    assert "only a draft can be activated" in " ".join(refused.value.messages)


def test_discarding_a_draft_removes_it_and_its_rules(operator):
    draft = rulesets.ruleset_draft_create(actor=operator)
    rulesets.rule_add(ruleset=draft, kind="merge", params={"window_hours": 4}, actor=operator)

    rulesets.ruleset_draft_discard(ruleset=draft, actor=operator)

    assert not RuleSet.objects.exists()
    assert not Rule.objects.exists()


def test_decisions_record_the_version_they_used(operator, acme, store):
    mapped_product("SKU-A", (acme, "4.00"))
    draft = rulesets.ruleset_draft_create(actor=operator)
    rulesets.rule_add(ruleset=draft, kind="sourcing", params={"strategy": "cheapest"}, actor=operator)
    rulesets.ruleset_activate(ruleset=draft, actor=operator)
    first = recent_order(store, ("SKU-A", 1))

    route_orders(order_ids=[first.pk], trigger="manual")

    assert RoutingDecision.objects.get(order=first, is_current=True).ruleset_version == draft.version
