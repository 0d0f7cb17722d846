from django.urls import path
from django.utils.translation import gettext_lazy as _

from erp.pages import placeholder_page
from orders import views

app_name = "orders"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("orders/", views.order_list, name="list"),
    path("orders/<int:pk>/", views.order_detail, name="detail"),
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
