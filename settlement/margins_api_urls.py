"""Margins API under /api/v1/settlement/ (namespace "api"), included by settlement/api_urls.py."""

urlpatterns: list = []
