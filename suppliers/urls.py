from django.urls import include, path

from suppliers import views

app_name = "suppliers"
urlpatterns = [
    path("suppliers/", views.supplier_list, name="list"),
    path("suppliers/new/", views.supplier_create, name="create"),
    path("suppliers/<int:pk>/edit/", views.supplier_edit, name="edit"),
    # The merchant's side: dispatches across suppliers, scorecards, supplier users and invitations.
    path("", include("suppliers.console_urls")),
    # The supplier portal (supplier users only): dispatches, then shipping (parcels, tracking upload, documents).
    path("portal/", include("suppliers.portal.urls")),
    path("portal/", include("suppliers.portal.shipping_urls")),
]
