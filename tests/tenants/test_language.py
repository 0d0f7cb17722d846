"""The language a person reads Relay in: chosen and stored on their profile, else their browser's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.utils import translation

from tenants.accounts.models import Profile
from tenants.accounts.services import password_reset_send
from tenants.locale import language_for
from tests.conftest import in_tenant

ZH = "zh-hans"


@pytest.fixture(autouse=True)
def _english_after_test():
    # A request leaves its language active in the thread; the next test starts in English.
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _zh(text: str) -> str:
    with translation.override(ZH):
        return translation.gettext(text)


def _set_language(user, language: str) -> None:
    Profile.objects.filter(user=user).update(language=language)


def _stored(tenant, user) -> str:
    with in_tenant(tenant):
        return Profile.objects.get(user=user).language


def test_the_catalogue_speaks_chinese():
    # given the compiled zh-Hans catalogue (make compiles it on install): the tests below read it
    assert _zh("Your account") != "Your account"


def test_a_signed_in_user_reads_every_page_in_the_language_they_chose(in_a, make_user, client_for):
    # given an operator who chose Chinese, with a browser that asks for English
    user = make_user(in_a, "operator")
    _set_language(user, ZH)
    client = client_for(in_a, user)

    # when they open their account page
    response = client.get("/account/", HTTP_ACCEPT_LANGUAGE="en")

    # then it is in Chinese
    assert response.status_code == 200
    assert response["Content-Language"] == ZH
    assert f'<html lang="{ZH}">' in response.content.decode()
    assert _zh("Your account") in response.content.decode()


def test_without_a_choice_the_browser_s_language_is_used(in_a, make_user, client_for):
    # given a user who chose nothing, and a visitor who is not signed in
    user = make_user(in_a, "finance")
    signed_in, anonymous = client_for(in_a, user), client_for(in_a)

    # when both browsers ask for Chinese
    page = signed_in.get("/account/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    login = anonymous.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    english = anonymous.get("/login/", HTTP_ACCEPT_LANGUAGE="en")

    # then they get Chinese, and an English browser English
    assert page["Content-Language"] == ZH
    assert login["Content-Language"] == ZH
    assert english["Content-Language"] == "en"


@pytest.mark.parametrize("role", ["owner", "operator", "finance", "supplier"])
def test_the_language_selector_stores_the_choice_on_the_user(role, in_a, make_user, make_supplier, client_for):
    # given a signed-in user of any role, and a colleague
    supplier = make_supplier(in_a) if role == "supplier" else None
    user = make_user(in_a, role, supplier=supplier)
    colleague = make_user(in_a, "operator")
    client = client_for(in_a, user)

    # when they choose Chinese in the selector
    response = client.post("/i18n/setlang/", {"language": ZH, "next": "/account/"})

    # then the choice is stored on them only, the browser keeps it too, and the next page is Chinese
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert _stored(in_a, user) == ZH
    assert _stored(in_a, colleague) == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ZH
    assert client.get("/account/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == ZH


def test_the_choice_follows_the_user_to_another_browser(in_a, make_user, client_for):
    # given a user who chose Chinese in one browser
    user = make_user(in_a, "operator")
    client_for(in_a, user).post("/i18n/setlang/", {"language": ZH, "next": "/account/"})

    # when they sign in from another browser, with no cookie and an English Accept-Language
    other = client_for(in_a, user)
    response = other.get("/account/", HTTP_ACCEPT_LANGUAGE="en")

    # then Relay speaks Chinese there too
    assert response["Content-Language"] == ZH


def test_choosing_the_browser_s_language_clears_the_choice(in_a, make_user, client_for):
    # given a user who chose Chinese
    user = make_user(in_a, "operator")
    _set_language(user, ZH)
    client = client_for(in_a, user)

    # when they choose "my browser's language" on the account page
    response = client.post("/i18n/setlang/", {"language": "", "next": "/account/"})

    # then nothing is stored, the cookie is removed, and their English browser decides again
    assert response.status_code == 302
    assert _stored(in_a, user) == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    assert client.get("/account/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"


def test_a_language_relay_does_not_speak_changes_nothing(in_a, make_user, client_for):
    # given a user who chose Chinese
    user = make_user(in_a, "operator")
    _set_language(user, ZH)

    # when a made-up language is posted
    response = client_for(in_a, user).post("/i18n/setlang/", {"language": "xx", "next": "/account/"})

    # then the stored choice stays and no cookie is set
    assert response.status_code == 302
    assert _stored(in_a, user) == ZH
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_a_visitor_and_the_public_host_only_get_the_cookie(in_a, client_for, public_client):
    # given a visitor on a tenant host and one on the public host
    # when each chooses Chinese
    tenant = client_for(in_a).post("/i18n/setlang/", {"language": ZH, "next": "/login/"})
    public = public_client.post("/i18n/setlang/", {"language": ZH, "next": "/"})

    # then each browser gets the cookie, and its next page is Chinese
    assert tenant.cookies[settings.LANGUAGE_COOKIE_NAME].value == ZH
    assert public.cookies[settings.LANGUAGE_COOKIE_NAME].value == ZH
    assert public_client.get("/")["Content-Language"] == ZH


def test_a_choice_in_tenant_a_does_not_touch_a_user_of_tenant_b(tenant_a, tenant_b, make_user, client_for):
    # given users with the same e-mail in two tenants
    user_a = make_user(tenant_a, "operator", email="same@example.test")
    user_b = make_user(tenant_b, "operator", email="same@example.test")

    # when the user of tenant A chooses Chinese
    client_for(tenant_a, user_a).post("/i18n/setlang/", {"language": ZH, "next": "/account/"})

    # then tenant B's user keeps theirs
    assert _stored(tenant_a, user_a) == ZH
    assert _stored(tenant_b, user_b) == ""


def test_the_account_page_offers_the_language_choice(in_a, make_user, client_for):
    # given a user who chose Chinese
    user = make_user(in_a, "finance")
    _set_language(user, ZH)

    # when they open their account page
    page = client_for(in_a, user).get("/account/").content.decode()

    # then it has a language form posting to the selector, with their choice selected
    assert 'name="language" id="account-language"' in page
    assert f'<option value="{ZH}" selected>' in page
    assert '<option value="">' in page


def test_the_api_shows_the_user_s_language(in_a, make_user, api_for):
    # given a user who chose Chinese and one who did not
    chosen, browser = make_user(in_a, "operator"), make_user(in_a, "finance")
    _set_language(chosen, ZH)

    # when each asks the API who they are
    # then each sees their own choice
    assert api_for(in_a, chosen).get("/api/v1/me/").json()["language"] == ZH
    assert api_for(in_a, browser).get("/api/v1/me/").json()["language"] == ""


def test_the_password_reset_e_mail_is_in_the_recipient_s_language(in_a, make_user, settings):
    # given a user who chose Chinese and one who did not, with a worker that has no language of its own
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    chinese, english = make_user(in_a, "finance"), make_user(in_a, "operator")
    _set_language(chinese, ZH)

    # when the reset e-mail is sent to each
    for user in (chinese, english):
        assert password_reset_send(user_id=user.pk, domain="alpha.localhost", use_https=False)

    # then each is written in the recipient's language, and the worker's language is left as it was
    to_chinese, to_english = mail.outbox
    opening = "Someone asked to reset the password of your Relay account. If it was you, open this link:"
    assert _zh(opening) in to_chinese.body and _zh(opening) != opening
    assert opening in to_english.body
    assert translation.get_language() == settings.LANGUAGE_CODE
    assert language_for(User.objects.get(pk=chinese.pk)) == ZH
    assert language_for(User.objects.get(pk=english.pk)) == settings.LANGUAGE_CODE


def test_tenant_pages_show_times_in_the_tenant_s_time_zone(tenant_a, console, order_in_status):
    # given tenant A keeps Shanghai time, and an order placed at 12:0x UTC
    tenant_a.time_zone = "Asia/Shanghai"
    tenant_a.save(update_fields=["time_zone"])
    order = order_in_status("routed", [("SKU-TZ", 1)])
    local = order.placed_at.astimezone(dt.timezone(dt.timedelta(hours=8)))

    # when the order list is opened
    page = console.get("/orders/").content.decode()

    # then the time shown is Shanghai's (UTC+8), not UTC
    assert local.strftime("%Y-%m-%d %H:%M") in page
    assert order.placed_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") not in page
