"""URLs of a tenant host (acme.localhost)."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from channels import api as channels_api
from core.api import api_not_found
from erp.dashboard import dashboard
from erp.health import healthz
from orders import api as orders_api
from tenants.accounts import api as accounts_api
from tenants.accounts import audit_views
from tenants.accounts import views as accounts

api_v1 = [
    path("me/", accounts_api.me, name="me"),
    path("stores/", channels_api.store_list, name="stores"),
    path("stores/<int:pk>/", channels_api.store_detail, name="store"),
    path("stores/<int:pk>/sync/", channels_api.store_sync, name="store-sync"),
    path("stores/<int:pk>/test/", channels_api.store_test, name="store-test"),
    path("stores/<int:pk>/runs/", channels_api.store_runs, name="store-runs"),
    path("stores/<int:pk>/imports/", channels_api.store_import, name="store-import"),
    path("stores/<int:pk>/imports/<int:import_id>/", channels_api.store_import_detail, name="store-import-detail"),
    path("fulfillment-pushes/<int:pk>/retry/", channels_api.fulfillment_push_retry, name="fulfillment-push-retry"),
    path("orders/", orders_api.order_list, name="orders"),
    path("orders/<int:pk>/", orders_api.order_detail, name="order"),
    path("", include("inventory.api_urls")),
    path("", include("orders.routing.api_urls")),
    path("portal/statements/", include("settlement.portal_api_urls")),
    path("settlement/", include("settlement.api_urls")),
    path("", include("suppliers.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Last: an address under /api/v1/ that no route matches answers a JSON 404 (slash-less ones still redirect).
    re_path(r"^[\s\S]*/$", api_not_found, name="not-found"),
]

urlpatterns = [
    path("", accounts.home, name="home"),
    path("dashboard/", dashboard, name="dashboard"),
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", accounts.auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", accounts.password_reset, name="password_reset"),
    path("password-reset/sent/", accounts.password_reset_done, name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", accounts.password_reset_confirm, name="password_reset_confirm"),
    path("password-reset/done/", accounts.password_reset_complete, name="password_reset_complete"),
    path("account/", accounts.account, name="account"),
    path("account/token/", accounts.account_token_create, name="account_token_create"),
    path("account/token/revoke/", accounts.account_token_revoke, name="account_token_revoke"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", accounts.set_language, name="set_language"),
    path("api/v1/", include((api_v1, "api"))),
    path("", include("orders.urls")),
    path("", include("channels.urls")),
    path("", include("inventory.urls")),
    path("", include("suppliers.urls")),
    path("", include("settlement.urls")),
]

handler403 = "core.errors.forbidden"
handler404 = "core.errors.not_found"
handler500 = "core.errors.server_error"
