from django import forms
from django.utils.translation import gettext_lazy as _


class SupplierForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    code = forms.CharField(
        label=_("Code"), max_length=32, help_text=_("Short and unique; spreadsheets name the supplier by it.")
    )
    contact_email = forms.EmailField(label=_("Contact e-mail"), required=False)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class SupplierFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, widget=forms.TextInput(attrs={"placeholder": _("Name, code or e-mail")})
    )
