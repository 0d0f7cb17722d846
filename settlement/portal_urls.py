"""The supplier portal's statements (filled by the settlement work)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from tenants.accounts.pages import placeholder_page

urlpatterns = [
    path(
        "",
        placeholder_page(
            area="portal",
            title=_("Statements"),
            description=_("Your monthly statements will appear here once the first month is closed."),
        ),
        name="portal_statements",
    ),
]
