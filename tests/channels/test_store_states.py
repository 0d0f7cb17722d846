"""A store's status: every change goes through store_transition, is checked, and leaves a StoreEvent."""

import pytest
from django.db import IntegrityError, transaction

from channels.models import Store, StoreEvent, SyncRun
from channels.services import store_set_paused, store_sync, store_test_connection, store_update
from channels.store_states import store_transition
from core.states import IllegalTransition
from tests.channels.factories import StoreFactory
from tests.channels.helpers import FAST
from tests.conftest import in_tenant


def events(store: Store) -> list[tuple[str, str, str]]:
    return [(e.from_status, e.to_status, e.actor_label) for e in StoreEvent.objects.filter(store=store).order_by("id")]


def set_status(store: Store, status: str) -> None:
    Store.objects.filter(pk=store.pk).update(status=status)
    store.refresh_from_db()


# ------------------------------------------------------------------ refused moves change nothing


@pytest.mark.parametrize(
    ("status", "paused", "message"),
    [
        ("paused", True, "is paused already"),
        ("active", False, "is active already"),
        ("needs_reauth", True, "is not active (needs re-authorisation)"),
        ("needs_reauth", False, "is not paused (needs re-authorisation)"),
    ],
)
def test_an_illegal_pause_or_resume_is_refused_and_writes_nothing(shopify_store, operator, status, paused, message):
    # given a store in a status the action does not apply to
    set_status(shopify_store, status)

    # when it is paused or resumed
    with pytest.raises(IllegalTransition, match=message.replace("(", r"\(").replace(")", r"\)")):
        store_set_paused(store=shopify_store, paused=paused, actor=operator)

    # then its status is what it was and no event was written
    shopify_store.refresh_from_db()
    assert shopify_store.status == status
    assert events(shopify_store) == []


def test_a_move_is_checked_against_the_status_in_the_database_not_the_one_loaded(shopify_store):
    # given a store loaded as active, then paused by someone else
    stale = Store.objects.get(pk=shopify_store.pk)
    store_set_paused(store=shopify_store, paused=True)

    # when the stale copy is paused again
    with pytest.raises(IllegalTransition, match="paused already"):
        store_set_paused(store=stale, paused=True)

    # then only the first pause is recorded
    assert events(shopify_store) == [("active", "paused", "console")]


def test_a_store_waiting_for_credentials_cannot_be_paused_by_the_machine_either(shopify_store):
    set_status(shopify_store, "needs_reauth")

    with pytest.raises(IllegalTransition, match="cannot go from needs reauth to paused"):
        store_transition(store=shopify_store, to="paused", actor_label="test")

    assert events(shopify_store) == []


def test_an_unknown_status_is_refused(shopify_store):
    with pytest.raises(IllegalTransition, match="Unknown store state"):
        store_transition(store=shopify_store, to="closed", actor_label="test")
    assert events(shopify_store) == []


# ------------------------------------------------------------------ each path writes its event


def test_pause_and_resume_write_an_event_each_naming_the_person(shopify_store, operator):
    store_set_paused(store=shopify_store, paused=True, actor=operator)
    store_set_paused(store=shopify_store, paused=False, actor=operator)

    shopify_store.refresh_from_db()
    assert shopify_store.status == "active"
    assert events(shopify_store) == [("active", "paused", operator.email), ("paused", "active", operator.email)]
    assert StoreEvent.objects.filter(store=shopify_store, actor=operator).count() == 2


def test_a_refused_connection_test_needs_reauthorisation_once(shopify_store, shop, operator):
    # given a channel that refuses the credentials
    shop.fail_next = [(401, {}), (401, {})]

    # when the connection is tested twice
    first = store_test_connection(store=shopify_store, client=shop.client(), actor=operator)
    second = store_test_connection(store=shopify_store, client=shop.client(), actor=operator)

    # then the store needs re-authorisation, recorded once with the channel's words
    assert (first[0], second[0]) == (False, False)
    shopify_store.refresh_from_db()
    assert shopify_store.status == "needs_reauth"
    assert events(shopify_store) == [("active", "needs_reauth", operator.email)]
    assert "access token was refused" in StoreEvent.objects.get(store=shopify_store).reason


def test_a_refused_connection_test_of_a_paused_store_needs_reauthorisation(shopify_store, shop):
    set_status(shopify_store, "paused")
    shop.fail_next = [(401, {})]

    ok, _message = store_test_connection(store=shopify_store, client=shop.client())

    assert not ok
    assert events(shopify_store) == [("paused", "needs_reauth", "connection test")]


