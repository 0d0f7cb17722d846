"""Reads of suppliers for the merchant's console and API."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from suppliers.models import Supplier
from tenants.accounts.selectors import user_can_enter


def suppliers_for(*, user) -> QuerySet[Supplier]:
    if not user_can_enter(user, "console"):
        raise PermissionDenied
    return Supplier.objects.all()


def suppliers_filter(qs: QuerySet[Supplier], *, q: str = "", active: bool | None = None) -> QuerySet[Supplier]:
    if q := q.strip():
        qs = qs.filter(Q(name__icontains=q) | Q(code__istartswith=q) | Q(contact_email__istartswith=q))
    if active is not None:
        qs = qs.filter(active=active)
    return qs


def suppliers_with_counts(qs: QuerySet[Supplier]) -> QuerySet[Supplier]:
    """Each supplier with how many sources name it and how many portal users it has."""
    return qs.annotate(source_count=Count("sources", distinct=True), user_count=Count("users", distinct=True)).order_by(
        "name", "id"
    )


def supplier_get_for(*, user, pk: int) -> Supplier:
    return get_object_or_404(suppliers_for(user=user), pk=pk)
