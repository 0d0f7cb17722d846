"""Supplier users (suppliers.members): a user with the supplier role enters the portal only once linked to a
supplier (suppliers.SupplierUser, made by supplier_user_create)."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from suppliers.members import supplier_of, supplier_user_create
from suppliers.models import SupplierUser
from tenants.accounts.services import user_create
from tests.conftest import PASSWORD, in_tenant


def test_supplier_user_create_links_the_user_to_the_supplier(tenant_a, make_supplier):
    supplier = make_supplier(tenant_a)

    with in_tenant(tenant_a):
        user = supplier_user_create(supplier=supplier, email="Ship@Hz.test", password=PASSWORD, name="Ship")

        assert (user.email, user.profile.role) == ("ship@hz.test", "supplier")
        assert supplier_of(user=user) == supplier
        assert list(supplier.users.values_list("user__email", flat=True)) == ["ship@hz.test"]


def test_refused_supplier_user_leaves_neither_user_nor_link(tenant_a, make_supplier):
    supplier = make_supplier(tenant_a)
    with in_tenant(tenant_a):
        users, links = User.objects.count(), SupplierUser.objects.count()

        with pytest.raises(ValidationError):
            supplier_user_create(supplier=supplier, email="ship@hz.test", password="123")

        assert (User.objects.count(), SupplierUser.objects.count()) == (users, links)


def test_supplier_of_a_merchant_user_is_none(tenant_a, make_user):
    user = make_user(tenant_a, "operator")
    with in_tenant(tenant_a):
        assert supplier_of(user=user) is None


@pytest.fixture
def unlinked_supplier_user(tenant_a):
    """A user with the supplier role that no supplier claims (e.g. its link was removed)."""
    with in_tenant(tenant_a):
        return user_create(email="orphan@alpha.test", password=PASSWORD, role="supplier")


@pytest.mark.parametrize("page", ["/portal/dispatches/", "/portal/statements/"])
def test_supplier_user_without_a_supplier_is_refused_the_portal(tenant_a, client_for, unlinked_supplier_user, page):
    response = client_for(tenant_a, unlinked_supplier_user).get(page)

    # refused outright: no redirect (the portal is their only home, a redirect would loop)
    assert response.status_code == 403
    assert "You do not have access" in response.content.decode()


def test_supplier_user_without_a_supplier_sees_no_portal_navigation(tenant_a, client_for, unlinked_supplier_user):
    body = client_for(tenant_a, unlinked_supplier_user).get("/account/").content.decode()

    assert 'href="/portal/dispatches/"' not in body
    assert "Supplier</dt>" not in body


def test_account_page_names_the_linked_supplier(tenant_a, make_supplier, make_user, client_for):
    supplier = make_supplier(tenant_a, name="Hangzhou Textile")
    user = make_user(tenant_a, "supplier", supplier=supplier)

    body = client_for(tenant_a, user).get("/account/").content.decode()

    assert supplier.name in body
    assert 'href="/portal/dispatches/"' in body


def test_me_of_a_supplier_user_without_a_supplier_has_no_supplier_id(tenant_a, api_for, unlinked_supplier_user):
    body = api_for(tenant_a, unlinked_supplier_user).get("/api/v1/me/").json()

    assert (body["role"], body["supplier_id"]) == ("supplier", None)
