from django.urls import include, path

from inventory import views

app_name = "inventory"
urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/import/", views.product_import, name="import"),
    path("products/import/template.<str:fmt>", views.import_template, name="import_template"),
    path("products/imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("products/listings/", views.listings, name="listings"),
    path("products/listings/map/", views.listing_map, name="listing_map"),
    path("products/listings/import/", views.listing_import, name="listing_import"),
    path("products/listings/import/template.<str:fmt>", views.listing_import_template, name="listing_import_template"),
    path("products/listings/<int:pk>/unmap/", views.listing_unmap, name="listing_unmap"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:pk>/sources/new/", views.source_create, name="source_create"),
    path("products/<int:pk>/sources/<int:source_id>/edit/", views.source_edit, name="source_edit"),
    path("products/<int:pk>/sources/<int:source_id>/move/", views.source_move, name="source_move"),
    path("products/<int:pk>/sources/<int:source_id>/active/", views.source_active, name="source_active"),
    path("products/<int:pk>/sources/<int:source_id>/stock/", views.source_stock, name="source_stock"),
    # The supplier portal's stock page: a supplier reports what it has of the products it sources.
    path("portal/", include("inventory.portal_urls")),
]
