from django.urls import path
from django.utils.translation import gettext_lazy as _

from erp.pages import placeholder_page

app_name = "suppliers"
urlpatterns = [
    path(
        "suppliers/",
        placeholder_page(
            area="console",
            title=_("Suppliers"),
            description=_("The companies that ship for you, their portal users and their records will be listed here."),
        ),
        name="list",
    ),
    path(
        "portal/dispatches/",
        placeholder_page(
            area="portal",
            title=_("Dispatches"),
            description=_("Orders routed to you will appear here for you to accept, ship and track."),
        ),
        name="portal_dispatches",
    ),
    path(
        "portal/statements/",
        placeholder_page(
            area="portal",
            title=_("Statements"),
            description=_("Your monthly statements will appear here once the first month is closed."),
        ),
        name="portal_statements",
    ),
]
