"""Deny by default: each role reaches its own pages and is refused elsewhere."""

import pytest
from django.core import mail
from django.core.cache import cache

from tenants.accounts.tasks import send_password_reset
from tests.conftest import PASSWORD, in_tenant

CONSOLE_PAGES = ["/dashboard/", "/orders/", "/stores/", "/products/", "/suppliers/", "/routing/"]
FINANCE_PAGES = ["/settlement/"]
PORTAL_PAGES = ["/portal/", "/portal/dispatches/", "/portal/stock/", "/portal/statements/"]
ALL_PAGES = CONSOLE_PAGES + FINANCE_PAGES + PORTAL_PAGES

# role -> pages it may open (200); every other page is refused.
ALLOWED = {
    "owner": set(CONSOLE_PAGES + FINANCE_PAGES),
    "operator": set(CONSOLE_PAGES),
    "finance": set(FINANCE_PAGES),
    "supplier": set(PORTAL_PAGES),
}


@pytest.fixture
def logged_in(tenant_a, make_user, make_supplier, client_for):
    def login(role):
        supplier = make_supplier(tenant_a) if role == "supplier" else None
        user = make_user(tenant_a, role, supplier=supplier)
        return client_for(tenant_a, user)

    return login


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_each_role_reaches_its_pages_and_is_refused_elsewhere(logged_in, role):
    client = logged_in(role)

    for page in ALL_PAGES:
        response = client.get(page)
        if page in ALLOWED[role]:
            assert response.status_code == 200, (role, page)
        elif page in PORTAL_PAGES:
            # a merchant or finance user reaching the portal is sent to their own area
            assert response.status_code == 302, (role, page)
            assert not response["Location"].startswith("/portal/")
        else:
            assert response.status_code == 403, (role, page)
            assert "You do not have access" in response.content.decode()


@pytest.mark.parametrize("page", [*ALL_PAGES, "/account/"])
def test_anonymous_user_is_sent_to_login(tenant_a, client_for, page):
    response = client_for(tenant_a).get(page)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        ("owner", "/dashboard/"),
        ("operator", "/dashboard/"),
        ("finance", "/settlement/"),
        ("supplier", "/portal/"),
    ],
)
def test_login_lands_each_role_in_its_own_area(tenant_a, make_user, make_supplier, client_for, role, landing):
    supplier = make_supplier(tenant_a) if role == "supplier" else None
    user = make_user(tenant_a, role, supplier=supplier)

    response = client_for(tenant_a).post("/login/", {"username": user.email.upper(), "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == landing


def test_navigation_shows_only_the_role_areas(logged_in):
    body = logged_in("supplier").get("/portal/dispatches/").content.decode()
    assert 'href="/portal/statements/"' in body
    assert 'href="/orders/"' not in body
    assert 'href="/settlement/"' not in body
    console = logged_in("operator").get("/dashboard/").content.decode()
    assert 'href="/orders/holds/"' in console
    assert 'href="/portal/dispatches/"' not in console


def test_wrong_password_is_refused_with_a_clear_message(tenant_a, make_user, client_for):
    user = make_user(tenant_a, "operator")

    response = client_for(tenant_a).post("/login/", {"username": user.email, "password": "wrong-password"})

    assert response.status_code == 200
    assert "do not match an account" in response.content.decode()


def test_login_is_locked_after_repeated_failures_even_with_the_right_password(tenant_a, make_user, client_for):
    cache.clear()
    user = make_user(tenant_a, "operator")
    client = client_for(tenant_a)
    for _ in range(5):
        client.post("/login/", {"username": user.email, "password": "wrong-password"})

    response = client.post("/login/", {"username": user.email, "password": PASSWORD})

    assert response.status_code == 200
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    cache.clear()


def test_logout_ends_the_session(logged_in):
    client = logged_in("operator")
    assert client.post("/logout/").status_code == 302
    assert client.get("/orders/").status_code == 302


def test_password_reset_sends_a_working_link_on_the_tenant_host(
    tenant_a, make_user, client_for, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = make_user(tenant_a, "finance")
    client = client_for(tenant_a)

    # when: the form is posted, the e-mail task is queued for after commit
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/password-reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(callbacks) == 1
    # the worker would now run it in the tenant's schema
    with in_tenant(tenant_a):
        assert send_password_reset.run(user.pk, "alpha.localhost", False) is True

    # then: the link works on the tenant host and sets a new password
    (message,) = mail.outbox
    link = next(line for line in message.body.splitlines() if line.startswith("http://alpha.localhost/"))
    path = link.removeprefix("http://alpha.localhost")
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "brand-new-secret-91", "new_password2": "brand-new-secret-91"}
    )
    assert done.status_code == 302
    with in_tenant(tenant_a):
        user.refresh_from_db()
        assert user.check_password("brand-new-secret-91")


def test_password_reset_for_unknown_email_queues_nothing(tenant_a, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(tenant_a).post("/password-reset/", {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert callbacks == []
