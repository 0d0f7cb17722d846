"""Back to the channel: each shipped parcel's tracking is pushed to its order's store, retried while the
channel is down, and failed with the channel's words when it refuses.

Dispatches are shipped through the real services (dispatch_ship, then the order lifecycle). Shopify is the
sandbox shop over real HTTP, or scripted answers (httpx.MockTransport) for what the sandbox never does;
the Celery retry loop runs eagerly against scripted answers served over local HTTP.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx
import pytest
from django.utils import timezone
from openpyxl import load_workbook

from channels.fulfillment import (
    MAX_TRIES,
    STUCK_AFTER,
    fulfillment_push,
    fulfillments_plan,
    fulfillments_stuck,
    parcel_channel_lines,
    shipped_orders_export,
)
from channels.models import FulfillmentPush, Store
from channels.sandbox.generator import SandboxShop
from channels.services import store_create, store_sync
from channels.tasks import push_fulfillment, push_fulfillments, sweep_fulfillments
from inventory.models import Product
from orders.models import Order
from orders.routing.services import route_orders
from suppliers.models import DispatchLine, Parcel
from suppliers.shipping import ParcelSpec
from tests.channels.push_helpers import (
    FakeWoo,
    answer,
    dispatch_of,
    line_of,
    routed_order,
    serving,
    sf_number,
    ship,
    shopify_fulfillment_orders,
    stocked,
)
from tests.channels.sandbox_helpers import TOKEN as SANDBOX_TOKEN
from tests.channels.sandbox_helpers import running
from tests.channels.scripted_shopify import BASE, TOKEN, ScriptedShopify, ok
from tests.orders.factories import OrderFactory
from tests.orders.routing_factories import activate_rules, add_source, make_product, make_supplier, map_listing

P = FulfillmentPush.Status
UPS = "1Z999AA10123456784"  # UPS's own published sample number
WOO_KEY = "ck_0123456789abcdef0123456789abcdef01234567"
WOO_SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture
def acme(in_a):
    return make_supplier("Acme")


@pytest.fixture
def bolt(in_a):
    return make_supplier("Bolt")


def reload(push: FulfillmentPush) -> FulfillmentPush:
    return FulfillmentPush.objects.get(pk=push.pk)


def pushes_of(order: Order) -> list[FulfillmentPush]:
    return list(FulfillmentPush.objects.filter(order=order).select_related("parcel").order_by("pk"))


def shipped_push(store: Store, supplier, *, external_id: str = "450789469") -> FulfillmentPush:
    """An order of one mug at ``supplier``, shipped in one SF parcel; its planned push."""
    stocked(supplier, "MUG")
    order = routed_order(store, ("MUG", 1), external_id=external_id)
    dispatch = ship(dispatch_of(order))
    (push_id,) = fulfillments_plan(dispatch_id=dispatch.pk) or [None]
    return FulfillmentPush.objects.select_related("parcel", "order").get(pk=push_id)


# ------------------------------------------------------------------ planning


@pytest.fixture
def shopify(in_a) -> Store:
    """A Shopify store whose answers each test scripts."""
    return store_create(name="Scripted Shopify", channel="shopify", base_url=BASE, credentials={"access_token": TOKEN})


def test_plan_writes_one_push_per_parcel_and_running_it_twice_adds_nothing(shopify, acme):
    # given an order of two lines shipped in two parcels
    stocked(acme, "MUG", "TEE")
    order = routed_order(shopify, ("MUG", 2), ("TEE", 1))
    dispatch = dispatch_of(order)
    mug, tee = line_of(dispatch, "MUG"), line_of(dispatch, "TEE")
    ship(dispatch, ParcelSpec("sf", sf_number(), {mug.pk: 2}), ParcelSpec("ups", UPS, {tee.pk: 1}))

    # when the pushes are planned, twice
    first = fulfillments_plan(dispatch_id=dispatch.pk)
    second = fulfillments_plan(dispatch_id=dispatch.pk)

    # then one pending push per parcel, written once
    assert first == second and len(first) == 2
    pushes = pushes_of(order)
    assert [(p.store_id, p.status, p.attempts, p.parcel.tracking_number) for p in pushes] == [
        (shopify.pk, P.PENDING, 0, pushes[0].parcel.tracking_number), (shopify.pk, P.PENDING, 0, UPS),
    ]  # fmt: skip
    lines = parcel_channel_lines(pairs=[(p.parcel_id, order.pk) for p in pushes])
    assert [[(cl.order_line.listing_sku, cl.quantity) for cl in lines[(p.parcel_id, order.pk)]] for p in pushes] == [
        [("MUG", 2)], [("TEE", 1)],
    ]  # fmt: skip


def test_the_sweep_sends_again_only_pending_pushes_left_unattempted(shopify, acme, django_capture_on_commit_callbacks):
    # given two pending pushes: one whose task was lost half an hour ago, one waiting for its retry
    stocked(acme, "MUG", "TEE")
    order = routed_order(shopify, ("MUG", 2), ("TEE", 1))
    dispatch = dispatch_of(order)
    mug, tee = line_of(dispatch, "MUG"), line_of(dispatch, "TEE")
    ship(dispatch, ParcelSpec("sf", sf_number(), {mug.pk: 2}), ParcelSpec("ups", UPS, {tee.pk: 1}))
    lost, waiting = fulfillments_plan(dispatch_id=dispatch.pk)
    FulfillmentPush.objects.filter(pk=lost).update(updated=timezone.now() - STUCK_AFTER - dt.timedelta(minutes=1))

    # when the periodic sweep runs
    with django_capture_on_commit_callbacks(execute=False) as sent:
        swept = sweep_fulfillments.run()

    # then only the lost one is sent again
    assert swept == 1
    assert [callback.keywords["args"] for callback in sent] == [(lost,)]
    assert waiting not in fulfillments_stuck()


def test_a_dispatch_that_has_not_shipped_gets_no_push(shopify, acme):
    stocked(acme, "MUG")
    order = routed_order(shopify, ("MUG", 1))

    assert fulfillments_plan(dispatch_id=dispatch_of(order).pk) == []
    assert not FulfillmentPush.objects.exists()


def test_a_bundle_is_told_to_the_channel_by_the_parcel_that_completes_it(shopify, acme):
    # given a kit of 2 mugs and a tee, the mugs in one parcel and the tee in the next
    mug, tee = make_product("MUG"), make_product("TEE")
    add_source(mug, acme, stock=10)
    add_source(tee, acme, stock=10)
    map_listing("KIT", (mug, 2), (tee, 1))
    order = routed_order(shopify, ("KIT", 1))
    dispatch = dispatch_of(order)
    mugs, tees = DispatchLine.objects.filter(dispatch=dispatch).order_by("product__sku")
    ship(dispatch, ParcelSpec("sf", sf_number(), {mugs.pk: 2}), ParcelSpec("ups", UPS, {tees.pk: 1}))

    # when
    pending = fulfillments_plan(dispatch_id=dispatch.pk)

    # then the mugs alone tell the channel nothing; the tee completes the kit's one unit
    first, second = pushes_of(order)
    assert (first.status, second.status) == (P.NOT_NEEDED, P.PENDING)
    assert "bundle" in first.message
    assert pending == [second.pk]
    (line,) = parcel_channel_lines(pairs=[(second.parcel_id, order.pk)])[(second.parcel_id, order.pk)]
    assert (line.order_line.listing_sku, line.quantity) == ("KIT", 1)


def test_gifts_are_not_the_channels_lines(shopify, acme):
    # given a gift rule adds a tote to every mug order, and the tote ships in a parcel of its own
    stocked(acme, "MUG")
    tote = make_product("TOTE")
    add_source(tote, acme, stock=10)
    mug = Product.objects.get(sku="MUG")
    activate_rules(("gift", {"product_id": mug.pk, "min_quantity": 1, "gift_product_id": tote.pk, "gift_quantity": 1}))
    order = routed_order(shopify, ("MUG", 1))
    dispatch = dispatch_of(order)
    lines = {line.is_gift: line for line in dispatch.lines.all()}
    ship(dispatch, ParcelSpec("sf", sf_number(), {lines[False].pk: 1}), ParcelSpec("ups", UPS, {lines[True].pk: 1}))

    # when
    fulfillments_plan(dispatch_id=dispatch.pk)

    # then
    mug_parcel, tote_parcel = pushes_of(order)
    assert (mug_parcel.status, tote_parcel.status) == (P.PENDING, P.NOT_NEEDED)
    assert "gifts" in tote_parcel.message


# ------------------------------------------------------------------ Shopify: the sandbox shop over HTTP


@pytest.fixture
def two_line_shop(clock) -> SandboxShop:
    """A sandbox shop whose orders have two lines each."""
    return SandboxShop(seed=11, clock=clock, rate_per_minute=0, line_count_weights=(0, 1, 0, 0, 0))


@pytest.fixture
def sandbox_store(in_a, two_line_shop):
    """A sandbox store of tenant A with the shop's orders pulled into Relay."""
    two_line_shop.generate(3)
    with running(two_line_shop) as base_url:
        store = store_create(
            name="Sandbox", channel="sandbox", base_url=base_url, credentials={"access_token": SANDBOX_TOKEN}
        )
        with httpx.Client(trust_env=False, timeout=10) as http:
            run = store_sync(store_id=store.pk, client=http, adapter_options={"sleep": lambda seconds: None})
        assert run.orders_created == 3
        yield store


