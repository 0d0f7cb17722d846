from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from tenants.accounts import throttle


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That e-mail and password do not match an account on this workspace."),
        "locked": _("Too many failed attempts. Please wait 15 minutes and try again, or reset your password."),
    }

    def clean(self):
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        email = self.cleaned_data.get("username") or ""
        if throttle.login_locked(address=address, email=email):
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.login_failed(address=address, email=email)
            raise
        throttle.login_succeeded(address=address, email=email)
        return cleaned
