"""Margins pages (finance area), included by settlement/finance_urls.py under /settlement/."""

urlpatterns: list = []