def sandbox_order(store: Store, *suppliers) -> Order:
    """The store's first order, its lines' SKUs stocked at the suppliers (one each, in line order), routed."""
    order = Order.objects.filter(store=store).order_by("pk").first()
    lines = list(order.lines.order_by("position"))
    for line, supplier in zip(lines, suppliers * len(lines), strict=False):
        stocked(supplier, line.listing_sku)
    route_orders(order_ids=[order.pk], trigger="ingest")
    return order


def test_one_parcel_becomes_one_fulfillment_with_its_tracking(sandbox_store, two_line_shop, acme, run_enqueued):
    # given
    order = sandbox_order(sandbox_store, acme)
    number = sf_number()
    dispatch = ship(dispatch_of(order), ParcelSpec("sf", number))

    # when the worker runs the task the lifecycle sends
    with run_enqueued():
        assert push_fulfillments.run(dispatch.pk) == 1

    # then
    (push,) = pushes_of(order)
    assert (push.status, push.attempts, push.message) == (P.PUSHED, 1, "")
    assert push.pushed_at is not None
    on_shop = two_line_shop.get_order(int(order.external_id))
    (fulfillment,) = on_shop["fulfillments"]
    assert push.external_id == str(fulfillment["id"])
    assert (fulfillment["tracking_company"], fulfillment["tracking_number"]) == ("SF Express", number)
    assert fulfillment["tracking_url"] == f"https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/{number}"
    assert on_shop["fulfillment_status"] == "fulfilled"
    assert sorted((item["id"], item["quantity"]) for item in fulfillment["line_items"]) == sorted(
        (int(line.external_id), line.quantity) for line in order.lines.all()
    )