def test_a_passing_connection_test_leaves_a_paused_store_paused(shopify_store, shop):
    set_status(shopify_store, "paused")

    ok, _message = store_test_connection(store=shopify_store, client=shop.client())

    assert ok
    shopify_store.refresh_from_db()
    assert shopify_store.status == "paused"
    assert events(shopify_store) == []


def test_a_passing_connection_test_makes_a_store_needing_reauthorisation_active(shopify_store, shop, operator):
    set_status(shopify_store, "needs_reauth")

    ok, _message = store_test_connection(store=shopify_store, client=shop.client(), actor=operator)

    assert ok
    shopify_store.refresh_from_db()
    assert shopify_store.status == "active"
    assert events(shopify_store) == [("needs_reauth", "active", operator.email)]


def test_a_passing_connection_test_of_an_active_store_writes_nothing(shopify_store, shop):
    ok, _message = store_test_connection(store=shopify_store, client=shop.client())

    assert ok
    assert events(shopify_store) == []


def test_new_credentials_make_a_store_needing_reauthorisation_active(shopify_store, operator):
    set_status(shopify_store, "needs_reauth")

    store_update(store=shopify_store, credentials={"access_token": "shpat_new_token_9876543210"}, actor=operator)

    shopify_store.refresh_from_db()
    assert shopify_store.status == "active"
    assert events(shopify_store) == [("needs_reauth", "active", operator.email)]


def test_saving_other_fields_of_a_store_needing_reauthorisation_keeps_it_so(shopify_store, operator):
    set_status(shopify_store, "needs_reauth")

    store_update(store=shopify_store, sync_interval_minutes=15, actor=operator)

    shopify_store.refresh_from_db()
    assert shopify_store.status == "needs_reauth"
    assert events(shopify_store) == []


def test_a_sync_refused_by_the_channel_needs_reauthorisation_with_the_sync_as_actor(shopify_store, shop):
    shop.fail_next = [(401, {})]

    run = store_sync(store_id=shopify_store.pk, client=shop.client(), adapter_options=FAST)

    assert run.status == "failed"
    shopify_store.refresh_from_db()
    assert shopify_store.status == "needs_reauth"
    assert events(shopify_store) == [("active", "needs_reauth", "sync")]


def test_a_sync_of_a_store_paused_since_it_was_asked_for_is_skipped(shopify_store, shop):
    # given a sync asked for, then the store paused before the worker ran it
    store_set_paused(store=shopify_store, paused=True)

    # when the worker runs it
    run = store_sync(store_id=shopify_store.pk, client=shop.client(), adapter_options=FAST)

    # then nothing is pulled and no ledger line is written
    assert run is None
    assert shop.requests == []
    assert not SyncRun.objects.filter(store=shopify_store).exists()


# ------------------------------------------------------------------ the database holds the rules too


@pytest.mark.parametrize(
    "write",
    [
        lambda store: Store.objects.filter(pk=store.pk).update(status="closed"),
        lambda store: SyncRun.objects.create(store=store, kind="hourly"),
        lambda store: SyncRun.objects.create(store=store, kind="manual", status="lost"),
        lambda store: StoreEvent.objects.create(store=store, from_status="active", to_status="active", actor_label="x"),
        lambda store: StoreEvent.objects.create(store=store, from_status="active", to_status="gone", actor_label="x"),
        lambda store: store.webhook_deliveries.create(delivery_id="d1", topic="orders/create", outcome="maybe"),
        lambda store: store.imports.create(filename="a.csv", file_path="/tmp/a.csv", status="half"),
    ],
    ids=["store", "run-kind", "run-status", "event-same", "event-unknown", "webhook-outcome", "import-status"],
)
def test_a_status_outside_its_choices_is_refused_by_the_database(shopify_store, write):
    with pytest.raises(IntegrityError), transaction.atomic():
        write(shopify_store)


# ------------------------------------------------------------------ the store page shows the history


def test_the_store_page_lists_the_last_status_changes(console, tenant_a, operator):
    with in_tenant(tenant_a):
        store = StoreFactory(name="Hist", channel="shopify", base_url="https://h.myshopify.com")
    console.post(f"/stores/{store.pk}/pause/")
    console.post(f"/stores/{store.pk}/pause/", {"action": "resume"})

    page = console.get(f"/stores/{store.pk}/").content.decode()

    assert "History" in page
    assert "Paused in the console." in page and "Resumed in the console." in page
    assert page.count(operator.email) >= 2
    with in_tenant(tenant_a):
        assert [(e.from_status, e.to_status) for e in store.events.order_by("id")] == [
            ("active", "paused"),
            ("paused", "active"),
        ]
