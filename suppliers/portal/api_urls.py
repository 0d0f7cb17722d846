"""The supplier portal's API, under /api/v1/portal/ (namespace "api"), for a supplier user's token."""

from django.urls import path

from suppliers.portal import api

urlpatterns = [
    path("summary/", api.summary, name="portal-summary"),
    path("dispatches/", api.dispatch_list, name="portal-dispatches"),
    path("dispatches/bulk-accept/", api.dispatches_bulk_accept, name="portal-dispatches-bulk-accept"),
    path("dispatches/bulk-reject/", api.dispatches_bulk_reject, name="portal-dispatches-bulk-reject"),
    path("dispatches/<int:pk>/", api.dispatch_detail, name="portal-dispatch"),
    path("dispatches/<int:pk>/accept/", api.dispatch_accept, name="portal-dispatch-accept"),
    path("dispatches/<int:pk>/reject/", api.dispatch_reject, name="portal-dispatch-reject"),
    path("dispatches/<int:pk>/accept-partly/", api.dispatch_accept_partly, name="portal-dispatch-accept-partly"),
]
