"""Routes filled by the supplier-portal work."""

urlpatterns: list = []
