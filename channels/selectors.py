"""Reads for the stores pages and API. Scope: the request's tenant schema and a console role."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from channels.models import (
    CREDENTIAL_FIELDS,
    FulfillmentPush,
    OrderImport,
    QuarantinedPayload,
    Store,
    StoreEvent,
    SyncRun,
)
from channels.vault import decrypt_credentials, mask
from tenants.accounts.selectors import user_can_enter


def _require_console(user) -> None:
    if not user_can_enter(user, "console"):
        raise PermissionDenied


def stores_for(*, user) -> QuerySet[Store]:
    _require_console(user)
    return Store.objects.annotate(
        open_quarantine=Count("quarantined", filter=Q(quarantined__resolved_at__isnull=True), distinct=True)
    )


def store_get_for(*, user, pk: int) -> Store:
    return get_object_or_404(stores_for(user=user), pk=pk)


def store_masked_credentials(*, store: Store) -> dict[str, str]:
    """The credentials as a person may see them: set or not, last four characters."""
    values = decrypt_credentials(store.credentials_encrypted)
    return {key: mask(values.get(key, "")) for key in CREDENTIAL_FIELDS[store.channel]}


def store_events_for(*, store: Store) -> QuerySet[StoreEvent]:
    """The store's status changes, newest first, with who made them."""
    return store.events.select_related("actor")


def sync_runs_for(*, store: Store) -> QuerySet[SyncRun]:
    return store.sync_runs.all()


def quarantine_for(*, store: Store, open_only: bool = True) -> QuerySet[QuarantinedPayload]:
    qs = store.quarantined.all()
    return qs.filter(resolved_at__isnull=True) if open_only else qs


def quarantined_get_for(*, user, store: Store, pk: int) -> QuarantinedPayload:
    return get_object_or_404(quarantine_for(store=store), pk=pk)


def import_get_for(*, user, store: Store, pk: int) -> OrderImport:
    return get_object_or_404(store.imports.all(), pk=pk)


def fulfillment_pushes_for(*, user) -> QuerySet[FulfillmentPush]:
    """Every channel update (fulfillment push) of the tenant, with its order, parcel and store, for a console
    user; PermissionDenied for anyone else."""
    _require_console(user)
    return FulfillmentPush.objects.select_related("order", "parcel", "store")


def fulfillment_push_get_for(*, user, pk: int, order_id: int | None = None) -> FulfillmentPush:
    """One channel update (fulfillment push) for a console user; 404 for another order's (when ``order_id`` is
    given) or an unknown one, PermissionDenied for a user without the console."""
    _require_console(user)
    pushes = FulfillmentPush.objects.select_related("parcel", "store")
    if order_id is not None:
        pushes = pushes.filter(order_id=order_id)
    return get_object_or_404(pushes, pk=pk)
