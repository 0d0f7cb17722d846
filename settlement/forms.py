"""The finance pages' forms: they parse what was typed; the services (settlement.adjustments,
settlement.statement_states) decide, and their refusals come back onto the form by field."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.money import CURRENCIES
from settlement.models import Adjustment, Statement
from suppliers.models import Supplier

# A service's error code → the form field it belongs next to.
_FIELD_OF_CODE = {
    "invalid_amount": "amount",
    "reason_required": "reason",
    "resolution_required": "resolution",
    "period_not_open": "month",
    "no_open_period": "amount",
    "reference_required": "reference",
    "date_in_future": "date",
}


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's refusal next to the field it is about (by its code), else on top of the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return
    for error in exc.error_list:
        field = _FIELD_OF_CODE.get(error.code or "")
        form.add_error(field if field in form.fields else None, error)


def month_label(month: dt.date) -> str:
    return month.strftime("%Y-%m")


class StatementFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Statement number or supplier")}),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Statement.Status.choices]
    )
    supplier = forms.ModelChoiceField(
        label=_("Supplier"), required=False, queryset=Supplier.objects.none(), empty_label=_("Any supplier")
    )

    def __init__(self, *args, suppliers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers


class AdjustmentFilterForm(forms.Form):
    """The adjustments list's filters (GET); every one may be left blank."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Reason or supplier")}),
    )
    supplier = forms.ModelChoiceField(
        label=_("Supplier"), required=False, queryset=Supplier.objects.none(), empty_label=_("Any supplier")
    )
    month = forms.RegexField(
        label=_("Period"),
        required=False,
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        widget=forms.TextInput(attrs={"type": "month", "placeholder": _("YYYY-MM")}),
        error_messages={"invalid": _("Enter a month as YYYY-MM.")},
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any kind")), *Adjustment.Kind.choices])
    currency = forms.ChoiceField(
        label=_("Currency"), required=False, choices=[("", _("Any currency"))] + [(c, c) for c in sorted(CURRENCIES)]
    )
    pending = forms.BooleanField(label=_("Waiting for approval only"), required=False)

    def __init__(self, *args, suppliers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers


class AdjustmentForm(forms.Form):
    month = forms.ChoiceField(label=_("Period"), help_text=_("Only an open month takes adjustments."))
    supplier = forms.ModelChoiceField(label=_("Supplier"), queryset=Supplier.objects.none())
    currency = forms.ChoiceField(label=_("Currency"), choices=[(code, code) for code in sorted(CURRENCIES)])
    kind = forms.ChoiceField(label=_("Kind"), choices=Adjustment.Kind.choices, initial=Adjustment.Kind.ADJUSTMENT)
    amount = forms.CharField(
        label=_("Amount"),
        max_length=32,
        help_text=_("Positive: owed to the supplier on top; negative: taken off. A penalty is negative."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)
    approve = forms.BooleanField(
        label=_("Approve now"), required=False, help_text=_("Only approved adjustments are billed at the close.")
    )

    def __init__(self, *args, months: list[dt.date], suppliers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [(month_label(m), month_label(m)) for m in months]
        self.fields["supplier"].queryset = suppliers

    def clean_month(self) -> dt.date:
        year, month = self.cleaned_data["month"].split("-")
        return dt.date(int(year), int(month), 1)


class DisputeResolveForm(forms.Form):
    """Resolve one dispute: by an adjustment of ``amount`` (in the next open month) or by rejecting it."""

    ADJUST, REJECT = "adjust", "reject"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(ADJUST, _("Accept: adjust by the amount")), (REJECT, _("Reject the dispute"))],
        widget=forms.RadioSelect,
        initial=ADJUST,
    )
    amount = forms.CharField(
        label=_("Amount"),
        max_length=32,
        required=False,
        help_text=_("Added to (or, negative, taken off) the supplier's next open statement."),
    )
    resolution = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("decision") == self.ADJUST and not (data.get("amount") or "").strip():
            self.add_error("amount", _("Give the adjustment's amount."))
        return data


class MarkPaidForm(forms.Form):
    reference = forms.CharField(label=_("Payment reference"), max_length=120)
    date = forms.DateField(label=_("Payment date"), widget=forms.DateInput(attrs={"type": "date"}))
