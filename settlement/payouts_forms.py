"""Forms of the payout and reconciliation pages: upload a payout file, map a generic file's columns, pick a
store and month, set the write-off tolerance."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from channels.models import Store
from core.money import parse_currency
from core.spreadsheets import MAX_BYTES as MAX_UPLOAD_BYTES
from settlement import payout_formats
from settlement.models import PayoutSource
from settlement.payout_formats import MAPPING_FIELDS, REQUIRED_MAPPING
from settlement.periods import parse_month

FILE_SOURCES = [(source.value, source.label) for source in payout_formats.FILE_SOURCES]
FIELD_LABELS = {
    "occurred_at": _("Date"),
    "order_number": _("Order number"),
    "reference": _("Transaction reference"),
    "kind": _("Type"),
    "amount": _("Amount"),
    "fee": _("Fee"),
    "currency": _("Currency"),
    "description": _("Description"),
}


class PayoutImportFilterForm(forms.Form):
    """The payout imports list's filters (GET): the store, the kind of file, a search on the file's name."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("File name")}),
    )
    store = forms.ModelChoiceField(
        label=_("Store"), required=False, queryset=Store.objects.order_by("name"), empty_label=_("All stores")
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("Any source")), *PayoutSource.choices]
    )


class PayoutUploadForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.order_by("name"))
    source = forms.ChoiceField(label=_("Kind of file"), choices=FILE_SOURCES)
    file = forms.FileField(label=_("File"), help_text=_("CSV or XLSX, up to 20 MB."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


class MappingForm(forms.Form):
    """Which column of a generic file holds each field; the choices are the file's own headers."""

    token = forms.CharField(widget=forms.HiddenInput)
    default_currency = forms.CharField(
        label=_("Currency when the file has none"), max_length=3, required=False, help_text=_("e.g. CNY, USD")
    )

    def __init__(self, *args, headers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— not in the file —"))] + [(h, h) for h in headers]
        for name in MAPPING_FIELDS:
            self.fields[name] = forms.ChoiceField(
                label=FIELD_LABELS.get(name, name), choices=choices, required=name in REQUIRED_MAPPING
            )

    def clean_default_currency(self):
        text = (self.cleaned_data.get("default_currency") or "").strip()
        if not text:
            return ""
        try:
            return parse_currency(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        """Refusals go next to the fields concerned (and the form keeps every choice made)."""
        data = super().clean()
        if not data.get("order_number") and not data.get("reference") and "order_number" not in self.errors:
            self.add_error(
                "order_number", _("Map the order number or the transaction reference: rows are matched by them.")
            )
        if not data.get("currency") and not data.get("default_currency") and "default_currency" not in self.errors:
            self.add_error("default_currency", _("The file has no currency column: say which currency it is in."))
        seen: dict[str, str] = {}
        for name in MAPPING_FIELDS:
            column = data.get(name)
            if not column:
                continue
            if column in seen:
                self.add_error(
                    name,
                    _("The column “%(column)s” is chosen for %(other)s already: each column holds one field.")
                    % {"column": column, "other": FIELD_LABELS.get(seen[column], seen[column])},
                )
            else:
                seen[column] = name
        return data

    def mapping(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in MAPPING_FIELDS if self.cleaned_data.get(name)}


class ScopeForm(forms.Form):
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.order_by("name"), required=False)
    month = forms.CharField(label=_("Month"), required=False, widget=forms.TextInput(attrs={"type": "month"}))

    def clean_month(self):
        text = (self.cleaned_data.get("month") or "").strip()
        if not text:
            return None
        try:
            return parse_month(text)
        except ValueError:
            raise forms.ValidationError(_("Give the month as YYYY-MM.")) from None


class ToleranceForm(forms.Form):
    tolerance = forms.DecimalField(
        label=_("Write-off tolerance"),
        min_value=Decimal(0),
        max_digits=12,
        decimal_places=4,
        help_text=_("Orders whose payout differs by no more than this (in the order's currency) can be written off."),
    )
