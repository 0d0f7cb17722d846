"""The supplier portal's statements, under /portal/statements/ (namespace "settlement")."""

from django.urls import path

from settlement import portal

urlpatterns = [
    path("", portal.portal_statements, name="portal_statements"),
    path("<int:pk>/", portal.portal_statement, name="portal_statement"),
    path("<int:pk>/confirm/", portal.portal_statement_confirm, name="portal_statement_confirm"),
    path("<int:pk>/dispute/", portal.portal_statement_dispute, name="portal_statement_dispute"),
]
