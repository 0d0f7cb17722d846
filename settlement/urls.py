"""Settlement pages: the finance area (settlement/views.py) and the supplier portal's statements
(settlement/portal.py, on the tenant host under /portal/statements/)."""

from django.urls import include, path

app_name = "settlement"
urlpatterns = [
    path("", include("settlement.finance_urls")),
    path("portal/statements/", include("settlement.portal_urls")),
]
