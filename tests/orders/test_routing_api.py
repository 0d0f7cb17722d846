"""Routing API: rule sets, rules, activation, simulation, holds, an order's routing; roles and tenants."""

import pytest
from django.db import connection

from orders.models import Order, Rule, RuleSet
from orders.routing import jobs
from orders.routing.services import route_orders
from orders.routing.simulation import simulate_ruleset
from tests.orders.factories import RuleFactory, RuleSetFactory, SimulationFactory
from tests.orders.routing_factories import activate_rules, recent_order

API = "/api/v1"


def test_draft_rules_and_activation_round_trip(api):
    activate_rules(("hold", {"total_above": "500"}), version=1)

    created = api.post(f"{API}/routing/rulesets/", content_type="application/json")
    assert created.status_code == 201
    draft = created.json()
    assert (draft["version"], draft["status"], len(draft["rules"])) == (2, "draft", 1)
    assert api.post(f"{API}/routing/rulesets/").status_code == 200  # the open draft again

    base = f"{API}/routing/rulesets/{draft['id']}"
    rule = api.post(
        f"{base}/rules/", {"kind": "sourcing", "params": {"strategy": "cheapest"}}, content_type="application/json"
    ).json()
    assert rule["summary"] == "Choose sources by cheapest cost."
    moved = api.post(f"{base}/rules/{rule['id']}/move/", {"position": 1}, content_type="application/json").json()
    assert [r["kind"] for r in moved["rules"]] == ["sourcing", "hold"]
    patched = api.patch(f"{base}/rules/{rule['id']}/", {"enabled": False}, content_type="application/json")
    assert patched.json()["enabled"] is False

    activated = api.post(f"{base}/activate/", {"note": "cheap"}, content_type="application/json")
    assert activated.status_code == 200
    assert (activated.json()["status"], activated.json()["note"]) == ("active", "cheap")
    versions = api.get(f"{API}/routing/rulesets/").json()
    assert [(v["version"], v["status"]) for v in versions] == [(2, "active"), (1, "retired")]


