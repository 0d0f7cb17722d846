"""Routing pages: rule editor, simulation, holds queue, order page explanations and timeline, dashboard share."""

import re

import pytest
from django.db import connection

from inventory.models import Source
from orders.models import Order, Rule, RuleSet, Simulation
from orders.routing import jobs
from orders.routing.services import route_orders
from orders.routing.simulation import simulate_ruleset
from tests.conftest import in_tenant
from tests.orders.factories import RuleFactory, RuleSetFactory, SimulationFactory
from tests.orders.routing_factories import activate_rules, add_source, recent_order


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# ---------------------------------------------------------------------------
# Rule editor


def test_editor_shows_the_active_set_read_only_and_opens_a_draft(console):
    activate_rules(("hold", {"total_above": "500", "currency": "USD"}))

    page = console.get("/routing/")
    assert page.status_code == 200
    assert "Hold for review when the total is above 500.00 USD." in page.content.decode()  # in the currency's decimals
    assert "/routing/rules/" not in page.content.decode()  # nothing to edit yet

    response = console.post("/routing/draft/", follow=True)
    draft = RuleSet.objects.get(status="draft")
    assert draft.rules.count() == 1
    assert f"/routing/rules/{draft.rules.get().pk}/" in response.content.decode()


def test_adding_a_rule_with_errors_shows_them_and_saves_nothing(console):
    draft = RuleSetFactory(version=1)

    response = console.post(f"/routing/versions/{draft.pk}/rules/add/hold/", {"name": "Nothing", "enabled": "on"})

    assert response.status_code == 400
    assert "Choose at least one condition that holds an order." in response.content.decode()
    response = console.post(
        f"/routing/versions/{draft.pk}/rules/add/hold/", {"total_above": "100", "currency": "US", "enabled": "on"}
    )
    assert response.status_code == 400
    assert "three-letter currency code" in response.content.decode()
    assert not Rule.objects.exists()


def test_adding_editing_moving_toggling_and_deleting_rules(console, catalog):
    draft = RuleSetFactory(version=1)
    base = f"/routing/versions/{draft.pk}/rules/add"

    assert console.get(f"{base}/gift/").status_code == 200
    console.post(f"{base}/hold/", {"name": "Big", "total_above": "500", "currency": "usd", "enabled": "on"})
    console.post(
        f"{base}/gift/",
        {"product": "A", "min_quantity": "2", "gift_product": "GIFT", "gift_quantity": "1", "enabled": "on"},
    )
    console.post(f"{base}/sourcing/", {"strategy": "cheapest", "enabled": "on"})
    hold, gift, sourcing = draft.rules.order_by("position")
    assert hold.params == {"total_above": "500", "currency": "USD"}
    assert gift.params == {"product_id": gift.params["product_id"], "min_quantity": 2, "gift_product_id": gift.params["gift_product_id"], "gift_quantity": 1}  # fmt: skip
    assert sourcing.params == {"strategy": "cheapest"}
    page = console.get("/routing/").content.decode()
    assert "Buying 2 × A adds 1 × GIFT free." in page

    edit = console.get(f"/routing/rules/{hold.pk}/")
    assert 'value="500' in edit.content.decode()
    console.post(f"/routing/rules/{hold.pk}/", {"name": "Bigger", "total_above": "900", "enabled": "on"})
    console.post(f"/routing/rules/{sourcing.pk}/up/")
    console.post(f"/routing/rules/{gift.pk}/disable/")
    assert list(draft.rules.order_by("position").values_list("name", "kind", "enabled")) == [
        ("Bigger", "hold", True), ("", "sourcing", True), ("", "gift", False),
    ]  # fmt: skip
    console.post(f"/routing/rules/{gift.pk}/delete/")
    assert draft.rules.count() == 2


def test_gift_with_an_unknown_sku_is_refused(console):
    draft = RuleSetFactory(version=1)

    response = console.post(
        f"/routing/versions/{draft.pk}/rules/add/gift/",
        {"product": "NOPE", "min_quantity": "1", "gift_product": "NOPE2", "gift_quantity": "1"},
    )

    assert response.status_code == 400
    assert "No product has the SKU “NOPE”." in response.content.decode()
    assert not Rule.objects.exists()


