"""API routes of this area, included under /api/v1/ by erp/urls.py."""

from django.urls import include, path

from inventory import api

urlpatterns = [
    path("products/", api.product_list, name="inventory-products"),
    path("products/import/", api.product_import, name="inventory-import"),
    path("products/import/jobs/<int:pk>/", api.product_import_job, name="inventory-import-job"),
    path("products/<int:pk>/", api.product_detail, name="inventory-product"),
    path("products/<int:pk>/sources/", api.product_sources, name="inventory-product-sources"),
    path("products/<int:pk>/sources/order/", api.product_sources_order, name="inventory-product-sources-order"),
    path("sources/<int:pk>/", api.source_detail, name="inventory-source"),
    path("sources/<int:pk>/stock/", api.source_stock, name="inventory-source-stock"),
    path("listings/", api.listing_list, name="inventory-listings"),
    path("listings/<int:pk>/", api.listing_detail, name="inventory-listing"),
    path("portal/", include("inventory.portal_api_urls")),
]
