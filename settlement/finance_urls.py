"""The finance area's settlement pages (settlement.views)."""

from django.urls import include, path, re_path

from settlement import views

MONTH = r"(?P<month>\d{4}-\d{2})"

urlpatterns = [
    path("settlement/", views.index, name="index"),
    path("settlement/", include("settlement.payouts_urls")),
    path("settlement/", include("settlement.margins_urls")),
    path("settlement/", include("settlement.exports_urls")),
    path("settlement/close/", views.close, name="close"),
    path("settlement/statements/<int:pk>/", views.statement_detail, name="statement"),
    path("settlement/adjustments/", views.adjustments, name="adjustments"),
    path("settlement/adjustments/<int:pk>/approve/", views.adjustment_approve_view, name="adjustment_approve"),
    re_path(rf"^settlement/{MONTH}/$", views.period_detail, name="period"),
    re_path(rf"^settlement/{MONTH}/close/$", views.close_progress_page, name="close_progress"),
]
