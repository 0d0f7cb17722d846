from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.services import regions_text

ACTIVE_CHOICES = [("", _("Active and inactive")), ("active", _("Active")), ("inactive", _("Inactive"))]


class ProductFilterForm(forms.Form):
    """The products list's filters. The status is chosen by the list's tabs (a hidden field keeps it)."""

    q = forms.CharField(
        label=_("Search"), required=False, widget=forms.TextInput(attrs={"placeholder": _("SKU or name")})
    )
    source = forms.ChoiceField(label=_("Source path"), required=False)
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES, widget=forms.HiddenInput)

    def __init__(self, *args, suppliers: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [
            ("", _("Any source")),
            ("none", _("No active source")),
            ("own", _("Own warehouse")),
            *[(str(pk), name) for pk, name in suppliers],
        ]

    def active_value(self) -> bool | None:
        return {"active": True, "inactive": False}.get(self.cleaned_data.get("active") or "")


class ListingFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Listing or product SKU"), "type": "search"}),
    )
    kind = forms.ChoiceField(
        label=_("Ships"),
        required=False,
        choices=[("", _("Single products and bundles")), ("single", _("Single products")), ("bundle", _("Bundles"))],
    )
    how = forms.ChoiceField(
        label=_("Mapped"),
        required=False,
        choices=[
            ("", _("Automatically or by hand")),
            ("auto", _("Automatically (same SKU)")),
            ("manual", _("By hand")),
        ],
    )


class ProductForm(forms.Form):
    sku = forms.CharField(label=_("SKU"), max_length=120)
    name = forms.CharField(label=_("Name"), max_length=300)
    weight_grams = forms.IntegerField(label=_("Weight (g)"), required=False, min_value=0, max_value=2_147_483_647)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class SourceForm(forms.Form):
    supplier = forms.ModelChoiceField(
        label=_("Supplier"), queryset=None, required=False, empty_label=_("Own warehouse")
    )
    cost_price = forms.DecimalField(label=_("Cost price"), max_digits=14, decimal_places=4, min_value=0)
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="CNY")
    regions = forms.CharField(
        label=_("Regions served"),
        required=False,
        help_text=_("Blank = everywhere. Countries and provinces such as CN:Zhejiang;CN:Shanghai;US"),
    )
    lead_time_days = forms.IntegerField(label=_("Lead time (days)"), min_value=0, max_value=3650, initial=0)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    on_hand = forms.IntegerField(
        label=_("On hand"),
        required=False,
        min_value=0,
        help_text=_("Units on hand at this source. Blank = stock not tracked."),
    )

    def __init__(self, *args, suppliers, source=None, **kwargs):
        if source is not None:
            kwargs.setdefault(
                "initial",
                {
                    "supplier": source.supplier_id,
                    "cost_price": source.cost_price,
                    "currency": source.currency,
                    "regions": regions_text(source.regions),
                    "lead_time_days": source.lead_time_days,
                    "active": source.active,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers
        self.fields["currency"].widget.attrs.update({"size": 4, "style": "text-transform: uppercase"})
        if source is not None:
            del self.fields["on_hand"]  # stock has its own form on the product page


class StockForm(forms.Form):
    on_hand = forms.IntegerField(label=_("On hand"), min_value=0, max_value=2_147_483_647)


class ListingForm(forms.Form):
    listing_sku = forms.CharField(
        label=_("Listing SKU"), max_length=120, help_text=_("The SKU as the sales channel sends it.")
    )


class ComponentForm(forms.Form):
    product_sku = forms.CharField(
        label=_("Product SKU"),
        max_length=120,
        required=False,
        widget=forms.TextInput(attrs={"aria-label": _("Product SKU")}),
    )
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=10_000,
        required=False,
        widget=forms.NumberInput(attrs={"aria-label": _("Quantity")}),
    )

    def clean(self):
        data = super().clean()
        if data.get("product_sku") and not data.get("quantity") and "quantity" not in self.errors:
            data["quantity"] = 1
        if data.get("quantity") and not data.get("product_sku"):
            self.add_error("product_sku", _("Give the product SKU for this quantity."))
        return data


ComponentFormSet = forms.formset_factory(ComponentForm, extra=0, min_num=4, max_num=20, absolute_max=20)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Products file (.csv or .xlsx)"))
