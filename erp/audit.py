"""What the audit log records of the layers above accounts: stores, their credentials and settings, suppliers,
payout settings. Connected at start-up (erp.apps); the recording itself is tenants.accounts.audit.

Field NAMES are recorded, never values: for credentials, the names of the credentials whose value changed.
"""

from __future__ import annotations

from channels.models import Store
from channels.vault import VaultError, decrypt_credentials
from settlement.models import PayoutSettings
from suppliers.models import Supplier
from tenants.accounts import audit
from tenants.accounts.audit import Changes

STORE_SETTINGS = ("name", "base_url", "sync_interval_minutes", "channel")
SUPPLIER_SETTINGS = (
    "name", "code", "contact_name", "contact_email", "contact_phone", "currency", "payment_terms_days",
    "accept_within_hours", "ship_within_hours", "late_ship_penalty", "share_buyer_email", "active",
)  # fmt: skip
PAYOUT_SETTINGS = ("tolerance", "column_mapping", "default_currency")


def _store_target(store: Store) -> dict:
    return {"target_type": "store", "target_id": store.pk, "target_label": store.name}


def _credential_names(before: str, after: str) -> list[str]:
    """The names of the credentials added, removed or given a new value; ["credentials"] when unreadable."""
    try:
        old, new = decrypt_credentials(before), decrypt_credentials(after)
    except VaultError:
        return ["credentials"]
    return sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))


def _store_changed(store: Store, changes: Changes) -> None:
    if "credentials_encrypted" in changes:
        before, after = changes["credentials_encrypted"]
        audit.audit_record(
            action=audit.STORE_CREDENTIALS_CHANGED,
            **_store_target(store),
            details={"fields": _credential_names(before, after)},
        )
    if names := sorted(name for name in changes if name in STORE_SETTINGS):
        audit.audit_record(action=audit.STORE_SETTINGS_CHANGED, **_store_target(store), details={"fields": names})


def _store_created(store: Store) -> None:
    audit.audit_record(action=audit.STORE_CREATED, **_store_target(store), details={"channel": store.channel})


def _store_deleted(store: Store) -> None:
    audit.audit_record(action=audit.STORE_DELETED, **_store_target(store))


def _supplier_target(supplier: Supplier) -> dict:
    return {"target_type": "supplier", "target_id": supplier.pk, "target_label": supplier.name}


def _supplier_changed(supplier: Supplier, changes: Changes) -> None:
    if "active" in changes:
        action = audit.SUPPLIER_REACTIVATED if supplier.active else audit.SUPPLIER_DEACTIVATED
        audit.audit_record(action=action, **_supplier_target(supplier))
    if names := sorted(name for name in changes if name != "active"):
        audit.audit_record(
            action=audit.SUPPLIER_SETTINGS_CHANGED, **_supplier_target(supplier), details={"fields": names}
        )


def _supplier_created(supplier: Supplier) -> None:
    audit.audit_record(action=audit.SUPPLIER_CREATED, **_supplier_target(supplier))


def _payout_settings_changed(row: PayoutSettings, changes: Changes) -> None:
    audit.audit_record(
        action=audit.SETTINGS_CHANGED,
        target_type="payout_settings",
        target_id=row.store_id,
        target_label=row.store.name,
        details={"fields": sorted(changes)},
    )


def connect() -> None:
    """Connect the receivers (idempotent: each model is watched under one dispatch uid)."""
    audit.watch(
        Store,
        fields=[*STORE_SETTINGS, "credentials_encrypted"],
        on_change=_store_changed,
        on_create=_store_created,
        on_delete=_store_deleted,
    )
    audit.watch(Supplier, fields=SUPPLIER_SETTINGS, on_change=_supplier_changed, on_create=_supplier_created)
    audit.watch(PayoutSettings, fields=PAYOUT_SETTINGS, on_change=_payout_settings_changed)
