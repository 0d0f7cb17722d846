"""Exports pages (finance area), included by settlement/finance_urls.py under /settlement/."""

from django.urls import path

from settlement import exports_views

urlpatterns = [
    path("exports/", exports_views.export_list, name="exports"),
    path("exports/<int:pk>/", exports_views.export_detail, name="export"),
    path("exports/<int:pk>/download/", exports_views.export_download, name="export_download"),
]
