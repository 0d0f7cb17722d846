"""Routing chunks in parallel (one task per chunk, several worker processes): the guarantees still hold.

Threads with their own database connections route overlapping chunks at once on committed data, the
way several worker processes do; the batch decides without stock locks, then checks under them and
routes again what no longer fits. Orders of one buyer in different chunks still merge, stock is never
reserved past what is on hand, every order has one current decision that its dispatches follow, and
nothing deadlocks.
"""

from __future__ import annotations

from collections import Counter
from unittest import mock

from core.bulk import copy_rows
from inventory.models import Source, Stock
from orders import tasks
from orders.models import Order, RoutingDecision, RuleSet, Transition
from orders.routing import batch
from orders.routing.services import reroute_orders, route_orders
from suppliers.models import Dispatch, DispatchLine
from tenants.models import Tenant
from tests.conftest import in_tenant
from tests.orders.routing_factories import (
    activate_rules,
    add_source,
    make_order,
    make_product,
    make_store,
    make_supplier,
    map_listing,
    remove_committed,
    route_rotated,
    run_at_once,
)

WORKERS = 4


def _cleanup(store, skus, previous_ruleset_ids) -> None:
    remove_committed(store, skus)
    RuleSet.objects.exclude(pk__in=previous_ruleset_ids["all"]).delete()
    RuleSet.objects.filter(pk__in=previous_ruleset_ids["active"]).update(status=RuleSet.Status.ACTIVE)


def _rulesets() -> dict:
    ids = list(RuleSet.objects.values_list("pk", flat=True))
    return {
        "all": ids,
        "active": list(RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).values_list("pk", flat=True)),
    }


def _books(ids: list[int], sources: list[Source]) -> None:
    """What must hold however the chunks interleaved."""
    for source in sources:
        stock = Stock.objects.get(source=source)
        live = DispatchLine.objects.filter(source=source, dispatch__status="pending")
        assert stock.reserved == sum(line.reserved for line in live) <= stock.on_hand
    # One current decision per order, and the dispatches follow it: a line per sourced decision line.
    current = {d.order_id: d for d in RoutingDecision.objects.filter(order_id__in=ids, is_current=True)}
    assert sorted(current) == sorted(ids)
    assert RoutingDecision.objects.filter(order_id__in=ids).count() == len(ids)
    for order in Order.objects.filter(pk__in=ids):
        decision = current[order.pk]
        lines = list(DispatchLine.objects.filter(order=order).values_list("source_id", "quantity"))
        wanted = [(item["source_id"], item["quantity"]) for item in decision.lines if item["source_id"] is not None]
        if decision.held:
            assert order.status == "held" and lines == []
        else:
            assert order.status == "routed" and sorted(lines) == sorted(wanted)
    # Exactly one dispatch per order and supplier.
    carried = set(
        DispatchLine.objects.filter(order_id__in=ids).values_list("order_id", "dispatch__supplier_id", "dispatch_id")
    )
    pairs = Counter((order_id, supplier_id) for order_id, supplier_id, _ in carried)
    assert pairs and all(n == 1 for n in pairs.values())


