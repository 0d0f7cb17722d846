"""The supplier portal's stock page (under /portal/, namespace "inventory")."""

from django.urls import path

from inventory import portal

urlpatterns = [
    path("stock/", portal.stock, name="portal_stock"),
    path("stock/set/", portal.stock_set, name="portal_stock_set"),
    path("stock/upload/", portal.stock_upload, name="portal_stock_upload"),
    path("stock/template.<str:fmt>", portal.stock_template, name="portal_stock_template"),
]