def test_two_parcels_become_two_fulfillments(sandbox_store, two_line_shop, acme, run_enqueued):
    # given
    order = sandbox_order(sandbox_store, acme)
    dispatch = dispatch_of(order)
    first, second = sorted(dispatch.lines.all(), key=lambda line: line.order_line.position)
    number = sf_number()
    ship(dispatch, ParcelSpec("sf", number, {first.pk: first.quantity}), ParcelSpec("ups", UPS, {second.pk: second.quantity}))  # fmt: skip

    # when
    with run_enqueued():
        push_fulfillments.run(dispatch.pk)

    # then
    assert [p.status for p in pushes_of(order)] == [P.PUSHED, P.PUSHED]
    on_shop = two_line_shop.get_order(int(order.external_id))
    sent = [
        (f["tracking_company"], f["tracking_number"], f["tracking_url"], [(i["id"], i["quantity"]) for i in f["line_items"]])
        for f in on_shop["fulfillments"]
    ]  # fmt: skip
    assert sent == [
        ("SF Express", number, f"https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/{number}",
         [(int(first.order_line.external_id), first.quantity)]),
        ("UPS", UPS, f"https://www.ups.com/track?tracknum={UPS}", [(int(second.order_line.external_id), second.quantity)]),
    ]  # fmt: skip
    assert on_shop["fulfillment_status"] == "fulfilled"


