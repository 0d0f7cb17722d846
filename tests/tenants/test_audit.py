"""The audit log: what is recorded when people really act, and that the database keeps it append-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import NoReverseMatch, clear_url_caches, path, reverse
from django.utils import timezone
from django_tenants.utils import schema_context

import erp.urls
from channels.models import Store
from channels.services import store_update
from settlement.payouts import payout_mapping_save
from suppliers.actions import dispatch_accept
from tenants.accounts import audit_views
from tenants.accounts.audit import audit_record
from tenants.accounts.models import AuditEvent, Profile
from tenants.services import tenant_provision
from tests.conftest import PASSWORD
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.portal_factories import make_dispatch

MIDDLEWARE = "tenants.accounts.audit.AuditMiddleware"


@pytest.fixture(autouse=True)
def audit_wired(settings):
    """The audit middleware and page, as erp/settings.py and erp/urls.py install them."""
    if MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    added = None
    try:
        reverse("audit_log")
    except NoReverseMatch:
        added = path("audit/", audit_views.audit_log, name="audit_log")
        erp.urls.urlpatterns.append(added)
        clear_url_caches()
    yield
    if added is not None:
        erp.urls.urlpatterns.remove(added)
        clear_url_caches()


def _events(**filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def _refused(sql: str, params) -> None:
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


# ---------------------------------------------------------------- append-only


def test_the_database_refuses_update_and_delete_of_audit_rows(in_a):
    event = audit_record(action="settings.changed", target_type="store", target_id=1, details={"fields": ["name"]})

    _refused("UPDATE accounts_auditevent SET actor_label = 'someone else' WHERE id = %s", [event.pk])
    _refused("DELETE FROM accounts_auditevent WHERE id = %s", [event.pk])
    _refused("DELETE FROM accounts_auditevent", [])

    assert AuditEvent.objects.get(pk=event.pk).actor_label == event.actor_label


def test_a_freshly_provisioned_tenant_also_refuses(db):
    gamma = tenant_provision(slug="gamma", name="Gamma", owner_email="o@gamma.test", owner_password=PASSWORD)

    with schema_context(gamma.schema_name):
        # its owner's creation is already in its own log
        (created,) = _events(action="user.created")
        assert (created.target_label, created.details) == ("o@gamma.test", {"role": "owner"})
        _refused("UPDATE accounts_auditevent SET action = 'login.success' WHERE id = %s", [created.pk])
        _refused("DELETE FROM accounts_auditevent WHERE id = %s", [created.pk])
        assert AuditEvent.objects.get(pk=created.pk).action == "user.created"


def test_a_malformed_action_is_refused(in_a):
    with pytest.raises(ValueError):
        audit_record(action="Something Happened")


# ---------------------------------------------------------------- logins


def test_a_real_login_is_recorded_with_the_address(in_a, make_user, client_for):
    user = make_user(in_a, "operator")
    client = client_for(in_a)

    response = client.post("/login/", {"username": user.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 302
    (event,) = _events(action="login.success")
    assert (event.actor_id, event.actor_label, event.ip, event.via) == (user.pk, user.email, "203.0.113.7", "web")
    assert event.request_id == response["X-Request-ID"]


def test_a_failed_login_records_the_email_typed_even_when_no_account_has_it(in_a, make_user, client_for):
    user = make_user(in_a, "finance")
    client = client_for(in_a)

    client.post("/login/", {"username": "Nobody@Example.test", "password": "guess"}, REMOTE_ADDR="198.51.100.2")
    client.post("/login/", {"username": user.email, "password": "wrong-password"}, REMOTE_ADDR="198.51.100.2")

    unknown, known = _events(action="login.failure")
    assert (unknown.actor_id, unknown.details["email"], unknown.ip) == (None, "Nobody@Example.test", "198.51.100.2")
    assert unknown.target_id == ""
    assert (known.target_id, known.target_label, known.details["email"]) == (str(user.pk), user.email, user.email)
    assert "guess" not in str(unknown.details) and "wrong-password" not in str(known.details)
    assert not _events(action="login.success")


# ---------------------------------------------------------------- users, roles, tokens


def test_user_creation_role_change_deactivation_and_token_are_recorded(in_a, make_user, client_for):
    user = make_user(in_a, "operator")
    profile = Profile.objects.get(user=user)

    profile.role = "finance"
    profile.save()
    user.is_active = False
    user.save()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])  # not a change the log cares about

    created, role, deactivated = (
        _events(target_type="user", target_id=str(user.pk), action=action)
        for action in ("user.created", "user.role_changed", "user.deactivated")
    )
    assert created[0].details == {"role": "operator"}
    assert role[0].details == {"from": "operator", "to": "finance"}
    assert len(deactivated) == 1
    assert _events(target_id=str(user.pk)) == [*created, *role, *deactivated]


def test_creating_an_api_token_in_the_account_page_is_recorded_without_the_key(in_a, make_user, client_for):
    owner = make_user(in_a, "owner")
    client = client_for(in_a, owner)

    response = client.post("/account/token/")

    key = response.context["new_token"]
    (event,) = _events(action="user.token_created")
    assert (event.actor_id, event.target_id, event.via) == (owner.pk, str(owner.pk), "web")
    assert key not in str(event.details) and key not in event.target_label


# ---------------------------------------------------------------- credentials and settings


def test_changing_a_stores_credentials_names_the_credential_never_its_value(in_a, operator):
    store = Store.objects.create(name="Sandbox", channel="sandbox", base_url="http://127.0.0.1:9")
    secret = "shpat-a-very-secret-token-1234"

    store_update(store=store, credentials={"access_token": secret}, sync_interval_minutes=15, actor=operator)

    (created,) = _events(action="store.created")
    (credentials,) = _events(action="store.credentials_changed")
    (settings_changed,) = _events(action="store.settings_changed")
    assert created.details == {"channel": "sandbox"}
    assert (credentials.target_id, credentials.details) == (str(store.pk), {"fields": ["access_token"]})
    assert settings_changed.details == {"fields": ["sync_interval_minutes"]}
    rows = AuditEvent.objects.values_list("details", "target_label", "actor_label")
    assert secret not in str(list(rows))


def test_payout_settings_change_is_a_settings_change(in_a, store):
    payout_mapping_save(store=store, mapping={"amount": "Net"}, default_currency="CNY")
    payout_mapping_save(store=store, mapping={"amount": "Gross"}, default_currency="CNY")

    changes = _events(action="settings.changed", target_type="payout_settings")
    assert changes and changes[-1].details == {"fields": ["column_mapping"]}
    assert changes[-1].target_label == store.name


def test_deactivating_a_supplier_is_recorded(in_a):
    supplier = SupplierFactory(label="Acme")
    supplier.active = False
    supplier.save()

    assert [e.action for e in _events(target_type="supplier")] == ["supplier.created", "supplier.deactivated"]


# ---------------------------------------------------------------- state changes (mirrored by trigger)


def test_a_dispatch_accepted_in_the_portal_is_recorded_with_the_supplier_user_and_request(in_a, make_user, client_for):
    acme = SupplierFactory(label="Acme")
    supplier_user = make_user(in_a, "supplier", supplier=acme)
    dispatch = make_dispatch(acme)
    client = client_for(in_a, supplier_user)
    promised = (timezone.localdate() + dt.timedelta(days=2)).isoformat()

    response = client.post(
        f"/portal/dispatches/{dispatch.pk}/accept/", {"promised_ship_date": promised}, REMOTE_ADDR="192.0.2.10"
    )

    assert response.status_code in (200, 302)
    (event,) = _events(action="dispatch.state_changed", target_id=str(dispatch.pk))
    assert (event.actor_id, event.actor_label) == (supplier_user.pk, supplier_user.email)
    assert (event.target_label, event.details["from"], event.details["to"]) == (dispatch.number, "pending", "accepted")
    assert (event.via, event.ip, event.request_id) == ("web", "192.0.2.10", response["X-Request-ID"])


def test_a_state_change_outside_a_request_is_recorded_as_system(in_a):
    acme = SupplierFactory(label="Acme")
    dispatch = make_dispatch(acme)

    dispatch_accept(dispatch=dispatch)

    (event,) = _events(action="dispatch.state_changed")
    assert (event.actor_id, event.actor_label, event.via, event.ip, event.request_id) == (
        None,
        "supplier",
        "system",
        None,
        "",
    )


def test_the_request_settings_do_not_outlive_the_request(in_a, console):
    console.post("/i18n/setlang/", {"language": "en"})

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('relay.request_id', true), current_setting('relay.audit_ip', true)")
        assert cursor.fetchone() in ((None, None), ("", ""))


# ---------------------------------------------------------------- exports


def test_a_real_export_download_is_recorded_with_its_filters(in_a, operator, console):
    SupplierFactory(label="Acme")

    response = console.get("/suppliers/?export=csv&q=Acme", REMOTE_ADDR="192.0.2.44")

    assert response.status_code == 200
    b"".join(response.streaming_content)
    (event,) = _events(action="export.made")
    assert (event.actor_id, event.via, event.ip) == (operator.pk, "web", "192.0.2.44")
    assert event.target_label.endswith(".csv")
    assert event.details["filters"] == {"q": "Acme"} and event.details["format"] == "csv"
    assert event.details["path"] == "/suppliers/"