def test_active_rules_cannot_be_edited_through_the_pages(console):
    active = activate_rules(("hold", {"total_above": "500"}))
    rule = active.rules.get()

    response = console.post(f"/routing/rules/{rule.pk}/disable/", follow=True)
    assert any("cannot be changed" in m for m in messages_of(response))
    assert console.get(f"/routing/rules/{rule.pk}/").status_code == 302
    assert console.post(f"/routing/versions/{active.pk}/rules/add/merge/", {"window_hours": "3"}).status_code == 302
    rule.refresh_from_db()
    assert (rule.enabled, active.rules.count()) == (True, 1)


def test_activation_needs_confirmation_and_refuses_with_the_reason(console):
    old = activate_rules(("hold", {"total_above": "500"}), version=1)
    draft = RuleSetFactory(version=2)
    RuleFactory(ruleset=draft, kind="merge", params={"window_hours": "soon"})

    confirm = console.get(f"/routing/versions/{draft.pk}/activate/")
    assert "This draft cannot be activated" in confirm.content.decode()
    refused = console.post(f"/routing/versions/{draft.pk}/activate/", {"note": "try"})
    assert refused.status_code == 400
    assert "window_hours" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"

    Rule.objects.filter(ruleset=draft).update(params={"window_hours": 6})
    console.post(f"/routing/versions/{draft.pk}/activate/", {"note": "Merge within 6 hours"})
    draft.refresh_from_db()
    old.refresh_from_db()
    assert (draft.status, draft.note, old.status) == ("active", "Merge within 6 hours", "retired")
    history = console.get("/routing/").content.decode()
    assert "Merge within 6 hours" in history
    assert console.get(f"/routing/versions/{old.pk}/").status_code == 200


def test_simulate_shows_progress_then_the_diff_in_words(console, catalog, store, django_capture_on_commit_callbacks):
    activate_rules(("hold", {"total_above": "15"}))
    draft = RuleSetFactory(version=9)
    recent_order(store, ("A", 2))  # total 20: held now, not with the draft

    with django_capture_on_commit_callbacks() as callbacks:
        response = console.post(f"/routing/versions/{draft.pk}/simulate/", {"days": "7"})
    assert len(callbacks) == 1
    sim = Simulation.objects.get()
    assert response.url == f"/routing/simulations/{sim.pk}/"
    running = console.get(response.url).content.decode()
    assert f'data-progress-url="/routing/simulations/{sim.pk}/?format=json"' in running
    assert console.get(response.url, {"format": "json"}).json()["running"] is True

    simulate_ruleset(sim.pk)

    assert console.get(response.url, {"format": "json"}).json()["finished"] is True
    done = console.get(response.url).content.decode()
    assert "1 of 1 orders would be decided differently." in done
    assert "0 more orders would be held for review, and 1 fewer." in done
    assert "Total above a limit" in done


def test_simulate_refuses_a_bad_number_of_days(console):
    draft = RuleSetFactory(version=1)

    response = console.post(f"/routing/versions/{draft.pk}/simulate/", {"days": "0"}, follow=True)

    assert messages_of(response)
    assert not Simulation.objects.exists()


def test_editor_query_count_is_bounded(console, django_assert_max_num_queries):
    activate_rules(*[("hold", {"tags": [f"t{i}"]}) for i in range(15)])
    console.post("/routing/draft/")
    for version in range(3, 10):
        RuleSetFactory(version=version + 10, status="retired")

    with django_assert_max_num_queries(16):
        assert console.get("/routing/").status_code == 200


# ---------------------------------------------------------------------------
# Holds queue


@pytest.fixture
def held(console, catalog, store):
    """Three orders: two held by the tag rule, one by an unmapped SKU; one routed."""
    activate_rules(("hold", {"tags": ["review"]}))
    orders = [
        recent_order(store, ("A", 1), tags=("review",)),
        recent_order(store, ("A", 1), tags=("review",)),
        recent_order(store, ("UNKNOWN", 1)),
        recent_order(store, ("A", 1)),
    ]
    route_orders(order_ids=[o.pk for o in orders], trigger="ingest")
    return orders


