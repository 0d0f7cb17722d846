"""URLs of the public host (localhost): landing, sign-up, platform admin."""

from django.contrib import admin
from django.urls import include, path

from erp.health import healthz
from tenants import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("signup/", views.signup, name="signup"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler403 = "erp.errors.forbidden"
handler404 = "erp.errors.not_found"
handler500 = "erp.errors.server_error"
