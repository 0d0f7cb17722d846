"""Pages of the public host: landing, sign-up and the language selector (the tenant hosts' own view)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from tenants.accounts.views import set_language
from tenants.forms import SignupForm
from tenants.services import tenant_provision

__all__ = ["landing", "set_language", "signup"]


def landing(request):
    return render(request, "tenants/landing.html")


def _login_url(host: str) -> str:
    port = settings.RELAY_PORT
    suffix = "" if port in {"80", "443", ""} else f":{port}"
    return f"{request_scheme()}://{host}{suffix}/login/"


def request_scheme() -> str:
    return "https" if settings.SESSION_COOKIE_SECURE else "http"


def signup(request):
    form = SignupForm(request.POST or None, base_domain=settings.RELAY_BASE_DOMAIN)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant = tenant_provision(
                slug=data["slug"],
                name=data["company"],
                owner_email=data["email"],
                owner_password=data["password"],
                time_zone=data["time_zone"],
                default_currency=data["default_currency"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(_login_url(tenant.get_primary_domain().domain))
    return render(request, "tenants/signup.html", {"form": form, "base_domain": settings.RELAY_BASE_DOMAIN})
