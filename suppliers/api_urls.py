"""API routes of the suppliers area, included under /api/v1/ by erp/urls.py."""

from django.urls import include, path

from suppliers import api

urlpatterns = [
    path("suppliers/", api.supplier_list, name="suppliers"),
    path("suppliers/<int:pk>/", api.supplier_detail, name="supplier"),
    path("", include("suppliers.console_api_urls")),
    # A supplier's own system integrates with the supplier's token: /api/v1/portal/…
    path("portal/", include("suppliers.portal.api_urls")),
    path("portal/", include("suppliers.portal.shipping_api_urls")),
]