def test_the_channel_shows_partial_then_fulfilled_as_the_dispatches_ship(
    sandbox_store, two_line_shop, acme, bolt, run_enqueued
):
    # given the order's two lines go to two suppliers
    order = sandbox_order(sandbox_store, acme, bolt)

    # when the first ships
    with run_enqueued():
        push_fulfillments.run(ship(dispatch_of(order, acme)).pk)

    # then Relay and the channel both say partly
    assert Order.objects.get(pk=order.pk).status == Order.Status.PARTIALLY_SHIPPED
    assert two_line_shop.get_order(int(order.external_id))["fulfillment_status"] == "partial"

    # when the second ships
    with run_enqueued():
        push_fulfillments.run(ship(dispatch_of(order, bolt)).pk)

    # then
    assert Order.objects.get(pk=order.pk).status == Order.Status.SHIPPED
    on_shop = two_line_shop.get_order(int(order.external_id))
    assert on_shop["fulfillment_status"] == "fulfilled" and len(on_shop["fulfillments"]) == 2


def test_a_push_sent_again_after_a_lost_answer_finds_its_fulfillment(sandbox_store, two_line_shop, acme):
    # given a push that went through, but whose answer Relay never wrote
    order = sandbox_order(sandbox_store, acme)
    ship(dispatch_of(order))
    (push_id,) = fulfillments_plan(dispatch_id=dispatch_of(order).pk)
    fulfillment_push(push_id=push_id)
    FulfillmentPush.objects.filter(pk=push_id).update(status=P.PENDING, external_id="")

    # when it is attempted again
    outcome = fulfillment_push(push_id=push_id)

    # then it is pushed, and the shop holds one fulfillment
    (fulfillment,) = two_line_shop.get_order(int(order.external_id))["fulfillments"]
    assert outcome.status == P.PUSHED
    assert FulfillmentPush.objects.get(pk=push_id).external_id == str(fulfillment["id"])


def test_an_order_fulfilled_in_the_shop_already_fails_with_the_shops_words_and_is_not_retried(
    sandbox_store, two_line_shop, acme
):
    # given the merchant fulfilled the order in Shopify with another tracking number
    order = sandbox_order(sandbox_store, acme)
    (fo,) = two_line_shop.fulfillment_orders(int(order.external_id))
    two_line_shop.create_fulfillment(
        {"fulfillment": {"line_items_by_fulfillment_order": [{"fulfillment_order_id": fo["id"]}]}}
    )
    ship(dispatch_of(order))
    (push_id,) = fulfillments_plan(dispatch_id=dispatch_of(order).pk)

    # when
    outcome = fulfillment_push(push_id=push_id)

    # then
    push = FulfillmentPush.objects.get(pk=push_id)
    assert (outcome.status, outcome.retry_in) == (P.FAILED, None)
    assert (push.status, push.attempts) == (P.FAILED, 1)
    assert "nothing left to fulfil" in push.message
    assert len(two_line_shop.get_order(int(order.external_id))["fulfillments"]) == 1


# ------------------------------------------------------------------ Shopify: scripted answers


def test_a_422_with_our_tracking_already_in_shopify_counts_as_pushed(shopify, acme):
    push = shipped_push(shopify, acme)
    number = push.parcel.tracking_number
    shop = ScriptedShopify(
        ok(shopify_fulfillment_orders(push.order, status="closed")),
        ok({"fulfillments": [{"id": 1069019908, "status": "success", "tracking_number": number}]}),
    )

    outcome = fulfillment_push(push_id=push.pk, client=shop.client())

    assert outcome.status == P.PUSHED
    assert (reload(push).status, reload(push).external_id) == (P.PUSHED, "1069019908")
    assert [r.method for r in shop.requests] == ["GET", "GET"]


def test_a_422_without_our_tracking_fails_with_shopifys_message_and_no_retry(shopify, acme):
    push = shipped_push(shopify, acme)
    shop = ScriptedShopify(
        ok(shopify_fulfillment_orders(push.order)),
        answer(422, {"errors": ["Fulfillment order 9001 has an unfulfillable status= closed."]}),
        ok({"fulfillments": []}),
    )

    outcome = fulfillment_push(push_id=push.pk, client=shop.client())

    assert (outcome.status, outcome.retry_in) == (P.FAILED, None)
    push = reload(push)
    assert (push.status, push.attempts) == (P.FAILED, 1)
    assert (
        push.message == "Shopify refused the request (422): Fulfillment order 9001 has an unfulfillable status= closed."
    )
    assert [r.method for r in shop.requests] == ["GET", "POST", "GET"]


