"""The portal's shipping API (under /api/v1/portal/, namespace "api"), for a supplier's own system."""

from django.urls import path

from suppliers.portal import shipping_api

urlpatterns = [
    path("dispatches/<int:pk>/ship/", shipping_api.ship, name="portal_ship"),
    path("tracking/upload/", shipping_api.upload, name="portal_tracking_upload"),
    path("tracking/upload/<str:job_id>/", shipping_api.upload_job, name="portal_tracking_job"),
    path("documents/<str:kind>/", shipping_api.documents_data, name="portal_documents"),
    path("documents/<str:kind>/pdf/", shipping_api.documents_pdf, name="portal_documents_pdf"),
]
