"""The supplier portal's stock page (filled by the supplier-portal work)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from tenants.accounts.pages import placeholder_page

urlpatterns = [
    path("stock/", placeholder_page(area="portal", title=_("Stock"), description=""), name="portal_stock"),
]
