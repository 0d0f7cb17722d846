"""The onboarding checklist: the owner sees it, each step ticks itself when its data appears, and it folds into
one line when all are done; other roles never see it; a new owner lands on the dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from channels.models import SyncRun
from erp import onboarding
from suppliers.members import supplier_user_create
from tests.channels.factories import StoreFactory
from tests.conftest import PASSWORD, in_tenant
from tests.inventory.factories import ProductFactory, SourceFactory
from tests.orders.factories import RuleSetFactory
from tests.suppliers.factories import SupplierFactory


@pytest.fixture
def owner(in_a):
    return User.objects.get(email="owner@alpha.test")


@pytest.fixture
def owner_browser(in_a, owner, client_for):
    return client_for(in_a, owner)


def _steps(response) -> dict[str, bool]:
    checklist = response.context["onboarding"]
    return {step.key: step.done for step in checklist.steps}


def test_a_new_tenant_owner_sees_every_step_open_with_links(owner_browser):
    response = owner_browser.get("/dashboard/")

    assert _steps(response) == dict.fromkeys(["store", "suppliers", "products", "routing", "sync"], False)
    html = response.content.decode()
    assert 'data-onboarding="open"' in html
    for url in ("/stores/", "/suppliers/", "/products/import/", "/routing/"):
        assert f'href="{url}"' in html


def test_each_step_ticks_itself_when_its_data_appears(in_a, owner_browser):
    # a store
    store = StoreFactory()
    assert _steps(owner_browser.get("/dashboard/"))["store"] is True

    # a supplier alone is not enough: its users must be invited too
    supplier = SupplierFactory()
    assert _steps(owner_browser.get("/dashboard/"))["suppliers"] is False
    supplier_user_create(supplier=supplier, email="packer@acme.test", password=PASSWORD)
    assert _steps(owner_browser.get("/dashboard/"))["suppliers"] is True

    # products, then their source paths
    product = ProductFactory(sku="MUG")
    assert _steps(owner_browser.get("/dashboard/"))["products"] is False
    SourceFactory(product=product, supplier=supplier)
    assert _steps(owner_browser.get("/dashboard/"))["products"] is True

    # a draft rule set is not reviewed yet; an active one is
    RuleSetFactory()
    assert _steps(owner_browser.get("/dashboard/"))["routing"] is False
    RuleSetFactory(active=True)
    assert _steps(owner_browser.get("/dashboard/"))["routing"] is True

    # a failed sync is not a first sync; a successful one is
    SyncRun.objects.create(store=store, kind="manual", status="failed", finished_at=timezone.now())
    assert _steps(owner_browser.get("/dashboard/"))["sync"] is False
    SyncRun.objects.create(store=store, kind="manual", status="succeeded", finished_at=timezone.now())
    response = owner_browser.get("/dashboard/")

    # then: all done, folded into one line
    assert response.context["onboarding"].complete
    html = response.content.decode()
    assert 'data-onboarding="complete"' in html and "Set-up complete" in html
    assert 'data-onboarding="open"' not in html


def test_operators_do_not_see_the_checklist(console):
    response = console.get("/dashboard/")

    assert response.context["onboarding"] is None
    assert "data-onboarding" not in response.content.decode()


def test_another_tenants_data_does_not_tick_a_step(in_a, tenant_b, owner_browser):
    with in_tenant(tenant_b):
        StoreFactory(name="Beta shop")
        RuleSetFactory(active=True)

    steps = _steps(owner_browser.get("/dashboard/"))

    assert steps["store"] is False and steps["routing"] is False


def test_the_checklist_costs_a_few_exists_queries(in_a, owner, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        checklist = onboarding.checklist_for(user=owner)

    assert checklist is not None and checklist.done == 0


def test_the_owner_lands_on_the_dashboard_after_login(in_a, owner, client_for):
    response = client_for(in_a).post("/login/", {"username": "owner@alpha.test", "password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/dashboard/"


def test_the_owners_dashboard_stays_within_its_queries(in_a, owner_browser, django_assert_max_num_queries):
    store = StoreFactory()
    SyncRun.objects.create(
        store=store, kind="manual", status="succeeded", finished_at=timezone.now() - dt.timedelta(hours=1)
    )

    with django_assert_max_num_queries(19):
        response = owner_browser.get("/dashboard/")

    assert response.status_code == 200 and _steps(response)["sync"] is True
