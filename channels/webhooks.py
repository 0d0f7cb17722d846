"""Webhooks: a channel's delivery verified, de-duplicated and applied through the same ingest as a pull."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction

from channels.ingest import ingest_payloads
from channels.models import Store, WebhookDelivery
from channels.services import adapter_for
from orders.canonical import NormalisationError


class WebhookRejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def webhook_receive(*, store: Store, headers: Mapping[str, str], body: bytes) -> str:
    """Verify, de-duplicate and apply one webhook delivery. Returns the outcome word.

    The webhook is a fast path only; the periodic pull remains the backstop.
    A delivery seen before changes nothing; an older version of an order than
    the one held changes nothing (the upsert compares the channel's update time).
    """
    adapter = adapter_for(store)
    if not adapter.verify_webhook(headers=headers, body=body):
        raise WebhookRejected(401, "signature does not match")
    try:
        delivery = adapter.parse_webhook(headers=headers, body=body)
    except (ValueError, KeyError, NormalisationError) as exc:
        raise WebhookRejected(400, f"unreadable delivery: {exc}") from exc
    try:
        with transaction.atomic():
            record = WebhookDelivery.objects.create(
                store=store, delivery_id=delivery.delivery_id[:128], topic=delivery.topic[:64]
            )
            result = ingest_payloads(store=store, adapter=adapter, payloads=[delivery.payload])
            if result.quarantined:
                outcome = WebhookDelivery.Outcome.QUARANTINED
            elif result.created:
                outcome = WebhookDelivery.Outcome.CREATED
            elif result.updated:
                outcome = WebhookDelivery.Outcome.UPDATED
            else:
                outcome = WebhookDelivery.Outcome.UNCHANGED
            WebhookDelivery.objects.filter(pk=record.pk).update(outcome=outcome)
    except IntegrityError:
        return "duplicate"
    return str(outcome)
