"""API routes of this area, included under /api/v1/ by erp/urls.py."""

urlpatterns: list = []
