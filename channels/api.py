"""Stores API: credentials are write-only and come back masked. Retrying a failed channel update (fulfillment push)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from channels import fulfillment, imports, selectors, services
from channels.models import FulfillmentPush, Store, SyncRun
from channels.tasks import import_orders
from core.tasks import enqueue
from core.textguard import TextGuardFormParser, TextGuardJSONParser, TextGuardMultiPartParser
from tenants.accounts.permissions import area_permission

Console = area_permission("console")


class StoreSerializer(serializers.ModelSerializer):
    credentials = serializers.DictField(child=serializers.CharField(), write_only=True, required=False)
    credentials_masked = serializers.SerializerMethodField()

    class Meta:
        model = Store
        fields = [
            "id", "name", "channel", "base_url", "status", "sync_interval_minutes", "sync_cursor",
            "last_sync_at", "last_sync_ok", "last_sync_message", "credentials", "credentials_masked", "created",
        ]  # fmt: skip
        read_only_fields = ["status", "sync_cursor", "last_sync_at", "last_sync_ok", "last_sync_message", "created"]

    def get_credentials_masked(self, store) -> dict[str, str]:
        return selectors.store_masked_credentials(store=store)


class SyncRunSerializer(serializers.ModelSerializer):
    has_gap = serializers.BooleanField(read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "id", "kind", "status", "window_start", "window_end", "started_at", "finished_at", "pages",
            "orders_seen", "orders_created", "orders_updated", "orders_quarantined", "duration_ms",
            "channel_count", "relay_count", "has_gap", "message",
        ]  # fmt: skip


class ReplaySerializer(serializers.Serializer):
    window_start = serializers.DateTimeField(required=False)
    window_end = serializers.DateTimeField(required=False)

    def validate(self, data):
        if ("window_start" in data) != ("window_end" in data):
            raise ValidationError(_("Give both window_start and window_end, or neither."))
        if "window_start" in data and data["window_start"] >= data["window_end"]:
            raise ValidationError(_("window_end must be after window_start."))
        return data


@extend_schema(methods=["GET"], responses=StoreSerializer(many=True))
@extend_schema(methods=["POST"], request=StoreSerializer, responses={201: StoreSerializer})
@api_view(["GET", "POST"])
@permission_classes([Console])
def store_list(request):
    if request.method == "GET":
        return Response(StoreSerializer(selectors.stores_for(user=request.user), many=True).data)
    serializer = StoreSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    store = services.store_create(
        name=data["name"], channel=data["channel"], base_url=data.get("base_url", ""),
        credentials=data.get("credentials", {}), sync_interval_minutes=data.get("sync_interval_minutes", 5),
    )  # fmt: skip
    return Response(StoreSerializer(store).data, status=status.HTTP_201_CREATED)


@extend_schema(request=StoreSerializer, responses=StoreSerializer)
@api_view(["GET", "PATCH"])
@permission_classes([Console])
def store_detail(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    if request.method == "PATCH":
        serializer = StoreSerializer(store, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "channel" in data and data["channel"] != store.channel:
            raise ValidationError({"channel": _("A store's channel cannot change; connect a new store.")})
        store = services.store_update(
            store=store, name=data.get("name"), base_url=data.get("base_url"), credentials=data.get("credentials"),
            sync_interval_minutes=data.get("sync_interval_minutes"), actor=request.user,
        )  # fmt: skip
    return Response(StoreSerializer(store).data)


@extend_schema(request=ReplaySerializer, responses={202: None})
@api_view(["POST"])
@permission_classes([Console])
def store_sync(request, pk: int):
    """Start a sync (or, with a window, a replay of that window) in the background.

    400 with the reason when the store may not sync (paused, waiting for credentials, a spreadsheet store).
    """
    store = selectors.store_get_for(user=request.user, pk=pk)
    serializer = ReplaySerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    window = serializer.validated_data
    services.store_sync_start(
        store=store, kind=SyncRun.Kind.REPLAY if window else SyncRun.Kind.MANUAL,
        window_start=window.get("window_start"), window_end=window.get("window_end"),
    )  # fmt: skip
    return Response({"detail": "Sync started."}, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses=SyncRunSerializer(many=True))
@api_view(["GET"])
@permission_classes([Console])
def store_runs(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    return Response(SyncRunSerializer(selectors.sync_runs_for(store=store)[:100], many=True).data)


@extend_schema(request=None, responses={200: None})
@api_view(["POST"])
@permission_classes([Console])
def store_test(request, pk: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    ok, message = services.store_test_connection(store=store, actor=request.user)
    return Response({"ok": ok, "message": message})


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


@extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses={201: None, 202: None})
@api_view(["POST"])
@parser_classes([TextGuardMultiPartParser, TextGuardFormParser, TextGuardJSONParser])
@permission_classes([Console])
def store_import(request, pk: int):
    """Upload a CSV/XLSX of orders. Small files are imported at once (201), larger ones in the background (202)."""
    store = selectors.store_get_for(user=request.user, pk=pk)
    serializer = ImportUploadSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    upload = serializer.validated_data["file"]
    order_import = imports.order_import_create(
        store=store, filename=upload.name, content=upload.read(), user=request.user
    )
    if upload.size <= imports.INLINE_IMPORT_BYTES:
        order_import = imports.order_import_run(import_id=order_import.pk)
        return Response(imports.order_import_progress(order_import=order_import), status=status.HTTP_201_CREATED)
    enqueue(import_orders, order_import.pk)
    return Response(imports.order_import_progress(order_import=order_import), status=status.HTTP_202_ACCEPTED)


@extend_schema(responses={200: None})
@api_view(["GET"])
@permission_classes([Console])
def store_import_detail(request, pk: int, import_id: int):
    store = selectors.store_get_for(user=request.user, pk=pk)
    order_import = selectors.import_get_for(user=request.user, store=store, pk=import_id)
    return Response(imports.order_import_progress(order_import=order_import))


class FulfillmentPushSerializer(serializers.ModelSerializer):
    """A channel update: telling the order's store that one parcel shipped, with its tracking."""

    store_name = serializers.CharField(source="store.name", read_only=True)
    carrier = serializers.CharField(source="parcel.carrier", read_only=True)
    tracking_number = serializers.CharField(source="parcel.tracking_number", read_only=True)
    tracking_url = serializers.CharField(source="parcel.tracking_url", read_only=True)
    shipped_at = serializers.DateTimeField(source="parcel.shipped_at", read_only=True)

    class Meta:
        model = FulfillmentPush
        fields = [
            "id", "order", "store", "store_name", "parcel", "carrier", "tracking_number", "tracking_url",
            "shipped_at", "status", "attempts", "message", "external_id", "created", "updated", "pushed_at",
        ]  # fmt: skip
        read_only_fields = fields


@extend_schema(request=None, responses={202: FulfillmentPushSerializer})
@api_view(["POST"])
@permission_classes([Console])
def fulfillment_push_retry(request, pk: int):
    """Try a failed channel update again: it becomes pending and is sent in the background (202).

    400 with the reason when it is not failed (pending, pushed or not needed).
    """
    push = selectors.fulfillment_push_get_for(user=request.user, pk=pk)
    fulfillment.fulfillment_retry(push_id=push.pk, actor=request.user)
    push.refresh_from_db()
    return Response(FulfillmentPushSerializer(push).data, status=status.HTTP_202_ACCEPTED)
