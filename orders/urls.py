from django.urls import path
from django.utils.translation import gettext_lazy as _

from erp.pages import placeholder_page

app_name = "orders"
urlpatterns = [
    path(
        "dashboard/",
        placeholder_page(
            area="console",
            title=_("Dashboard"),
            description=_("Once a store is connected, today's orders, holds and routing figures appear here."),
        ),
        name="dashboard",
    ),
    path(
        "orders/",
        placeholder_page(
            area="console",
            title=_("Orders"),
            description=_("Orders pulled from your stores will be listed here."),
        ),
        name="list",
    ),
    path(
        "routing/",
        placeholder_page(
            area="console",
            title=_("Routing"),
            description=_("Routing rules that send each order line to the right supplier will be edited here."),
        ),
        name="routing",
    ),
]
