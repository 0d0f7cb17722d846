"""The portal's shipping pages (under /portal/, namespace "suppliers"): ship a dispatch, upload tracking, documents."""

from django.urls import path

from suppliers.portal import shipping_views

urlpatterns = [
    path("dispatches/<int:pk>/ship/", shipping_views.ship, name="portal_ship"),
    path("tracking/upload/", shipping_views.upload, name="portal_tracking_upload"),
    path("tracking/upload/<str:job_id>/", shipping_views.upload_job, name="portal_tracking_job"),
    path("tracking/template.<str:fmt>", shipping_views.upload_template, name="portal_tracking_template"),
    path("documents/<str:kind>/", shipping_views.documents_view, name="portal_documents"),
    path("documents/<str:kind>/pdf/", shipping_views.documents_pdf, name="portal_documents_pdf"),
]
