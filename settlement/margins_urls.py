"""Margins pages (finance area), included by settlement/finance_urls.py under /settlement/."""

from django.urls import path

from settlement import margins_views as margins

urlpatterns: list = [
    path("margins/", margins.margins, name="margins"),
]
