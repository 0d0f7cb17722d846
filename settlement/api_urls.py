"""Settlement's API for finance users, under /api/v1/settlement/ (namespace "api"); included by erp/urls.py."""

from django.urls import include, path

urlpatterns = [
    path("", include("settlement.payouts_api_urls")),
    path("", include("settlement.margins_api_urls")),
    path("", include("settlement.exports_api_urls")),
]
