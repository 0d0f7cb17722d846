from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import FilterDateField
from orders.models import Order

# Where the order is in Relay (Order.status); "open" is every state before it has shipped whole.
STATUS_CHOICES = [("", _("Any status")), ("open", _("Open (not shipped yet)")), *Order.Status.choices]
# The channel's payment status, grouped: channels name the same thing differently.
PAYMENT_CHOICES = [
    ("", _("Any payment")),
    ("paid", _("Paid")),
    ("unpaid", _("Not paid yet")),
    ("refunded", _("Refunded")),
]


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Order number, buyer name or e-mail")}),
    )
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status in Relay"), required=False, choices=STATUS_CHOICES)
    payment = forms.ChoiceField(label=_("Payment"), required=False, choices=PAYMENT_CHOICES)
    placed_from = FilterDateField(
        label=_("Placed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    placed_to = FilterDateField(label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, stores=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]

    def clean(self):
        data = super().clean()
        if data.get("placed_from") and data.get("placed_to") and data["placed_from"] > data["placed_to"]:
            raise forms.ValidationError(_("“Placed from” must not be after “to”."))
        return data
