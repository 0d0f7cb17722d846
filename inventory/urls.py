from django.urls import path
from django.utils.translation import gettext_lazy as _

from erp.pages import placeholder_page

app_name = "inventory"
urlpatterns = [
    path(
        "products/",
        placeholder_page(
            area="console",
            title=_("Products"),
            description=_("Your products, listing mappings and source paths will be managed here."),
        ),
        name="products",
    ),
]
