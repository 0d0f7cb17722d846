"""API routes of the suppliers area, included under /api/v1/ by erp/urls.py."""

from django.urls import path

from suppliers import api

urlpatterns = [
    path("suppliers/", api.supplier_list, name="suppliers"),
    path("suppliers/<int:pk>/", api.supplier_detail, name="supplier"),
]
