from django.urls import path

from channels import views

app_name = "channels"
urlpatterns = [
    path("stores/", views.stores, name="stores"),
    path("stores/pushes/", views.pushes, name="pushes"),
    path("stores/pushes/retry/", views.pushes_retry, name="pushes_retry"),
    path("stores/connect/<str:channel>/", views.store_connect, name="connect"),
    path("stores/<int:pk>/", views.store_detail, name="store"),
    path("stores/<int:pk>/edit/", views.store_edit, name="edit"),
    path("stores/<int:pk>/test/", views.store_test, name="test"),
    path("stores/<int:pk>/sync/", views.store_sync_now, name="sync"),
    path("stores/<int:pk>/sync/status/", views.store_sync_status, name="sync_status"),
    path("stores/<int:pk>/pause/", views.store_pause, name="pause"),
    path("stores/<int:pk>/replay/", views.store_replay, name="replay"),
    path("stores/<int:pk>/quarantine/<int:qid>/reprocess/", views.quarantine_reprocess, name="reprocess"),
    path("stores/<int:pk>/imports/", views.import_upload, name="import_upload"),
    path("stores/<int:pk>/imports/<int:import_id>/", views.import_detail, name="import"),
    path("stores/import-template.<str:fmt>", views.import_template, name="import_template"),
    path("stores/<int:pk>/shipped.<str:fmt>", views.store_shipped_export, name="shipped_export"),
    path("orders/<int:order_pk>/pushes/<int:pk>/retry/", views.push_retry, name="push_retry"),
    path("webhooks/<str:token>/", views.webhook, name="webhook"),
]