def test_holds_queue_lists_reasons_in_plain_words_and_filters(console, held):
    page = console.get("/orders/holds/")
    body = page.content.decode()
    assert [row["order"].pk for row in page.context["rows"]] == [o.pk for o in held[:3]]
    assert "Rule “hold 1”: the order is tagged review." in body
    assert "Listing SKU UNKNOWN is not mapped to a product." in body
    assert dict((c, n) for c, _, n in page.context["codes"]) == {"hold_tag": 2, "unmapped_sku": 1}

    filtered = console.get("/orders/holds/?reason=unmapped_sku")
    assert [row["order"].pk for row in filtered.context["rows"]] == [held[2].pk]


def test_bulk_release_routes_the_selected_orders(console, held, run_enqueued):
    with run_enqueued() as sent:
        response = console.post("/orders/holds/", {"action": "release", "ids": [held[0].pk, held[2].pk]}, follow=True)
        assert Order.objects.get(pk=held[0].pk).status == "held"  # nothing routed in the request

    assert len(sent) == 1
    assert response.status_code == 200
    statuses = dict(Order.objects.filter(pk__in=[o.pk for o in held]).values_list("pk", "status"))
    assert statuses[held[0].pk] == "routed"
    assert statuses[held[1].pk] == "held"  # not selected
    assert statuses[held[2].pk] == "held"  # an unmapped SKU still holds
    assert any("Releasing 2 orders in the background" in m for m in messages_of(response))
    job = console.get("/orders/holds/").context["jobs"][0]  # the newest
    assert (job["kind"], job["state"], job["done"], job["total"], job["routed"], job["held"]) == (
        "release", "done", 2, 2, 1, 1,
    )  # fmt: skip
    assert console.get(f"/orders/holds/jobs/{job['id']}/").json()["percent"] == 100


