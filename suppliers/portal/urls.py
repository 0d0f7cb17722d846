"""The supplier portal's pages, under /portal/ (namespace "suppliers")."""

from django.urls import path

from suppliers.portal import views

urlpatterns = [
    path("", views.portal_home, name="portal_home"),
    path("dispatches/", views.portal_dispatches, name="portal_dispatches"),
    path("dispatches/bulk/", views.portal_dispatches_bulk, name="portal_dispatches_bulk"),
    path("dispatches/<int:pk>/", views.portal_dispatch, name="portal_dispatch"),
    path("dispatches/<int:pk>/accept/", views.portal_dispatch_accept, name="portal_dispatch_accept"),
    path("dispatches/<int:pk>/reject/", views.portal_dispatch_reject, name="portal_dispatch_reject"),
    path(
        "dispatches/<int:pk>/accept-partly/", views.portal_dispatch_accept_partly, name="portal_dispatch_accept_partly"
    ),
]
