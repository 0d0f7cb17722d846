"""The merchant's API of the suppliers area (under /api/v1/): scorecards, supplier users, dispatches across suppliers."""

from django.urls import path

from suppliers import api, dispatch_api

urlpatterns = [
    path("suppliers/<int:pk>/scorecard/", api.supplier_scorecard, name="supplier-scorecard"),
    path("suppliers/<int:pk>/users/", api.supplier_users, name="supplier-users"),
    path("suppliers/<int:pk>/users/<int:user_id>/", api.supplier_user, name="supplier-user"),
    path("suppliers/<int:pk>/users/<int:user_id>/resend/", api.supplier_user_resend, name="supplier-user-resend"),
    path("dispatches/", dispatch_api.dispatch_list, name="dispatches"),
]
