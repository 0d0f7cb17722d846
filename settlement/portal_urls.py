"""The supplier portal's statements, under /portal/statements/ (namespace "settlement")."""

from django.urls import path

from settlement import exports_views, portal

urlpatterns = [
    path("", portal.portal_statements, name="portal_statements"),
    path("<int:pk>/", portal.portal_statement, name="portal_statement"),
    path("<int:pk>/confirm/", portal.portal_statement_confirm, name="portal_statement_confirm"),
    path("<int:pk>/dispute/", portal.portal_statement_dispute, name="portal_statement_dispute"),
    path("<int:pk>/export/", exports_views.portal_statement_export, name="portal_statement_export"),
    path("exports/<int:pk>/", exports_views.portal_export, name="portal_export"),
    path("exports/<int:pk>/download/", exports_views.portal_export_download, name="portal_export_download"),
]
