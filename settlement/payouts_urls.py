"""Payouts and reconciliation pages (finance area), included by settlement/finance_urls.py under /settlement/."""

from django.urls import path

from settlement import payouts_views as views

urlpatterns = [
    path("payouts/", views.payouts, name="payouts"),
    path("payouts/mapping/", views.payout_mapping, name="payout_mapping"),
    path("payouts/mapping/<int:store_id>/clear/", views.payout_mapping_reset, name="payout_mapping_reset"),
    path("payouts/fetch/<int:store_id>/", views.payout_fetch, name="payout_fetch"),
    path("payouts/<int:pk>/", views.payout_import_detail, name="payout_import"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("reconciliation/write-off/", views.reconciliation_write_off, name="reconciliation_write_off"),
    path("reconciliation/undo/<int:order_id>/", views.reconciliation_undo, name="reconciliation_undo"),
    path("reconciliation/tolerance/", views.reconciliation_tolerance, name="reconciliation_tolerance"),
    path("reconciliation/rematch/", views.reconciliation_rematch, name="reconciliation_rematch"),
]
