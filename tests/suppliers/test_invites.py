"""Supplier users from the merchant's side: invite by an e-mailed link that sets the password, send it again,
deactivate and reactivate; in the console and the API; who may do it; tenants and suppliers kept apart."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from suppliers.members import supplier_user_create, supplier_user_invite, supplier_user_set_active
from suppliers.models import SupplierUser
from suppliers.services import supplier_set_active
from suppliers.tasks import send_supplier_invite
from tests.conftest import PASSWORD, in_tenant

HOST = "http://alpha.localhost"
NEW_PASSWORD = "brand-new-secret-91"


@pytest.fixture
def acme(tenant_a, make_supplier):
    return make_supplier(tenant_a, name="Acme")


def invitation_link(message) -> str:
    return next(line for line in message.body.splitlines() if line.startswith(HOST + "/password-reset/"))


def accept(client, link: str, password: str = NEW_PASSWORD):
    """Open the invitation link and choose a password, as the invited person does."""
    form = client.get(link.removeprefix(HOST), follow=True)
    assert form.status_code == 200
    return client.post(form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})


def test_an_invited_user_chooses_a_password_and_enters_the_portal(
    tenant_a, acme, console, client_for, run_enqueued, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    # when: the merchant invites Li
    with run_enqueued():
        response = console.post(f"/suppliers/{acme.pk}/users/invite/", {"email": "Li@HZ.cn", "name": "Li Wei"})

    # then: a supplier user without a password, linked to Acme, and an e-mail with a link on the tenant host
    assert response.status_code == 302
    user = User.objects.get(email="li@hz.cn")
    assert (user.profile.role, user.first_name, user.has_usable_password()) == ("supplier", "Li Wei", False)
    assert SupplierUser.objects.get(user=user).supplier_id == acme.pk
    (message,) = mail.outbox
    assert message.to == ["li@hz.cn"]
    assert acme.name in message.subject
    link = invitation_link(message)
    assert "Alpha Trading" in message.body

    # when: Li opens the link and chooses a password
    browser = client_for(tenant_a)
    assert accept(browser, link).status_code == 302

    # then: Li logs in and lands in the portal; the link is spent
    with in_tenant(tenant_a):
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)
    login = browser.post("/login/", {"username": "li@hz.cn", "password": NEW_PASSWORD})
    assert login.status_code == 302 and login["Location"] == "/portal/"
    again = client_for(tenant_a).get(link.removeprefix(HOST), follow=True)
    assert "This link has expired" in again.content.decode()


def test_an_invited_user_cannot_log_in_before_choosing_a_password(tenant_a, acme, client_for):
    with in_tenant(tenant_a):
        supplier_user_invite(supplier=acme, email="li@hz.cn", domain="alpha.localhost", use_https=False)

    response = client_for(tenant_a).post("/login/", {"username": "li@hz.cn", "password": ""})

    assert response.status_code == 200  # the form again, no session


def test_the_invitation_can_be_sent_again_until_it_is_accepted(tenant_a, acme, console, client_for, run_enqueued):
    with run_enqueued():
        console.post(f"/suppliers/{acme.pk}/users/invite/", {"email": "li@hz.cn"})
    user = User.objects.get(email="li@hz.cn")

    with run_enqueued():
        console.post(f"/suppliers/{acme.pk}/users/{user.pk}/resend/")
    assert len(mail.outbox) == 2
    accept(client_for(tenant_a), invitation_link(mail.outbox[1]))

    with run_enqueued():
        refused = console.post(f"/suppliers/{acme.pk}/users/{user.pk}/resend/", follow=True)

    assert len(mail.outbox) == 2
    assert "already set a password" in refused.content.decode()


def test_the_page_lists_the_users_with_their_state(tenant_a, acme, console, make_user):
    joined = make_user(tenant_a, "supplier", supplier=acme, email="joined@hz.cn")
    with in_tenant(tenant_a):
        supplier_user_invite(supplier=acme, email="invited@hz.cn", domain="alpha.localhost", use_https=False)
        supplier_user_set_active(supplier=acme, user=joined, active=False)

    users = console.get(f"/suppliers/{acme.pk}/").context["users"]

    assert [(u.email, u.is_active, pending) for u, pending in users] == [
        ("invited@hz.cn", True, True),
        ("joined@hz.cn", False, False),
    ]


def test_a_taken_email_is_refused_and_nothing_is_sent(acme, console, run_enqueued, make_user, tenant_a):
    make_user(tenant_a, "operator", email="taken@alpha.test")
    users = User.objects.count()

    with run_enqueued():
        response = console.post(f"/suppliers/{acme.pk}/users/invite/", {"email": "taken@alpha.test"})

    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert User.objects.count() == users
    assert mail.outbox == []


def test_no_invitation_for_a_deactivated_supplier(tenant_a, acme):
    with in_tenant(tenant_a):
        supplier_set_active(supplier=acme, active=False)

        with pytest.raises(ValidationError):
            supplier_user_invite(supplier=acme, email="li@hz.cn", domain="alpha.localhost", use_https=False)

        assert not User.objects.filter(email="li@hz.cn").exists()


def test_the_invite_task_skips_users_who_accepted_or_were_deactivated(tenant_a, acme, make_user):
    joined = make_user(tenant_a, "supplier", supplier=acme)
    with in_tenant(tenant_a):
        invited = supplier_user_invite(supplier=acme, email="li@hz.cn", domain="alpha.localhost", use_https=False)
        supplier_user_set_active(supplier=acme, user=invited, active=False)

        assert send_supplier_invite.run(joined.pk, "alpha.localhost", False) is False
        assert send_supplier_invite.run(invited.pk, "alpha.localhost", False) is False
        assert send_supplier_invite.run(999_999, "alpha.localhost", False) is False
    assert mail.outbox == []


def test_a_deactivated_user_is_logged_out_and_cannot_log_in_until_reactivated(
    tenant_a, acme, console, make_user, client_for
):
    user = make_user(tenant_a, "supplier", supplier=acme)
    browser = client_for(tenant_a, user)
    assert browser.get("/portal/").status_code == 200

    console.post(f"/suppliers/{acme.pk}/users/{user.pk}/active/", {"active": "0"})

    assert browser.get("/portal/").status_code == 302  # the session ended: to the login page
    assert client_for(tenant_a).post("/login/", {"username": user.email, "password": PASSWORD}).status_code == 200

    console.post(f"/suppliers/{acme.pk}/users/{user.pk}/active/", {"active": "1"})

    assert client_for(tenant_a).post("/login/", {"username": user.email, "password": PASSWORD}).status_code == 302


# ---------------------------------------------------------------- the API


def test_the_api_invites_lists_and_deactivates(acme, api, run_enqueued):
    with run_enqueued():
        created = api.post(
            f"/api/v1/suppliers/{acme.pk}/users/", {"email": "li@hz.cn", "name": "Li"}, content_type="application/json"
        )
    assert created.status_code == 201
    body = created.json()
    assert (body["email"], body["name"], body["is_active"], body["invitation_pending"]) == (
        "li@hz.cn",
        "Li",
        True,
        True,
    )
    assert len(mail.outbox) == 1

    resent = api.post(f"/api/v1/suppliers/{acme.pk}/users/{body['id']}/resend/")
    off = api.patch(
        f"/api/v1/suppliers/{acme.pk}/users/{body['id']}/", {"is_active": False}, content_type="application/json"
    )
    refused = api.post(f"/api/v1/suppliers/{acme.pk}/users/{body['id']}/resend/")
    listed = api.get(f"/api/v1/suppliers/{acme.pk}/users/").json()

    assert resent.status_code == 202
    assert off.json()["is_active"] is False
    assert refused.status_code == 400
    assert [(u["email"], u["is_active"]) for u in listed] == [("li@hz.cn", False)]


def test_the_api_refuses_a_bad_email(acme, api):
    response = api.post(f"/api/v1/suppliers/{acme.pk}/users/", {"email": "nope"}, content_type="application/json")

    assert response.status_code == 400 and "email" in response.json()
    assert not SupplierUser.objects.exists()


# ---------------------------------------------------------------- who may, and whose


@pytest.mark.parametrize("role", ["finance", "supplier"])
def test_supplier_and_finance_users_cannot_invite_or_manage_users(
    role, tenant_a, acme, make_user, client_for, api_for, run_enqueued
):
    member = make_user(tenant_a, "supplier", supplier=acme)
    user = make_user(tenant_a, role, supplier=acme if role == "supplier" else None)
    browser, api = client_for(tenant_a, user), api_for(tenant_a, user)
    with in_tenant(tenant_a):
        users = User.objects.count()

    with run_enqueued():
        responses = [
            browser.post(f"/suppliers/{acme.pk}/users/invite/", {"email": "new@hz.cn"}),
            browser.post(f"/suppliers/{acme.pk}/users/{member.pk}/resend/"),
            browser.post(f"/suppliers/{acme.pk}/users/{member.pk}/active/", {"active": "0"}),
            api.post(f"/api/v1/suppliers/{acme.pk}/users/", {"email": "new@hz.cn"}, content_type="application/json"),
            api.get(f"/api/v1/suppliers/{acme.pk}/users/"),
            api.patch(
                f"/api/v1/suppliers/{acme.pk}/users/{member.pk}/", {"is_active": False}, content_type="application/json"
            ),
            api.post(f"/api/v1/suppliers/{acme.pk}/users/{member.pk}/resend/"),
        ]

    assert [r.status_code for r in responses] == [403] * 7
    with in_tenant(tenant_a):
        assert User.objects.count() == users
        member.refresh_from_db()
        assert member.is_active is True
    assert mail.outbox == []


def test_a_user_of_one_supplier_cannot_be_managed_through_another(
    tenant_a, acme, make_supplier, make_user, console, api
):
    bolt = make_supplier(tenant_a, name="Bolt")
    member = make_user(tenant_a, "supplier", supplier=bolt)
    operator = make_user(tenant_a, "operator")
    connection.set_tenant(tenant_a)

    assert console.post(f"/suppliers/{acme.pk}/users/{member.pk}/active/", {"active": "0"}).status_code == 404
    assert console.post(f"/suppliers/{acme.pk}/users/{operator.pk}/active/", {"active": "0"}).status_code == 404
    assert console.post(f"/suppliers/{acme.pk}/users/{member.pk}/resend/").status_code == 404
    assert api.get(f"/api/v1/suppliers/{acme.pk}/users/{member.pk}/").status_code == 404
    member.refresh_from_db()
    operator.refresh_from_db()
    assert member.is_active and operator.is_active
    with pytest.raises(ValidationError):
        supplier_user_set_active(supplier=acme, user=member, active=False)


def test_tenant_b_suppliers_and_users_are_out_of_reach(tenant_a, tenant_b, make_supplier, console, api):
    other = make_supplier(tenant_b, name="Beta")
    with in_tenant(tenant_b):
        member = supplier_user_create(supplier=other, email="b@beta.test", password=PASSWORD)
    connection.set_tenant(tenant_a)

    assert console.post(f"/suppliers/{other.pk}/users/invite/", {"email": "x@beta.test"}).status_code == 404
    assert console.post(f"/suppliers/{other.pk}/users/{member.pk}/active/", {"active": "0"}).status_code == 404
    assert api.get(f"/api/v1/suppliers/{other.pk}/users/").status_code == 404
    assert (
        api.post(
            f"/api/v1/suppliers/{other.pk}/users/", {"email": "x@beta.test"}, content_type="application/json"
        ).status_code
        == 404
    )
    with in_tenant(tenant_b):
        member.refresh_from_db()
        assert member.is_active
        assert not User.objects.filter(email="x@beta.test").exists()
