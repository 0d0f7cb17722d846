from django.urls import path
from django.utils.translation import gettext_lazy as _

from erp.pages import placeholder_page

app_name = "channels"
urlpatterns = [
    path(
        "stores/",
        placeholder_page(
            area="console",
            title=_("Stores"),
            description=_("Connect your Shopify, WooCommerce and spreadsheet stores here to start pulling orders."),
        ),
        name="stores",
    ),
]
