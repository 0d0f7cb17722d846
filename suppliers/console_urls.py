"""The merchant's pages of the suppliers area: a supplier's page, its users and invitations; dispatches across suppliers."""

from django.urls import path

from suppliers import dispatch_views, views

urlpatterns = [
    path("suppliers/<int:pk>/", views.supplier_detail, name="detail"),
    path("suppliers/<int:pk>/active/", views.supplier_set_active, name="set_active"),
    path("suppliers/<int:pk>/users/invite/", views.supplier_user_invite, name="user_invite"),
    path("suppliers/<int:pk>/users/<int:user_id>/resend/", views.supplier_user_resend, name="user_resend"),
    path("suppliers/<int:pk>/users/<int:user_id>/active/", views.supplier_user_set_active, name="user_set_active"),
    path("dispatches/", dispatch_views.dispatch_list, name="dispatches"),
]
