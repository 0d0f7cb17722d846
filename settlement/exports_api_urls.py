"""Exports API under /api/v1/settlement/ (namespace "api"), included by settlement/api_urls.py."""

from django.urls import path

from settlement import exports_views

urlpatterns = [
    path("exports/", exports_views.export_collection, name="settlement-exports"),
    path("exports/<int:pk>/", exports_views.export_status, name="settlement-export"),
    path("exports/<int:pk>/download/", exports_views.export_file, name="settlement-export-download"),
]
