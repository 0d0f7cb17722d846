from django.urls import path
from django.utils.translation import gettext_lazy as _

from suppliers import views
from tenants.accounts.pages import placeholder_page

app_name = "suppliers"
urlpatterns = [
    path("suppliers/", views.supplier_list, name="list"),
    path("suppliers/new/", views.supplier_create, name="create"),
    path("suppliers/<int:pk>/edit/", views.supplier_edit, name="edit"),
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
