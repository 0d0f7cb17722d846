from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import CREDENTIAL_FIELDS, Channel

CREDENTIAL_LABELS = {
    "access_token": _("Admin API access token"),
    "webhook_secret": _("Webhook signing secret"),
    "consumer_key": _("Consumer key"),
    "consumer_secret": _("Consumer secret"),
}


class StoreForm(forms.Form):
    name = forms.CharField(label=_("Store name"), max_length=120)
    base_url = forms.URLField(
        assume_scheme="https",
        label=_("Store address"),
        required=False,
        help_text=_("Shopify: https://your-shop.myshopify.com · WooCommerce: https://your-site.com"),
    )
    sync_interval_minutes = forms.IntegerField(label=_("Sync every (minutes)"), min_value=1, max_value=1440, initial=5)

    def __init__(self, *args, channel: str, masked: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        masked = masked or {}
        if channel == Channel.SPREADSHEET:
            del self.fields["base_url"]
            del self.fields["sync_interval_minutes"]
        for key in CREDENTIAL_FIELDS[channel]:
            current = masked.get(key)
            # Write-only: the stored value is never put back into the page.
            self.fields[key] = forms.CharField(
                label=CREDENTIAL_LABELS[key],
                required=False,
                widget=forms.PasswordInput(
                    render_value=False, attrs={"autocomplete": "off", "placeholder": current or ""}
                ),
                help_text=_("Stored encrypted; leave blank to keep %(current)s") % {"current": current}
                if current
                else "",
            )

    def credentials(self) -> dict[str, str]:
        return {
            key: self.cleaned_data.get(key, "") for key in CREDENTIAL_FIELDS[self.channel] if self.cleaned_data.get(key)
        }


class ReplayForm(forms.Form):
    start = forms.DateTimeField(label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(label=_("To"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise forms.ValidationError(_("The window must end after it starts."))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Orders file (.csv or .xlsx)"))
