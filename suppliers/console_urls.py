"""The merchant's dispatch pages (filled by the supplier-portal work)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from tenants.accounts.pages import placeholder_page

urlpatterns = [
    path("dispatches/", placeholder_page(area="console", title=_("Dispatches"), description=""), name="dispatches"),
]
