"""URLs of the public host (localhost): landing, sign-up, platform admin."""

from django.contrib import admin
from django.urls import path

from erp.health import healthz
from tenants import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", views.set_language, name="set_language"),
]

handler403 = "core.errors.forbidden"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
