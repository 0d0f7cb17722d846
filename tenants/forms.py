import zoneinfo

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenants.services import tenant_slug_validate

CURRENCIES = [
    ("CNY", "CNY"),
    ("USD", "USD"),
    ("EUR", "EUR"),
    ("GBP", "GBP"),
    ("JPY", "JPY"),
    ("AUD", "AUD"),
    ("HKD", "HKD"),
]


class SignupForm(forms.Form):
    company = forms.CharField(label=_("Company name"), max_length=200)
    slug = forms.CharField(
        label=_("Workspace address"),
        max_length=32,
        help_text=_("Lower-case letters, digits and hyphens; becomes your-name.%(domain)s"),
    )
    email = forms.EmailField(label=_("Your e-mail"))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, min_length=10)
    time_zone = forms.ChoiceField(label=_("Time zone"), initial="Asia/Shanghai")
    default_currency = forms.ChoiceField(label=_("Currency"), choices=CURRENCIES, initial="CNY")

    def __init__(self, *args, base_domain: str = "localhost", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].help_text = self.fields["slug"].help_text % {"domain": base_domain}
        self.fields["time_zone"].choices = [(z, z) for z in sorted(zoneinfo.available_timezones())]

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip().lower()
        tenant_slug_validate(slug)
        return slug

    def clean_password(self):
        password = self.cleaned_data["password"]
        try:
            validate_password(password)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return password
