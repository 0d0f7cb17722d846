"""The merchant's dispatch list: every supplier's dispatches, filtered, newest first, overdue ones flagged."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.listing import Sorts, export_format, export_response
from suppliers import exports, selectors
from suppliers.forms import DispatchFilterForm
from tenants.accounts.permissions import area_required

# Keyset pages need non-null sort fields: the deadlines (null on old dispatches) are filters, not sorts.
DISPATCH_SORTS = Sorts({"routed": ("created",)}, default="-routed", unique="id")


def dispatch_filters(form: DispatchFilterForm) -> selectors.DispatchFilters:
    """The filters of a valid bound form (no filter for an unbound one)."""
    if not form.is_bound:
        return selectors.DispatchFilters()
    data = form.cleaned_data
    return selectors.DispatchFilters(
        supplier=data.get("supplier") or "", status=data.get("status") or "", overdue=data.get("overdue") or "",
        created_from=data.get("created_from"), created_to=data.get("created_to"), q=data.get("q") or "",
    )  # fmt: skip


@area_required("console")
def dispatch_list(request):
    form = DispatchFilterForm(request.GET or None, suppliers=selectors.supplier_choices(user=request.user))
    now = timezone.now()
    valid = not form.is_bound or form.is_valid()
    filters = dispatch_filters(form) if valid else selectors.DispatchFilters()
    qs = selectors.dispatches_filter(
        selectors.dispatches_for(user=request.user), filters, tz=request.tenant.tz, now=now
    )
    sort = DISPATCH_SORTS.from_query(request.GET)
    if fmt := export_format(request.GET):
        table = exports.dispatches_table(qs, now=now, ordering=sort.ordering)
        return export_response(table, filename=_("dispatches"), fmt=fmt)
    page = selectors.dispatches_page(
        qs, now=now, after=request.GET.get("after", ""), before=request.GET.get("before", ""), ordering=sort.ordering
    )
    base = {k: v for k, v in request.GET.items() if k not in ("after", "before", "export") and v}
    return render(
        request,
        "suppliers/dispatches.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "filtered": bool({k: v for k, v in base.items() if k != "sort"}),
            "page_title": _("Dispatches"),
            "next_query": urlencode({**base, "after": page.next_cursor}) if page.next_cursor else "",
            "prev_query": urlencode({**base, "before": page.prev_cursor}) if page.prev_cursor else "",
        },
    )
