"""Margins API under /api/v1/settlement/ (namespace "api"), included by settlement/api_urls.py."""

from django.urls import path

from settlement import margins_views as margins

urlpatterns: list = [
    path("margins/", margins.margins_api, name="settlement-margins"),
]