def test_a_429_waits_as_long_as_shopify_says_then_succeeds(shopify, acme):
    push = shipped_push(shopify, acme)
    shop = ScriptedShopify(
        answer(429, {"errors": "Exceeded 2 calls per second for api client."}, **{"Retry-After": "2.0"}),
        ok(shopify_fulfillment_orders(push.order)),
        ok({"fulfillment": {"id": 555}}),
    )

    first = fulfillment_push(push_id=push.pk, client=shop.client())
    waiting = reload(push)
    second = fulfillment_push(push_id=push.pk, client=shop.client())

    assert (first.status, first.retry_in) == (P.PENDING, 2.0)
    assert (waiting.status, waiting.attempts) == (P.PENDING, 1)
    assert "429" in waiting.message and "Trying again in 2 s" in waiting.message
    assert (second.status, second.retry_in) == (P.PUSHED, None)
    assert (reload(push).status, reload(push).attempts, reload(push).external_id) == (P.PUSHED, 2, "555")
    body = shop.requests[-1].read()
    assert b'"tracking_info"' in body and push.parcel.tracking_number.encode() in body


def test_a_5xx_is_retried_with_backoff_then_succeeds(shopify, acme):
    push = shipped_push(shopify, acme)
    shop = ScriptedShopify(answer(502), ok(shopify_fulfillment_orders(push.order)), ok({"fulfillment": {"id": 556}}))

    first = fulfillment_push(push_id=push.pk, client=shop.client())
    second = fulfillment_push(push_id=push.pk, client=shop.client())

    assert first.status == P.PENDING and 30 <= first.retry_in <= 40
    assert second.status == P.PUSHED


def test_a_5xx_on_the_last_try_fails(shopify, acme):
    push = shipped_push(shopify, acme)

    outcome = fulfillment_push(push_id=push.pk, last_try=True, client=ScriptedShopify(answer(503)).client())

    assert (outcome.status, outcome.retry_in) == (P.FAILED, None)
    assert "Gave up after 1 attempts" in reload(push).message


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_fail_asking_for_re_authorisation_without_a_retry(shopify, acme, status, caplog):
    push = shipped_push(shopify, acme)
    shop = ScriptedShopify(answer(status, {"errors": "[API] Invalid API key or access token"}))

    outcome = fulfillment_push(push_id=push.pk, client=shop.client())

    assert (outcome.status, outcome.retry_in) == (P.FAILED, None)
    push = reload(push)
    assert push.message.startswith("The store needs re-authorisation:")
    assert Store.objects.get(pk=shopify.pk).status == Store.Status.NEEDS_REAUTH
    assert TOKEN not in push.message and TOKEN not in caplog.text
    assert len(shop.requests) == 1


def test_a_store_waiting_for_credentials_is_not_called(shopify, acme):
    push = shipped_push(shopify, acme)
    Store.objects.filter(pk=shopify.pk).update(status=Store.Status.NEEDS_REAUTH)
    shop = ScriptedShopify(ok({}))

    outcome = fulfillment_push(push_id=push.pk, client=shop.client())

    assert outcome.status == P.FAILED and "re-authorisation" in reload(push).message
    assert shop.requests == []


def test_a_push_that_is_not_pending_is_left_alone(shopify, acme):
    push = shipped_push(shopify, acme)
    FulfillmentPush.objects.filter(pk=push.pk).update(status=P.PUSHED, external_id="1")
    shop = ScriptedShopify(ok({}))

    assert fulfillment_push(push_id=push.pk, client=shop.client()).status == P.PUSHED
    assert shop.requests == [] and reload(push).attempts == 0


# ------------------------------------------------------------------ the Celery task's retry loop


def test_the_task_retries_a_5xx_then_pushes(acme, in_a):
    shop = ScriptedShopify(answer(500), answer(503))
    with serving(shop) as base_url:
        store = store_create(name="Flaky", channel="shopify", base_url=base_url, credentials={"access_token": TOKEN})
        push = shipped_push(store, acme)
        shop.answers = [answer(500), ok(shopify_fulfillment_orders(push.order)), ok({"fulfillment": {"id": 557}})]

        result = push_fulfillment.apply(args=[push.pk])

    assert result.get() == P.PUSHED
    assert (reload(push).status, reload(push).attempts) == (P.PUSHED, 2)


