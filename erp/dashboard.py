"""The dashboard: the console's first page, with figures from every app (so it sits at the top, with the
project configuration that may import them all)."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.models import QuarantinedPayload, Store
from orders import selectors
from orders.models import Order
from orders.routing import selectors as routing_selectors
from tenants.accounts.permissions import area_required


@area_required("console")
def dashboard(request):
    tz = request.tenant.tz
    today = timezone.localtime(timezone=tz).replace(hour=0, minute=0, second=0, microsecond=0)
    orders = selectors.orders_for(user=request.user)
    figures = orders.aggregate(
        today=Count("pk", filter=Q(placed_at__gte=today)),
        week=Count("pk", filter=Q(placed_at__gte=today - timezone.timedelta(days=6))),
        cancelled_week=Count(
            "pk", filter=Q(placed_at__gte=today - timezone.timedelta(days=6), cancelled_at__isnull=False)
        ),
    )
    revenue = (
        orders.filter(placed_at__gte=today - timezone.timedelta(days=6), cancelled_at__isnull=True)
        .values("currency")
        .annotate(total=Sum("total"), count=Count("pk"))
        .order_by("-count")
    )
    return render(
        request,
        "dashboard.html",
        {
            "page_title": _("Dashboard"),
            "figures": figures,
            "revenue": revenue,
            "stores_attention": Store.objects.filter(Q(status=Store.Status.NEEDS_REAUTH) | Q(last_sync_ok=False)),
            "quarantined": QuarantinedPayload.objects.filter(resolved_at__isnull=True).count(),
            "store_count": Store.objects.count(),
            "auto_routed": routing_selectors.auto_routed_share(
                user=request.user, since=today - timezone.timedelta(days=29)
            ),
            "held_count": orders.filter(status=Order.Status.HELD).count(),
        },
    )
