from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views import i18n as i18n_views
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from core.tasks import enqueue
from tenants.accounts import services
from tenants.accounts.forms import LoginForm
from tenants.accounts.permissions import area_required
from tenants.accounts.selectors import home_url_name_for, profile_for
from tenants.accounts.tasks import send_password_reset
from tenants.locale import supported_language


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse_lazy(home_url_name_for(self.request.user))


def home(request):
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect(home_url_name_for(request.user))


@area_required("account")
def account(request):
    has_token = Token.objects.filter(user=request.user).exists()
    return render(request, "accounts/account.html", {"has_token": has_token, "new_token": None})


@require_POST
@area_required("account")
def account_token_create(request):
    key = services.token_create(user=request.user)
    messages.success(request, _("A new API token was created. Copy it now: it will not be shown again."))
    return render(request, "accounts/account.html", {"has_token": True, "new_token": key})


@require_POST
@area_required("account")
def account_token_revoke(request):
    if services.token_revoke(user=request.user):
        messages.success(request, _("Your API token was revoked."))
    return redirect("account")


def set_language(request):
    """Django's set_language (the language cookie, for the browser) that also stores the choice on the
    signed-in user, so it follows them to other browsers and into their e-mails.

    An empty choice means "the browser's language": the stored choice and the cookie are cleared.
    A code Relay does not speak changes nothing.
    """
    response = i18n_views.set_language(request)
    posted = request.POST.get("language") if request.method == "POST" else None
    if posted is None:
        return response
    language = supported_language(posted)
    if posted.strip() and not language:
        return response
    if getattr(request, "tenant", None) is not None and profile_for(request.user) is not None:
        services.profile_language_set(user=request.user, language=language)
    if not language:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Sends the e-mail from a worker, so the page answers at once and the same
    for known and unknown addresses."""

    template_name = "accounts/password_reset.html"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        for user in form.get_users(form.cleaned_data["email"]):
            enqueue(send_password_reset, user.pk, self.request.get_host(), self.request.is_secure())
        return redirect(self.get_success_url())


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="accounts/password_reset_confirm.html", success_url=reverse_lazy("password_reset_complete")
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="accounts/password_reset_complete.html"
)
