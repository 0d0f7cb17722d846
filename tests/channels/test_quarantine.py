"""Payloads quarantined by a sync or a webhook: re-processed from the store page once fixed, kept while still bad."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal

import time_machine

from channels.models import QuarantinedPayload
from channels.services import quarantine_reprocess, store_sync
from channels.webhooks import webhook_receive
from orders.models import Order
from tests.channels.conftest import T0
from tests.channels.fake_shopify import shopify_order
from tests.channels.helpers import FAST, fixture, sign
from tests.conftest import in_tenant

NOW = T0 + dt.timedelta(hours=2)
LATER = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)  # after the malformed fixture's update time


def test_quarantined_payload_is_reprocessed_from_the_page_once_fixed_and_stays_while_still_bad(
    shopify_store, shop, operator, client_for, tenant_a
):
    # given: Shopify's malformed sample (quantity "two") and another bad order, quarantined by a sync
    sample = fixture("shopify/order_malformed.json")["order"]
    still_bad = shopify_order(1999, updated_at=T0)
    still_bad["line_items"][0]["quantity"] = "many"
    shop.add(sample)
    shop.add(still_bad)
    with time_machine.travel(LATER, tick=False):
        run = store_sync(store_id=shopify_store.pk, client=shop.client(), adapter_options=FAST)
    assert run.orders_quarantined == 2
    fixable = QuarantinedPayload.objects.get(store=shopify_store, external_id=str(sample["id"]))
    bad = QuarantinedPayload.objects.get(store=shopify_store, external_id="1999")
    assert "quantity" in fixable.reason.lower() and "two" in fixable.reason
    console = client_for(tenant_a, operator)

    # when: the still-bad one is re-processed
    seen_before = bad.last_seen
    with time_machine.travel(LATER + dt.timedelta(hours=1), tick=False):
        response = console.post(f"/stores/{shopify_store.pk}/quarantine/{bad.pk}/reprocess/", follow=True)

    # then: it stays quarantined with its reason, and the person is told why
    assert response.status_code == 200
    assert "Still cannot be processed" in response.content.decode()
    bad.refresh_from_db()
    assert bad.resolved_at is None
    assert "quantity" in bad.reason.lower() and "many" in bad.reason
    assert bad.last_seen == LATER + dt.timedelta(hours=1) > seen_before
    assert not Order.objects.filter(store=shopify_store, external_id="1999").exists()

    # when: the sample's payload is corrected (quantity 1, which its amounts add up to) and re-processed
    corrected = copy.deepcopy(sample)
    corrected["line_items"][0]["quantity"] = 1
    QuarantinedPayload.objects.filter(pk=fixable.pk).update(payload=corrected)
    response = console.post(f"/stores/{shopify_store.pk}/quarantine/{fixable.pk}/reprocess/")

    # then: the order is in, whole, and the entry is resolved and gone from the page
    assert response.status_code == 302
    order = Order.objects.get(store=shopify_store, external_id=str(sample["id"]))
    assert (order.currency, order.total) == ("CNY", Decimal("277.00"))
    assert order.lines.count() == 2
    fixable.refresh_from_db()
    assert fixable.resolved_at is not None
    page = console.get(f"/stores/{shopify_store.pk}/").content.decode()
    assert f"/quarantine/{fixable.pk}/reprocess/" not in page
    assert f"/quarantine/{bad.pk}/reprocess/" in page


def test_reprocess_from_another_tenant_is_404_and_changes_nothing(
    shopify_store, shop, client_for, tenant_a, tenant_b, make_user
):
    broken = shopify_order(1998, updated_at=T0)
    broken["line_items"][0]["quantity"] = "many"
    shop.add(broken)
    with time_machine.travel(NOW, tick=False):
        store_sync(store_id=shopify_store.pk, client=shop.client(), adapter_options=FAST)
    item = QuarantinedPayload.objects.get(store=shopify_store)
    outsider = client_for(tenant_b, make_user(tenant_b, "operator"))

    response = outsider.post(f"/stores/{shopify_store.pk}/quarantine/{item.pk}/reprocess/")

    assert response.status_code == 404
    with in_tenant(tenant_a):
        assert QuarantinedPayload.objects.get(pk=item.pk).last_seen == item.last_seen
        assert QuarantinedPayload.objects.get(pk=item.pk).resolved_at is None


def test_reprocessing_a_payload_quarantined_without_its_id_resolves_the_entry(shopify_store):
    # given: a webhook body without the order id is quarantined under no id
    payload = shopify_order(1997, updated_at=T0)
    del payload["id"]
    body = json.dumps(payload).encode()
    outcome = webhook_receive(
        store=shopify_store,
        headers={"X-Shopify-Hmac-Sha256": sign(body), "X-Shopify-Event-Id": "evt-noid"},
        body=body,
    )
    assert outcome == "quarantined"
    item = QuarantinedPayload.objects.get(store=shopify_store, resolved_at__isnull=True)
    assert item.external_id == ""

    # when: re-processed with the id put back
    assert quarantine_reprocess(quarantined=item, payload={**payload, "id": 1997}) is True

    # then: the order is in and the entry no longer waits for a person
    assert Order.objects.filter(store=shopify_store, external_id="1997").exists()
    item.refresh_from_db()
    assert item.resolved_at is not None
