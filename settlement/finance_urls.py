"""The finance area's settlement pages (filled by the settlement work)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from tenants.accounts.pages import placeholder_page

urlpatterns = [
    path(
        "settlement/",
        placeholder_page(
            area="finance",
            title=_("Settlement"),
            description=_("Month close, supplier statements and payout reconciliation will be here."),
        ),
        name="index",
    ),
]
