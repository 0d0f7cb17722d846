"""Simulation: a draft against the active rule set over a known small history, with exact expected numbers."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from inventory.models import Source, Stock
from orders.models import Order, RoutingDecision, RuleSet, Simulation
from orders.routing import simulation
from orders.routing.core import engine
from suppliers.models import Dispatch
from tests.inventory.factories import StockFactory
from tests.orders.factories import RuleFactory, RuleSetFactory, SimulationFactory
from tests.orders.routing_factories import activate_rules, make_supplier, mapped_product, recent_order


@pytest.fixture
def history(store, operator):
    """Two suppliers; A is cheaper at the second; the active set holds big orders, the draft holds VIPs and buys cheap.

    1. A×2 + B×1            active: A→S1, B→S1         draft: A→S2, B→S1
    2. A×1 tagged vip       active: A→S1               draft: held (tag), A→S2
    3. A×20 (total 200)     active: held (total), A→S1 draft: A→S2
    4. C×1 (unmapped)       held in both, no source in both
    5. placed 40 days ago   outside the window
    6. cancelled            left out
    """
    s1, s2 = make_supplier("First"), make_supplier("Second")
    mapped_product("A", (s1, "5.00"), (s2, "4.00"))
    mapped_product("B", (s1, "3.00"))
    activate_rules(("hold", {"total_above": "100"}), version=1)
    draft = RuleSetFactory(version=2)
    RuleFactory(ruleset=draft, position=1, kind="hold", name="VIP", params={"tags": ["vip"]})
    RuleFactory(ruleset=draft, position=2, kind="sourcing", params={"strategy": "cheapest"})
    orders = [
        recent_order(store, ("A", 2), ("B", 1)),
        recent_order(store, ("A", 1), tags=("vip",)),
        recent_order(store, ("A", 20)),
        recent_order(store, ("C", 1)),
        recent_order(store, ("B", 1), placed_at=timezone.now() - dt.timedelta(days=40)),
        recent_order(store, ("A", 5)),
    ]
    Order.objects.filter(pk=orders[5].pk).update(status=Order.Status.CANCELLED)
    return {"s1": s1, "s2": s2, "draft": draft, "orders": orders, "user": operator}


def run(history, days=30) -> Simulation:
    sim = SimulationFactory(ruleset=history["draft"], days=days, created_by=history["user"])
    return simulation.simulation_run(simulation=sim)


def test_diff_on_a_known_history(history):
    s1, s2, orders = str(history["s1"].pk), str(history["s2"].pk), history["orders"]

    sim = run(history)

    assert (sim.status, sim.orders_total, sim.orders_done) == ("done", 4, 4)
    result = sim.result
    assert result["active_version"] == 1
    assert result["orders"] == {"compared": 4, "changed": 3, "held_active": 2, "held_draft": 2}
    assert result["holds"]["more"] == 1
    assert result["holds"]["fewer"] == 1
    assert result["holds"]["by_reason"] == [
        {"code": "hold_tag", "active": 0, "draft": 1, "diff": 1},
        {"code": "hold_total_above", "active": 1, "draft": 0, "diff": -1},
        {"code": "unmapped_sku", "active": 1, "draft": 1, "diff": 0},
    ]
    assert result["lines"] == {"compared": 5, "moved": 3, "unchanged": 2}
    assert result["moves"] == [{"from": s1, "to": s2, "lines": 3, "quantity": 23}]
    assert result["suppliers"] == {s1: history["s1"].name, s2: history["s2"].name}
    assert result["cost"] == [{"currency": "USD", "active": "118.0000", "draft": "95.0000", "diff": "-23.0000"}]
    assert sorted(result["changed_orders"]) == sorted(o.pk for o in orders[:3])


def test_simulation_writes_nothing_but_its_own_row(history):
    statuses = list(Order.objects.order_by("pk").values_list("status", flat=True))

    run(history)

    assert list(Order.objects.order_by("pk").values_list("status", flat=True)) == statuses
    assert not RoutingDecision.objects.exists()
    assert not Dispatch.objects.exists()


def test_chunks_give_the_same_result_and_count_progress(history, monkeypatch):
    whole = run(history).result
    # A module setting, not a function: one order a chunk without making thousands of orders.
    monkeypatch.setattr(simulation, "CHUNK", 1)

    chunked = run(history)

    assert chunked.result == whole
    assert (chunked.orders_total, chunked.orders_done) == (4, 4)


def test_each_rule_set_gets_its_own_fresh_stock(history):
    """With 1 unit at each supplier, both sides can use it: one side's reservations never starve the other."""
    for source in Source.objects.filter(product__sku="A"):
        StockFactory(source=source, on_hand=1)
    sim = run(history)

    # order 1 (A×2) finds no source with 2 units on either side and is held for it
    assert {r["code"] for r in sim.result["holds"]["by_reason"]} >= {"no_source_left"}
    assert Stock.objects.filter(reserved__gt=0).count() == 0


def test_a_longer_window_takes_older_orders(history):
    assert run(history, days=60).orders_total == 5


def test_running_twice_keeps_the_first_result(history):
    sim = run(history)
    finished = sim.finished

    again = simulation.simulation_run(simulation=sim)

    assert again.finished == finished
    assert again.result == sim.result


def test_an_error_marks_the_simulation_failed(history, monkeypatch):
    # The engine never fails on data (a bad rule becomes a problem, not an error): a fault is injected.
    def broken(**kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(engine, "route_batch", broken)
    sim = SimulationFactory(ruleset=history["draft"], days=30)

    with pytest.raises(RuntimeError):
        simulation.simulation_run(simulation=sim)

    sim.refresh_from_db()
    assert sim.status == "failed"
    assert "engine exploded" in sim.message
    assert simulation.simulation_progress(simulation=sim)["finished"] is True


def test_start_refuses_an_active_set_and_enqueues_after_commit(history, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationError):
        simulation.simulation_start(ruleset=RuleSet.objects.get(status="active"), days=30, actor=history["user"])
    with django_capture_on_commit_callbacks() as callbacks:
        sim = simulation.simulation_start(ruleset=history["draft"], days=30, actor=history["user"])
    assert len(callbacks) == 1
    assert simulation.simulation_progress(simulation=sim) | {"id": 0} == {
        "id": 0, "status": "running", "running": True, "finished": False, "total": 0, "done": 0, "seen": 0,
        "percent": 0, "message": "",
    }  # fmt: skip

    # the task runs in the tenant and finishes the simulation
    assert simulation.simulate_ruleset(sim.pk) == "done"


def test_without_an_active_set_the_draft_is_compared_with_the_defaults(history):
    RuleSet.objects.filter(status="active").update(status="retired")

    result = run(history).result

    assert result["active_version"] is None
    assert result["orders"]["held_active"] == 1  # only the unmapped SKU holds under the defaults
