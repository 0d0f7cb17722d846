"""The supplier portal's stock API (under /api/v1/portal/, namespace "api"), with the supplier user's token."""

from django.urls import path

from inventory import portal

urlpatterns = [
    path("stock/", portal.stock_api, name="portal-stock"),
    path("stock/upload/", portal.stock_upload_api, name="portal-stock-upload"),
    path("stock/upload/jobs/<int:pk>/", portal.stock_upload_job_api, name="portal-stock-upload-job"),
]
