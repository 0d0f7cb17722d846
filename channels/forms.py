from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import CREDENTIAL_FIELDS, Channel, PushStatus, Store, StoreStatus, SyncRunKind, SyncRunStatus
from core.outbound import url_refusal

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

    def clean_base_url(self) -> str:
        # The form and a literal address only; the service also looks the name up, and connect time decides.
        base_url = self.cleaned_data.get("base_url") or ""
        refusal = url_refusal(base_url, resolve_name=False) if base_url else None
        if refusal:
            raise forms.ValidationError(refusal, code="outbound_refused")
        return base_url

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


def _blank(label) -> list[tuple[str, object]]:
    return [("", label)]


class StoreFilterForm(forms.Form):
    """The stores list's filters (GET): a search on the name, the channel, the status."""

    q = forms.CharField(
        label=_("Search"), required=False, max_length=120,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Store name")}),
    )  # fmt: skip
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=_blank(_("All channels")) + Channel.choices)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_blank(_("All statuses")) + StoreStatus.choices
    )


class SyncRunFilterForm(forms.Form):
    """A store's ingestion ledger filters (GET)."""

    run_status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_blank(_("All statuses")) + SyncRunStatus.choices
    )
    run_kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_blank(_("All kinds")) + SyncRunKind.choices)


class PushFilterForm(forms.Form):
    """The channel updates list's filters (GET): status, store, a search on order number or tracking number."""

    q = forms.CharField(
        label=_("Search"), required=False, max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Order or tracking number")}),
    )  # fmt: skip
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_blank(_("All statuses")) + PushStatus.choices
    )
    store = forms.ModelChoiceField(label=_("Store"), required=False, queryset=Store.objects.none(), empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        store = self.fields["store"]
        store.queryset = Store.objects.order_by("name")
        store.empty_label = _("All stores")
