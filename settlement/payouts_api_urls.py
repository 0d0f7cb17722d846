"""Payouts and reconciliation API under /api/v1/settlement/ (namespace "api"), included by settlement/api_urls.py."""

from django.urls import path

from settlement import payouts_api

urlpatterns = [
    path("payouts/", payouts_api.payout_imports, name="payout-imports"),
    path("payouts/jobs/<int:pk>/", payouts_api.payout_import_job, name="payout-import-job"),
    path("reconciliation/", payouts_api.reconciliation_list, name="reconciliation"),
    path("reconciliation/write-off/", payouts_api.reconciliation_write_off, name="reconciliation-write-off"),
]
