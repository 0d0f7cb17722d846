"""The audit log page: the tenant owner reads who did what and when, newest first, filters it and downloads it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exports import ExportTable
from core.forms import FilterDateField
from core.listing import Sorts, export_format, export_response
from tenants.accounts.audit import ACTION_LABELS, TARGET_LABELS, action_label
from tenants.accounts.models import AuditEvent
from tenants.accounts.permissions import area_required

PAGE_SIZE = 50
DETAIL_ORDER = ("from", "to", "reason", "role", "fields", "email", "channel", "path", "format", "filters")
AUDIT_SORTS = Sorts({"at": ("at",), "action": ("action", "at"), "who": ("actor_label", "at")}, default="-at")


class AuditFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Target, id or request id")}),
    )
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    who = forms.CharField(
        label=gettext_lazy("Who"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("E-mail or name")}),
    )
    target_type = forms.ChoiceField(label=gettext_lazy("Target type"), required=False)
    date_from = FilterDateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = FilterDateField(label=gettext_lazy("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [
            ("", gettext_lazy("All actions")),
            *sorted(ACTION_LABELS.items(), key=lambda item: str(item[1])),
        ]
        self.fields["target_type"].choices = [
            ("", gettext_lazy("All targets")),
            *sorted(TARGET_LABELS.items(), key=lambda item: str(item[1])),
        ]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("“From” must not be after “to”."))
        return data


@dataclass(frozen=True)
class AuditFilters:
    q: str = ""
    action: str = ""
    who: str = ""
    target_type: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def any(self) -> bool:
        return any((self.q, self.action, self.who, self.target_type, self.date_from, self.date_to))


def audit_events_filter(qs: QuerySet[AuditEvent], *, filters: AuditFilters, tz: dt.tzinfo) -> QuerySet[AuditEvent]:
    """``qs`` narrowed to ``filters``; dates are whole days in ``tz`` (the tenant's), both ends included."""
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.target_type:
        qs = qs.filter(target_type=filters.target_type)
    if who := filters.who.strip():
        qs = qs.filter(actor_label__icontains=who)
    if filters.date_from:
        qs = qs.filter(at__gte=dt.datetime.combine(filters.date_from, dt.time.min, tzinfo=tz))
    if filters.date_to:
        qs = qs.filter(at__lt=dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz))
    if q := filters.q.strip():
        qs = qs.filter(Q(target_label__icontains=q) | Q(target_id=q) | Q(request_id=q) | Q(actor_label__icontains=q))
    return qs


def _detail_value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def details_text(details: dict) -> str:
    """The details as one line a person reads: "from: a · to: b · fields: x, y"."""
    details = details or {}
    # jsonb keeps keys in its own order: the usual ones first, in the order a sentence has them.
    keys = [key for key in DETAIL_ORDER if key in details] + sorted(key for key in details if key not in DETAIL_ORDER)
    return " · ".join(f"{key}: {_detail_value(details[key])}" for key in keys if details[key] not in ("", None, [], {}))


def audit_export_table(qs: QuerySet[AuditEvent]) -> ExportTable:
    """The rows of ``qs`` in its order, for CSV / XLSX."""

    def rows() -> Iterator[tuple]:
        for event in qs.iterator(chunk_size=2000):
            yield (
                event.at, event.actor_label, event.get_via_display(), event.ip or "", action_label(event.action),
                event.action, str(TARGET_LABELS.get(event.target_type, event.target_type)), event.target_id,
                event.target_label, details_text(event.details), event.request_id,
            )  # fmt: skip

    columns = [
        _("When"), _("Who"), _("Via"), _("IP address"), _("Action"), _("Action code"), _("Target type"),
        _("Target id"), _("Target"), _("Details"), _("Request id"),
    ]  # fmt: skip
    return ExportTable(title=_("Audit log"), columns=columns, count=qs.count(), rows=rows())


@area_required("admin")
def audit_log(request):
    """The owner's audit log: filters in the query string, ``?export=csv|xlsx`` downloads what is shown."""
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    filters = AuditFilters(**{key: value for key, value in data.items() if value not in (None, "")})
    sort = AUDIT_SORTS.from_query(request.GET)
    qs = audit_events_filter(AuditEvent.objects.all(), filters=filters, tz=timezone.get_current_timezone()).order_by(
        *sort.ordering
    )
    if fmt := export_format(request.GET):
        return export_response(audit_export_table(qs), filename=_("audit-log"), fmt=fmt)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "event": event,
            "action": action_label(event.action),
            "target_type": TARGET_LABELS.get(event.target_type, event.target_type),
            "details": details_text(event.details),
        }
        for event in page
    ]
    return render(
        request,
        "accounts/audit_log.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "sort": sort,
            "filtered": filters.any,
            "page_title": _("Audit log"),
        },
    )