def test_the_task_gives_up_after_the_last_attempt(acme, in_a):
    shop = ScriptedShopify(answer(503))
    with serving(shop) as base_url:
        store = store_create(name="Down", channel="shopify", base_url=base_url, credentials={"access_token": TOKEN})
        push = shipped_push(store, acme)

        result = push_fulfillment.apply(args=[push.pk])

    assert result.get() == P.FAILED
    push = reload(push)
    assert (push.status, push.attempts, len(shop.requests)) == (P.FAILED, MAX_TRIES, MAX_TRIES)
    assert f"Gave up after {MAX_TRIES} attempts" in push.message


# ------------------------------------------------------------------ WooCommerce


def test_woocommerce_gets_tracking_and_notes_and_is_completed_when_the_last_dispatch_ships(in_a, acme, bolt):
    # given an order of two lines at two suppliers, on a store with Shipment Tracking
    woo_store = store_create(
        name="Woo", channel="woocommerce", base_url="https://example.com",
        credentials={"consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET},
    )  # fmt: skip
    stocked(acme, "MUG")
    stocked(bolt, "TEE")
    order = routed_order(woo_store, ("MUG", 1), ("TEE", 1), external_id="723")
    woo = FakeWoo(shipment_tracking=True)

    # when the first dispatch ships
    (first,) = fulfillments_plan(dispatch_id=ship(dispatch_of(order, acme)).pk)
    fulfillment_push(push_id=first, client=woo.client())

    # then the buyer has the tracking, and the order is not completed yet
    assert len(woo.trackings["723"]) == 1 and len(woo.notes["723"]) == 1
    assert woo.statuses == {}

    # when the second ships
    (second,) = fulfillments_plan(dispatch_id=ship(dispatch_of(order, bolt)).pk)
    fulfillment_push(push_id=second, client=woo.client())

    # then
    numbers = [item["tracking_number"] for item in woo.trackings["723"]]
    assert numbers == list(Parcel.objects.order_by("pk").values_list("tracking_number", flat=True))
    assert [item["custom_tracking_provider"] for item in woo.trackings["723"]] == ["SF Express", "SF Express"]
    assert len(woo.notes["723"]) == 2
    assert woo.statuses == {"723": "completed"}
    assert FulfillmentPush.objects.get(pk=second).external_id == str(woo.notes["723"][1]["id"])


# ------------------------------------------------------------------ spreadsheet stores


def test_a_spreadsheet_store_needs_no_push_and_its_export_carries_the_tracking(store, acme, run_enqueued):
    # given
    stocked(acme, "MUG")
    order = routed_order(store, ("MUG", 3), external_id="SO-1")
    number = sf_number()
    dispatch = ship(dispatch_of(order), ParcelSpec("sf", number))

    # when
    with run_enqueued() as sent:
        assert push_fulfillments.run(dispatch.pk) == 0

    # then
    assert sent == []
    (push,) = pushes_of(order)
    assert (push.status, push.attempts) == (P.NOT_NEEDED, 0)
    assert "export" in push.message
    rows = list(csv.DictReader(io.StringIO(shipped_orders_export(store=store, fmt="csv").decode("utf-8-sig"))))
    assert rows == [
        {"order_number": "#SO-1", "external_id": "SO-1", "sku": "MUG", "quantity": "3", "carrier": "SF Express",
         "tracking_number": number, "tracking_url": f"https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/{number}",
         "shipped_at": rows[0]["shipped_at"]},
    ]  # fmt: skip


def test_the_export_cannot_smuggle_a_formula_into_a_spreadsheet(store, acme):
    stocked(acme, "MUG")
    order = OrderFactory(
        store=store, external_id="=1+2", order_number='=HYPERLINK("https://evil.test")', items=(("MUG", 1),)
    )
    route_orders(order_ids=[order.pk], trigger="ingest")
    ship(dispatch_of(order))

    text = shipped_orders_export(store=store, fmt="csv").decode("utf-8-sig")
    sheet = load_workbook(io.BytesIO(shipped_orders_export(store=store, fmt="xlsx"))).active

    assert "'=HYPERLINK" in text and "'=1+2" in text
    assert sheet["A2"].value == '\'=HYPERLINK("https://evil.test")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == "'=1+2"
    assert sheet["D2"].value == 1