def test_overlapping_chunks_routed_at_once_keep_every_guarantee(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with in_tenant(tenant):
            previous = _rulesets()
            activate_rules(("merge", {"window_hours": 24}))
            store = make_store(name="Parallel")
            north, south = make_supplier("Par North"), make_supplier("Par South")
            mug, tee = make_product("PAR-MUG"), make_product("PAR-TEE")
            scarce = add_source(mug, north, cost="3.00", stock=9)
            backup = add_source(mug, south, cost="4.00", stock=6)
            tee_source = add_source(tee, south, cost="2.00", stock=40)
            map_listing("PAR-MUG", (mug, 1))
            map_listing("PAR-TEE", (tee, 1))
            # Eight buyers, each with orders spread over every chunk: their merges cross chunks.
            orders = [
                make_order(
                    store, ("PAR-MUG", 1), ("PAR-TEE", 1), email=f"buyer{i % 8}@example.com", external_id=f"P{i}"
                )
                for i in range(40)
            ]
            ids = [o.pk for o in orders]
        try:
            # Each worker routes every order in chunks of 5, starting at another place: they race on every row.
            errors = run_at_once([k * 11 for k in range(WORKERS)], lambda offset: route_rotated(tenant, ids, offset))

            assert errors == []  # a deadlock would be an OperationalError here
            with in_tenant(tenant):
                _books(ids, [scarce, backup, tee_source])
                # 15 mugs in stock for 40 orders: the rest are held with no source left, none oversold.
                assert Order.objects.filter(pk__in=ids, status="routed").count() == 15
                assert Stock.objects.get(source=scarce).reserved == 9
                assert Stock.objects.get(source=backup).reserved == 6
                # Merges crossed chunks: one pending dispatch per buyer and supplier, shared by the buyer's orders.
                per_group = Counter(
                    (d.merge_key, d.supplier_id)
                    for d in Dispatch.objects.filter(lines__order_id__in=ids, status="pending").distinct()
                )
                assert per_group and all(n == 1 for n in per_group.values())
                carried = set(
                    DispatchLine.objects.filter(order_id__in=ids).values_list("order_id", "dispatch__supplier_id")
                )
                assert len(per_group) < len(carried)  # dispatches carry several orders each

                # Routing it all again changes nothing.
                before = (
                    DispatchLine.objects.filter(order_id__in=ids).count(),
                    RoutingDecision.objects.filter(order_id__in=ids).count(),
                    Transition.objects.filter(order_id__in=ids).count(),
                    list(Stock.objects.filter(source__in=[scarce, backup, tee_source]).values_list("reserved")),
                )
                summary = route_orders(order_ids=ids, trigger="ingest")
                # (held orders are looked at again and stay as they were)
                assert (summary.routed, summary.dispatches_created, summary.unchanged) == (0, 0, summary.held)
                after = (
                    DispatchLine.objects.filter(order_id__in=ids).count(),
                    RoutingDecision.objects.filter(order_id__in=ids).count(),
                    Transition.objects.filter(order_id__in=ids).count(),
                    list(Stock.objects.filter(source__in=[scarce, backup, tee_source]).values_list("reserved")),
                )
                assert after == before
        finally:
            with in_tenant(tenant):
                _cleanup(store, ["PAR-MUG", "PAR-TEE"], previous)


def test_an_order_whose_reservation_no_longer_fits_under_the_locks_is_routed_again(store, acme, bolt):
    # Given stock that another batch took after this one read it (the read says all 5 are free; 3 are not)
    mug = make_product("MUG")
    first = add_source(mug, acme, cost="1.00", stock=5)
    second = add_source(mug, bolt, cost="2.00", stock=10)
    map_listing("MUG", (mug, 1))
    Stock.objects.filter(source=first).update(reserved=3)
    orders = [make_order(store, ("MUG", 1), email=f"b{i}@example.com") for i in range(4)]
    real = batch.stock_levels

    def stale(*, source_ids, lock):
        levels = real(source_ids=source_ids, lock=lock)
        return levels if lock else {sid: (on_hand, 0) for sid, (on_hand, _) in levels.items()}

    # When the batch routes
    with mock.patch.object(batch, "stock_levels", side_effect=stale):
        summary = route_orders(order_ids=[o.pk for o in orders], trigger="ingest")

    # Then the two oldest keep the cheap source, the other two were routed again to the next one
    assert summary.routed == 4
    assert Stock.objects.get(source=first).reserved == 5
    assert Stock.objects.get(source=second).reserved == 2
    by_order = dict(DispatchLine.objects.filter(order__in=orders).values_list("order_id", "source_id"))
    assert [by_order[o.pk] for o in orders] == [first.pk, first.pk, second.pk, second.pk]
    for order in orders:  # the decision says what the dispatch does
        decision = RoutingDecision.objects.get(order=order, is_current=True)
        assert [item["source_id"] for item in decision.lines] == [by_order[order.pk]]


def test_an_order_a_supplier_moved_before_the_locks_is_routed_from_what_is_locked(store, acme, bolt):
    # Given a routed order whose dispatch the supplier accepts after the re-route read its lines
    mug, tee = make_product("MUG"), make_product("TEE")
    add_source(mug, acme, stock=5)
    add_source(tee, bolt, stock=5)
    map_listing("MUG", (mug, 1))
    map_listing("TEE", (tee, 1))
    order = make_order(store, ("MUG", 1), ("TEE", 1))
    route_orders(order_ids=[order.pk], trigger="ingest")
    accepted = Dispatch.objects.get(lines__order=order, supplier=acme)
    real = batch.dispatches_lock

    def accept_first(**kwargs):
        Dispatch.objects.filter(pk=accepted.pk).update(status="accepted")
        return real(**kwargs)

    # When it is re-routed
    with mock.patch.object(batch, "dispatches_lock", side_effect=accept_first):
        reroute_orders(order_ids=[order.pk])

    # Then the accepted dispatch is left alone and nothing is doubled
    assert DispatchLine.objects.filter(order=order).count() == 2
    assert Stock.objects.get(source__product=mug).reserved == 1
    assert Stock.objects.get(source__product=tee).reserved == 1
    assert Dispatch.objects.get(pk=accepted.pk).status == "accepted"


def test_ingest_sends_a_routing_task_per_chunk(in_a, django_capture_on_commit_callbacks):
    ids = list(range(1, 2 * tasks.ROUTE_CHUNK + 2))
    with mock.patch.object(tasks.after_ingest, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=True):
            tasks.enqueue_after_ingest(order_ids=ids)
    chunks = [call.kwargs["args"][0] for call in send.call_args_list]
    assert [len(chunk) for chunk in chunks] == [tasks.ROUTE_CHUNK, tasks.ROUTE_CHUNK, 1]
    assert sorted(i for chunk in chunks for i in chunk) == ids


def test_copy_rows_writes_text_that_needs_escaping_as_it_is(in_a, store):
    order = make_order(store, ("SKU-A", 1))
    reasons = ["tab\there", "line\nbreak\r\n", "back\\slash \\N", "", "\\."]
    rows = [(order.pk, "new", "routed", None, "routing", reason, order.created) for reason in reasons]
    written = copy_rows(
        "orders_transition", ("order_id", "from_state", "to_state", "actor_id", "actor_label", "reason", "at"), rows
    )
    assert written == len(reasons)
    stored = list(
        Transition.objects.filter(order=order, actor_label="routing").order_by("pk").values_list("reason", "at")
    )
    assert [reason for reason, _ in stored] == reasons
    assert all(at == order.created for _, at in stored)
