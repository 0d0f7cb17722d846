from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import FilterDateField
from core.money import CURRENCIES
from suppliers.models import Dispatch
from suppliers.services import (
    MAX_ACCEPT_WITHIN_HOURS,
    MAX_PAYMENT_TERMS_DAYS,
    MAX_SHIP_WITHIN_HOURS,
)


class SupplierForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    code = forms.CharField(
        label=_("Code"), max_length=32, help_text=_("Short and unique; spreadsheets name the supplier by it.")
    )
    contact_name = forms.CharField(label=_("Contact name"), max_length=120, required=False)
    contact_email = forms.EmailField(
        label=_("Contact e-mail"), required=False, help_text=_("Also receives the daily digest of dispatches.")
    )
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    currency = forms.ChoiceField(
        label=_("Currency"),
        choices=[(code, code) for code in sorted(CURRENCIES)],
        initial="USD",
        help_text=_("The currency of the supplier's cost prices and statements."),
    )
    payment_terms_days = forms.IntegerField(
        label=_("Payment terms (days)"), min_value=0, max_value=MAX_PAYMENT_TERMS_DAYS, initial=30
    )
    accept_within_hours = forms.IntegerField(
        label=_("Accept within (hours)"),
        min_value=1,
        max_value=MAX_ACCEPT_WITHIN_HOURS,
        initial=24,
        help_text=_("A new dispatch is overdue for acceptance this long after routing."),
    )
    ship_within_hours = forms.IntegerField(
        label=_("Ship within (hours)"),
        min_value=1,
        max_value=MAX_SHIP_WITHIN_HOURS,
        initial=72,
        help_text=_("A dispatch is overdue for shipping this long after routing."),
    )
    late_ship_penalty = forms.DecimalField(
        label=_("Late-shipment penalty"),
        min_value=0,
        max_digits=12,
        decimal_places=2,
        initial=0,
        required=False,
        help_text=_("Taken off the monthly statement for each dispatch shipped after its deadline (0: none)."),
    )
    share_buyer_email = forms.BooleanField(
        label=_("Show the buyer's e-mail to the supplier"),
        required=False,
        help_text=_("The supplier always sees the ship-to name, address and phone."),
    )
    active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("A deactivated supplier gets no new dispatches and its users cannot log in."),
    )

    def clean_late_ship_penalty(self):
        return self.cleaned_data.get("late_ship_penalty") or Decimal(0)


class SupplierFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, widget=forms.TextInput(attrs={"placeholder": _("Name, code or e-mail")})
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Active and deactivated")), ("active", _("Active")), ("inactive", _("Deactivated"))],
    )


class SupplierUserInviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    name = forms.CharField(label=_("Name"), max_length=150, required=False)


OVERDUE_CHOICES = [
    ("", _("Any")),
    ("any", _("Overdue")),
    ("accept", _("Acceptance overdue")),
    ("ship", _("Shipping overdue")),
]


class DispatchFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("Dispatch or order number")}),
    )
    supplier = forms.ChoiceField(label=_("Supplier"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Dispatch.Status.choices]
    )
    overdue = forms.ChoiceField(label=_("Deadline"), required=False, choices=OVERDUE_CHOICES)
    created_from = FilterDateField(
        label=_("Routed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = FilterDateField(label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, suppliers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].choices = [
            ("", _("All suppliers")),
            ("own", _("Own warehouse")),
            *((str(pk), name) for pk, name in suppliers),
        ]

    def clean(self):
        data = super().clean()
        if data.get("created_from") and data.get("created_to") and data["created_from"] > data["created_to"]:
            raise forms.ValidationError(_("“Routed from” must not be after “to”."))
        return data
