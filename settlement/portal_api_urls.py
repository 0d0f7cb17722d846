"""The supplier portal's statements API, under /api/v1/portal/statements/ (namespace "api"), for a supplier
user's token. Included by erp/urls.py: path("portal/statements/", include("settlement.portal_api_urls"))."""

from django.urls import path

from settlement import portal

urlpatterns = [
    path("", portal.statement_list, name="portal-statements"),
    path("<int:pk>/", portal.statement_detail, name="portal-statement"),
    path("<int:pk>/confirm/", portal.statement_confirm, name="portal-statement-confirm"),
    path("<int:pk>/dispute/", portal.statement_dispute, name="portal-statement-dispute"),
]
