"""The supplier portal's forms: the dispatch list's filters, and what a supplier answers on a dispatch.

Forms parse input only; the rules (a promised date not in the past, a
comment for "other", which states may change) are the services' in
suppliers.actions, whose ValidationErrors the views put back on the form.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import FilterDateField
from suppliers.models import Dispatch
from suppliers.portal.selectors import BULK_LIMIT, DispatchFilters

STATE_CHOICES = [
    ("", _("Any state")),
    ("pending", _("Awaiting acceptance")),
    ("accepted", _("Accepted")),
    ("to_ship", _("To ship")),
    ("shipped", _("Shipped")),
    ("rejected", _("Rejected")),
    ("cancelled", _("Cancelled")),
]
SORT_CHOICES = [
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("accept_by", _("Accept by (soonest first)")),
    ("ship_by", _("Ship by (soonest first)")),
]
_TRUE = frozenset({"1", "true", "on", "yes"})


class FlagInput(forms.CheckboxInput):
    """A checkbox that also reads "0" and "false" from a query string as unticked."""

    def value_from_datadict(self, data, files, name) -> bool:
        value = data.get(name)
        return value is not None and str(value).strip().lower() in _TRUE


class DateInput(forms.DateInput):
    input_type = "date"


class DispatchFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("Dispatch number, order number, SKU or buyer")}),
    )
    state = forms.ChoiceField(label=_("State"), required=False, choices=STATE_CHOICES)
    created_from = FilterDateField(label=_("Created from"), required=False, widget=DateInput)
    created_to = FilterDateField(label=_("to"), required=False, widget=DateInput)
    shipped_from = FilterDateField(label=_("Shipped from"), required=False, widget=DateInput)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False, widget=FlagInput)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)

    def clean(self):
        data = super().clean()
        if data.get("created_from") and data.get("created_to") and data["created_from"] > data["created_to"]:
            raise forms.ValidationError(_("“Created from” must not be after “to”."))
        return data

    def filters(self) -> DispatchFilters:
        """The filters asked for; none when the form is unbound or invalid."""
        if not self.is_bound or not self.is_valid():
            return DispatchFilters()
        data = self.cleaned_data
        return DispatchFilters(
            state=data.get("state") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            shipped_from=data.get("shipped_from"),
            overdue=bool(data.get("overdue")),
            q=(data.get("q") or "").strip(),
            sort=data.get("sort") or "newest",
        )


def _reason_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Reason"), choices=[("", _("Choose a reason")), *Dispatch.RejectReason.choices], required=True
    )


def _comment_field() -> forms.CharField:
    return forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=400,
        help_text=_("Required when the reason is “Other”. The merchant sees it."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class _OwnIds(forms.Form):
    """A form that shares a page with others: its fields' ids carry its own prefix (``accept_comment``), so
    two forms' labels never point at one id."""

    id_prefix = "id"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class AcceptForm(_OwnIds):
    id_prefix = "accept"
    promised_ship_date = forms.DateField(label=_("Promised ship date"), widget=DateInput)


class RejectForm(_OwnIds):
    id_prefix = "reject"
    reason_code = _reason_field()
    comment = _comment_field()


class AcceptPartlyForm(_OwnIds):
    """Accept a dispatch except the lines ticked, which are rejected with one reason."""

    id_prefix = "partly"
    rejected_lines = forms.TypedMultipleChoiceField(
        label=_("Lines you cannot ship"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    reason_code = _reason_field()
    comment = _comment_field()
    promised_ship_date = forms.DateField(
        label=_("Promised ship date for the rest"),
        required=False,
        widget=DateInput,
        help_text=_("When the dispatch is still waiting for you, the rest is accepted with this date."),
    )

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rejected_lines"].choices = [
            (line.id, f"{line.product_sku} × {line.quantity}" + (f" ({line.listing_sku})" if line.listing_sku else ""))
            for line in lines
        ]


class DispatchIdsField(forms.Field):
    """Dispatch ids from ticked checkboxes (or a comma-separated list), at most BULK_LIMIT of them."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("Tick at least one dispatch."),
        "invalid": _("“%(value)s” is not a dispatch id."),
        "too_many": _("Choose at most %(limit)s dispatches at once."),
    }

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        items = value if isinstance(value, list | tuple) else str(value).split(",")
        ids = []
        for item in items:
            text = str(item).strip()
            if not text:
                continue
            if not text.isdigit():
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid", params={"value": text})
            ids.append(int(text))
        ids = list(dict.fromkeys(ids))
        if len(ids) > BULK_LIMIT:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many", params={"limit": BULK_LIMIT})
        return ids

    def validate(self, value) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class BulkForm(forms.Form):
    """The list's bulk bar: accept the ticked dispatches with a promised date, or reject them with a reason."""

    ACCEPT, REJECT = "accept", "reject"

    action = forms.ChoiceField(choices=[(ACCEPT, _("Accept")), (REJECT, _("Reject"))])
    ids = DispatchIdsField()
    promised_ship_date = forms.DateField(label=_("Promised ship date"), required=False, widget=DateInput)
    reason_code = forms.ChoiceField(
        label=_("Reason"), choices=[("", _("Choose a reason")), *Dispatch.RejectReason.choices], required=False
    )
    comment = _comment_field()
    back = forms.CharField(required=False, widget=forms.HiddenInput)  # the list's query string, to return to

    def clean(self):
        data = super().clean()
        if data.get("action") == self.ACCEPT and not data.get("promised_ship_date"):
            self.add_error("promised_ship_date", _("Give the date you promise to ship by."))
        if data.get("action") == self.REJECT and not data.get("reason_code"):
            self.add_error("reason_code", _("Choose why you reject them."))
        return data
