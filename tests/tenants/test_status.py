"""A tenant's status moves only through tenants.services.tenant_set_status, which records each move."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from tenants.models import Tenant, TenantEvent
from tenants.services import tenant_set_status
from tests.conftest import PASSWORD, in_tenant


@pytest.fixture
def platform_operator(db) -> User:
    """A superuser of the public schema (the platform admin)."""
    return User.objects.create_superuser(username="platform@relay.test", email="platform@relay.test", password=PASSWORD)


@pytest.fixture
def admin_client(platform_operator) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(platform_operator)
    return client


def test_suspend_moves_the_status_and_writes_one_event(tenant_a):
    # when
    event = tenant_set_status(tenant=tenant_a, status="suspended", reason="unpaid invoice")

    # then
    tenant_a.refresh_from_db()
    assert tenant_a.status == "suspended"
    assert list(TenantEvent.objects.filter(tenant=tenant_a)) == [event]
    assert (event.from_status, event.to_status, event.actor, event.actor_label, event.reason) == (
        "active",
        "suspended",
        None,
        "system",
        "unpaid invoice",
    )


def test_activate_moves_a_suspended_tenant_back(tenant_a, platform_operator):
    tenant_set_status(tenant=tenant_a, status="suspended")

    event = tenant_set_status(tenant=tenant_a, status="active", actor=platform_operator)

    assert Tenant.objects.get(pk=tenant_a.pk).status == "active"
    assert (event.from_status, event.to_status, event.actor, event.actor_label) == (
        "suspended",
        "active",
        platform_operator,
        "platform@relay.test",
    )
    assert TenantEvent.objects.filter(tenant=tenant_a).count() == 2


def test_status_can_be_changed_from_inside_a_tenant_schema(tenant_a, tenant_b):
    # given: a request or task of tenant A suspends tenant B (the rows live in the public schema)
    with in_tenant(tenant_a):
        tenant_set_status(tenant=tenant_b, status="suspended")

    assert Tenant.objects.get(pk=tenant_b.pk).status == "suspended"


@pytest.mark.parametrize(("start", "status"), [("active", "active"), ("suspended", "suspended"), ("active", "gone")])
def test_no_op_or_unknown_move_is_refused_and_nothing_is_written(tenant_a, start, status):
    # given
    if start == "suspended":
        tenant_set_status(tenant=tenant_a, status="suspended")
    events = TenantEvent.objects.count()

    # when
    with pytest.raises(ValidationError):
        tenant_set_status(tenant=tenant_a, status=status)

    # then
    assert Tenant.objects.get(pk=tenant_a.pk).status == start
    assert tenant_a.status == start
    assert TenantEvent.objects.count() == events


def test_the_template_has_no_status_to_change(db):
    template = Tenant.objects.get(is_template=True)

    with pytest.raises(ValidationError, match="template"):
        tenant_set_status(tenant=template, status="suspended")

    assert Tenant.objects.get(pk=template.pk).status == "active"
    assert not TenantEvent.objects.filter(tenant=template).exists()


def test_the_database_refuses_an_unknown_status(tenant_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Tenant.objects.filter(pk=tenant_a.pk).update(status="deleted")


def test_the_database_refuses_an_event_that_is_not_a_move(tenant_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantEvent.objects.create(tenant=tenant_a, from_status="active", to_status="active", actor_label="x")


def test_admin_suspend_action_goes_through_the_service(admin_client, platform_operator, tenant_a, tenant_b):
    # given: beta is suspended already
    tenant_set_status(tenant=tenant_b, status="suspended")

    # when: the operator suspends both from the admin list
    response = admin_client.post(
        "/admin/tenants/tenant/",
        {"action": "suspend", "_selected_action": [tenant_a.pk, tenant_b.pk]},
        follow=True,
    )

    # then: alpha moved with an event naming the operator; beta was refused and left alone
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 tenant suspended." in body
    assert "Beta Imports is already suspended." in body
    assert Tenant.objects.get(pk=tenant_a.pk).status == "suspended"
    event = TenantEvent.objects.get(tenant=tenant_a)
    assert (event.to_status, event.actor, event.actor_label) == ("suspended", platform_operator, "platform@relay.test")
    assert TenantEvent.objects.filter(tenant=tenant_b).count() == 1  # only the one from the given step


def test_admin_activate_action_writes_an_event_per_tenant(admin_client, tenant_a, tenant_b):
    for tenant in (tenant_a, tenant_b):
        tenant_set_status(tenant=tenant, status="suspended")

    response = admin_client.post(
        "/admin/tenants/tenant/", {"action": "activate", "_selected_action": [tenant_a.pk, tenant_b.pk]}, follow=True
    )

    assert "2 tenants activated." in response.content.decode()
    assert set(Tenant.objects.filter(pk__in=[tenant_a.pk, tenant_b.pk]).values_list("status", flat=True)) == {"active"}
    assert TenantEvent.objects.filter(to_status="active", actor_label="platform@relay.test").count() == 2


def test_admin_change_form_cannot_set_the_status(admin_client, tenant_a):
    # given: the change form; status is shown, not editable
    page = admin_client.get(f"/admin/tenants/tenant/{tenant_a.pk}/change/")
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()

    # when: a crafted post carries a status anyway
    admin_client.post(
        f"/admin/tenants/tenant/{tenant_a.pk}/change/",
        {
            "name": tenant_a.name,
            "time_zone": tenant_a.time_zone,
            "default_currency": tenant_a.default_currency,
            "status": "suspended",
            "domains-TOTAL_FORMS": "0",
            "domains-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    # then
    assert Tenant.objects.get(pk=tenant_a.pk).status == "active"
    assert not TenantEvent.objects.filter(tenant=tenant_a).exists()