def test_holds_page_refreshes_itself_while_a_job_waits(console, held, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        console.post("/orders/holds/", {"action": "reroute", "ids": [held[0].pk]})

    page = console.get("/orders/holds/").content.decode()
    assert '<meta http-equiv="refresh"' in page
    assert "waiting for a worker" in page


def test_bulk_reroute_after_the_rule_changed(console, held, run_enqueued):
    activate_rules(("hold", {"tags": ["other"]}))

    with run_enqueued():
        console.post("/orders/holds/", {"action": "reroute", "ids": [held[0].pk, held[1].pk]})

    assert set(Order.objects.filter(pk__in=[held[0].pk, held[1].pk]).values_list("status", flat=True)) == {"routed"}


def test_bulk_action_without_selection_changes_nothing(console, held):
    response = console.post("/orders/holds/", {"action": "release"}, follow=True)

    assert any("Select at least one order" in m for m in messages_of(response))
    assert Order.objects.filter(status="held").count() == 3


def test_holds_queue_query_count_is_bounded(console, catalog, store, django_assert_max_num_queries):
    activate_rules(("hold", {"tags": ["review"]}))
    orders = [recent_order(store, ("A", 1), tags=("review",)) for _ in range(30)]
    route_orders(order_ids=[o.pk for o in orders], trigger="ingest")

    with django_assert_max_num_queries(12):
        assert len(console.get("/orders/holds/").context["rows"]) == 30


# ---------------------------------------------------------------------------
# Order page, dashboard


def test_order_page_explains_the_decision_dispatches_and_timeline(console, catalog, store, make_supplier, tenant_a):
    second = make_supplier(tenant_a, name="Backup")
    add_source(Source.objects.get(product__sku="A").product, second, cost="9.00")
    activate_rules(("sourcing", {"strategy": "cheapest"}))
    placed = recent_order(store, ("A", 3))
    route_orders(order_ids=[placed.pk], trigger="ingest")

    body = console.get(f"/orders/{placed.pk}/").content.decode()

    assert "Routed to Acme" in body  # supplier names, not ids
    assert "cheapest cost" in body
    assert "Costs 9.0000 USD, more than the chosen 5.0000 USD." in body  # the skipped source and why
    assert "sourcing 1" in body  # the rule that fired
    assert "Waiting for the supplier" in body  # the dispatch and its status
    assert re.search(r"New\s*→\s*<strong>Routed</strong>", body)  # the timeline


def test_order_page_of_a_held_order_shows_the_hold_reasons(console, held):
    body = console.get(f"/orders/{held[0].pk}/").content.decode()

    assert "Held for review:" in body
    assert "Rule “hold 1”: the order is tagged review." in body


def test_order_page_query_count_is_bounded(console, catalog, store, django_assert_max_num_queries):
    placed = recent_order(store, *[("A", 1)] * 1)
    route_orders(order_ids=[placed.pk], trigger="ingest")
    with django_assert_max_num_queries(20):
        assert console.get(f"/orders/{placed.pk}/").status_code == 200


def test_dashboard_shows_the_auto_routed_share_and_the_held_count(console, held):
    page = console.get("/dashboard/")

    assert page.context["auto_routed"] == {"routed": 1, "auto": 1, "percent": 100.0}
    assert page.context["held_count"] == 3
    assert "/orders/holds/" in page.content.decode()


# ---------------------------------------------------------------------------
# Roles and tenants

PAGES = [
    "/routing/",
    "/orders/holds/",
    "/routing/versions/{ruleset}/",
    "/routing/versions/{ruleset}/activate/",
    "/routing/versions/{ruleset}/rules/add/hold/",
    "/routing/rules/{rule}/",
    "/routing/simulations/{simulation}/",
    "/orders/holds/jobs/{job}/",
]


@pytest.fixture
def objects(in_a):
    ruleset = RuleSetFactory(version=1)
    rule = RuleFactory(ruleset=ruleset, kind="merge", params={"window_hours": 2})
    sim = SimulationFactory(ruleset=ruleset, days=3)
    job = jobs.routing_job_start(kind="release", order_ids=[], actor=None)  # sent after a commit that never comes
    return {"ruleset": ruleset.pk, "rule": rule.pk, "simulation": sim.pk, "job": job["id"]}


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_finance_and_supplier_users_are_refused(tenant_a, make_user, make_supplier, client_for, objects, role):
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    client = client_for(tenant_a, make_user(tenant_a, role, supplier=supplier))

    for url in PAGES:
        assert client.get(url.format(**objects)).status_code == 403, url
    assert client.post("/routing/draft/").status_code == 403
    assert client.post("/orders/holds/", {"action": "release", "ids": [1]}).status_code == 403
    assert client.post(f"/routing/rules/{objects['rule']}/delete/").status_code == 403
    connection.set_tenant(tenant_a)
    assert Rule.objects.filter(pk=objects["rule"]).exists()


def test_another_tenants_rule_sets_are_not_found(tenant_b, make_user, client_for, objects):
    client = client_for(tenant_b, make_user(tenant_b, "operator"))

    with in_tenant(tenant_b):
        assert not RuleSet.objects.filter(pk=objects["ruleset"]).exists()
    for url in PAGES[2:]:
        assert client.get(url.format(**objects)).status_code == 404, url
    assert client.post(f"/routing/rules/{objects['rule']}/delete/").status_code == 404
    assert client.get("/routing/").context["versions"] == []
    assert all(job["id"] != objects["job"] for job in client.get("/orders/holds/").context["jobs"])


def test_another_tenants_held_orders_are_not_listed_nor_released(tenant_b, make_user, client_for, held):
    client = client_for(tenant_b, make_user(tenant_b, "operator"))

    assert client.get("/orders/holds/").context["rows"] == []
    client.post("/orders/holds/", {"action": "release", "ids": [o.pk for o in held]})
    with in_tenant(tenant_b):
        assert not Order.objects.exists()
    assert Order.objects.filter(status="held").count() == 3


def test_the_order_timeline_recorded_by_the_worker_reads_in_the_reader_s_language(console, held):
    routed, on_hold = held[3], held[0]

    english = console.get(f"/orders/{routed.pk}/").content.decode()
    chinese = console.get(f"/orders/{routed.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    held_zh = console.get(f"/orders/{on_hold.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "Routed on ingest, rule set v" in english
    assert "Routed on ingest" not in chinese and "入单时路由，规则集 v" in chinese
    assert "is tagged" not in held_zh  # the engine's English hold reason, said again in Chinese