def test_invalid_rule_is_refused_in_plain_words_and_nothing_saved(api):
    draft = RuleSetFactory(version=1)

    response = api.post(
        f"{API}/routing/rulesets/{draft.pk}/rules/",
        {"kind": "merge", "params": {"window_hours": 0}},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "window_hours must be a whole number of hours" in response.json()["detail"][0]
    assert not Rule.objects.exists()


def test_edits_of_the_active_set_are_refused(api):
    active = activate_rules(("hold", {"total_above": "500"}))
    rule = active.rules.get()
    base = f"{API}/routing/rulesets/{active.pk}"

    responses = [
        api.post(f"{base}/rules/", {"kind": "merge", "params": {"window_hours": 2}}, content_type="application/json"),
        api.patch(f"{base}/rules/{rule.pk}/", {"enabled": False}, content_type="application/json"),
        api.delete(f"{base}/rules/{rule.pk}/"),
        api.post(f"{base}/rules/{rule.pk}/move/", {"position": 1}, content_type="application/json"),
        api.post(f"{base}/activate/", content_type="application/json"),
        api.delete(f"{base}/"),
    ]

    assert [r.status_code for r in responses] == [400] * 6
    assert "cannot be changed" in responses[0].json()["detail"][0]
    rule.refresh_from_db()
    assert (rule.enabled, active.rules.count(), RuleSet.objects.get(pk=active.pk).status) == (True, 1, "active")


def test_activation_refused_with_the_problems(api):
    draft = RuleSetFactory(version=1)
    RuleFactory(ruleset=draft, kind="split", params={"policy": "maybe"})

    detail = api.get(f"{API}/routing/rulesets/{draft.pk}/").json()
    response = api.post(f"{API}/routing/rulesets/{draft.pk}/activate/", content_type="application/json")

    assert detail["problems"]
    assert response.status_code == 400
    assert response.json()["detail"] == detail["problems"]
    assert RuleSet.objects.get(pk=draft.pk).status == "draft"


def test_simulate_returns_an_id_to_poll(api, catalog, store, django_capture_on_commit_callbacks):
    draft = RuleSetFactory(version=1)
    recent_order(store, ("A", 1))

    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(
            f"{API}/routing/rulesets/{draft.pk}/simulate/", {"days": 7}, content_type="application/json"
        )
    assert response.status_code == 202
    assert len(callbacks) == 1
    sim_id = response.json()["id"]
    assert api.get(f"{API}/routing/simulations/{sim_id}/").json()["progress"]["running"] is True

    simulate_ruleset(sim_id)

    body = api.get(f"{API}/routing/simulations/{sim_id}/").json()
    assert body["status"] == "done"
    assert body["result"]["orders"]["compared"] == 1
    assert api.post(f"{API}/routing/rulesets/{draft.pk}/simulate/", {"days": 0}, content_type="application/json").status_code == 400  # fmt: skip


@pytest.fixture
def held(api, catalog, store):
    activate_rules(("hold", {"tags": ["review"]}))
    orders = [
        recent_order(store, ("A", 1), tags=("review",)),
        recent_order(store, ("NOPE", 1)),
        recent_order(store, ("A", 1)),
    ]
    route_orders(order_ids=[o.pk for o in orders], trigger="ingest")
    return orders


def test_holds_list_filter_release_and_reroute(api, held, run_enqueued):
    listing = api.get(f"{API}/routing/holds/").json()
    assert [row["id"] for row in listing["results"]] == [held[0].pk, held[1].pk]
    reason = listing["results"][0]["hold_reasons"][0]
    assert (reason["code"], reason["text"]) == ("hold_tag", "Rule “hold 1”: the order is tagged review.")
    assert {r["code"]: r["count"] for r in listing["reasons"]} == {"hold_tag": 1, "unmapped_sku": 1}
    assert [r["id"] for r in api.get(f"{API}/routing/holds/?reason=unmapped_sku").json()["results"]] == [held[1].pk]

    with run_enqueued():
        released = api.post(f"{API}/routing/holds/release/", {"ids": [held[0].pk]}, content_type="application/json")
    assert (released.status_code, released.json()["state"], released.json()["total"]) == (202, "queued", 1)
    job = api.get(f"{API}/routing/jobs/{released.json()['id']}/").json()
    assert (job["state"], job["done"], job["routed"]) == ("done", 1, 1)
    assert Order.objects.get(pk=held[0].pk).status == "routed"

    with run_enqueued():
        rerouted = api.post(f"{API}/routing/reroute/", {"ids": [held[2].pk]}, content_type="application/json")
    assert rerouted.status_code == 202
    assert Order.objects.get(pk=held[2].pk).status == "routed"
    assert api.get(f"{API}/routing/jobs/nope/").status_code == 404
    assert api.post(f"{API}/routing/holds/release/", {"ids": []}, content_type="application/json").status_code == 400


def test_order_routing_has_codes_words_dispatches_and_timeline(api, held, catalog):
    body = api.get(f"{API}/orders/{held[2].pk}/routing/").json()

    decision = body["decision"]
    assert decision["held"] is False
    assert decision["lines"][0]["supplier"] == catalog.name
    assert decision["lines"][0]["reasons"][0].startswith(f"Routed to {catalog.name} ")
    assert decision["raw_lines"][0]["reasons"][0]["code"] == "routed"
    assert body["dispatches"][0]["supplier_name"] == catalog.name
    assert body["dispatches"][0]["lines"][0]["sku"] == "A"
    assert (body["timeline"][0]["from"], body["timeline"][0]["to"]) == ("new", "routed")


def test_holds_list_query_count_is_bounded(api, catalog, store, django_assert_max_num_queries):
    activate_rules(("hold", {"tags": ["review"]}))
    orders = [recent_order(store, ("A", 1), tags=("review",)) for _ in range(25)]
    route_orders(order_ids=[o.pk for o in orders], trigger="ingest")

    with django_assert_max_num_queries(10):
        assert len(api.get(f"{API}/routing/holds/").json()["results"]) == 25


ENDPOINTS = [
    ("get", "/routing/rulesets/"),
    ("post", "/routing/rulesets/"),
    ("get", "/routing/rulesets/{ruleset}/"),
    ("post", "/routing/rulesets/{ruleset}/rules/"),
    ("patch", "/routing/rulesets/{ruleset}/rules/{rule}/"),
    ("post", "/routing/rulesets/{ruleset}/rules/{rule}/move/"),
    ("post", "/routing/rulesets/{ruleset}/activate/"),
    ("post", "/routing/rulesets/{ruleset}/simulate/"),
    ("get", "/routing/simulations/{simulation}/"),
    ("get", "/routing/holds/"),
    ("post", "/routing/holds/release/"),
    ("post", "/routing/reroute/"),
    ("get", "/orders/{order}/routing/"),
    ("get", "/routing/jobs/{job}/"),
    ("get", "/listings/unmapped/"),
]


@pytest.fixture
def objects(store):
    ruleset = RuleSetFactory(version=1)
    rule = RuleFactory(ruleset=ruleset, kind="merge", params={"window_hours": 2})
    sim = SimulationFactory(ruleset=ruleset, days=3)
    job = jobs.routing_job_start(kind="reroute", order_ids=[], actor=None)  # sent after a commit that never comes
    return {
        "ruleset": ruleset.pk, "rule": rule.pk, "simulation": sim.pk, "order": recent_order(store).pk, "job": job["id"],
    }  # fmt: skip


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_finance_and_supplier_tokens_are_refused(tenant_a, make_user, make_supplier, api_for, objects, role):
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    client = api_for(tenant_a, make_user(tenant_a, role, supplier=supplier))

    for method, path in ENDPOINTS:
        response = getattr(client, method)(API + path.format(**objects), {}, content_type="application/json")
        assert response.status_code == 403, path
    connection.set_tenant(tenant_a)
    assert RuleSet.objects.filter(status="draft").count() == 1


def test_anonymous_is_refused(tenant_a, client_for, objects):
    client = client_for(tenant_a)
    for method, path in ENDPOINTS:
        assert getattr(client, method)(API + path.format(**objects)).status_code in (401, 403), path


def test_another_tenant_sees_none_of_it(tenant_b, make_user, api_for, objects):
    client = api_for(tenant_b, make_user(tenant_b, "operator"))

    for method, path in ENDPOINTS:
        if "{" not in path:
            continue
        response = getattr(client, method)(API + path.format(**objects), {}, content_type="application/json")
        assert response.status_code == 404, path
    assert client.get(f"{API}/routing/rulesets/").json() == []
    assert client.get(f"{API}/routing/holds/").json()["results"] == []
    released = client.post(
        f"{API}/routing/holds/release/", {"ids": [objects["order"]]}, content_type="application/json"
    )
    assert released.json()["total"] == 0  # the other tenant's order is not among its ids
