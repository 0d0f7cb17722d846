"""The supplier portal's statements: the list, one statement, confirm it or dispute lines; pages and API.

Every read goes through the two selectors here with the signed-in user's supplier
(suppliers.portal.access.portal_supplier): another supplier's statement, and a draft,
are a 404, never a 403, so a supplier learns nothing of them. Every change is a
service of settlement.statement_states; its refusal (IllegalTransition, a
ValidationError) is shown on the page with status 400 and changes nothing, and the
API's exception handler answers it as 400 {"detail": [...]}. The merchant's users are
named "the merchant" only (as suppliers.portal.selectors does for dispatches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from core.api import choice, query_params
from core.listing import export_format, export_response
from core.money import round_money
from settlement import listings, statement_states
from settlement.models import Statement, StatementDispute, StatementEvent, StatementLine
from suppliers.models import Supplier
from suppliers.portal.access import portal_supplier
from tenants.accounts.permissions import area_permission, area_required

S = Statement.Status
PAGE_SIZE = 50
# What a supplier may see: issued or later, never a draft.
VISIBLE = (S.ISSUED, S.CONFIRMED, S.DISPUTED, S.PAID)
_COMMENT_FIELD = re.compile(r"^comment_(\d{1,18})$")

MERCHANT = gettext_lazy("the merchant")
_WAITING = {
    S.ISSUED: gettext_lazy("Waiting for you: confirm it, or dispute the lines that are wrong."),
    S.DISPUTED: gettext_lazy("Waiting for the merchant to answer your disputes."),
    S.CONFIRMED: gettext_lazy("Waiting for the merchant to pay it."),
    S.PAID: gettext_lazy("Nothing: it has been paid."),
}


# ---------------------------------------------------------------------------
# Reads (every one takes the supplier)


def portal_statements_for(*, supplier: Supplier, status: str = "") -> QuerySet[Statement]:
    """The supplier's own statements, issued or later, newest period first; ``status`` one of VISIBLE or ""."""
    rows = Statement.objects.filter(supplier=supplier, status__in=VISIBLE).select_related("period")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-period__month", "currency", "id")


def portal_statement_get(*, supplier: Supplier, pk: int) -> Statement:
    """One of the supplier's issued (or later) statements; 404 for a draft, another supplier's or none."""
    return get_object_or_404(portal_statements_for(supplier=supplier), pk=pk)


@dataclass(frozen=True)
class PortalEvent:
    at: object
    from_state: str
    to_state: str
    actor: str
    reason: str


@dataclass(frozen=True)
class PortalDispute:
    id: int
    line_id: int
    line_description: str
    comment: str
    status: str
    status_label: str
    raised_by: str
    raised_at: object
    resolution: str
    resolved_by: str
    resolved_at: object
    adjustment_amount: Decimal | None
    adjustment_currency: str
    adjustment_period: str


@dataclass(frozen=True)
class PortalStatement:
    statement: Statement
    lines: list[StatementLine]
    disputes: list[PortalDispute]
    events: list[PortalEvent]
    waiting_for: str
    open_dispute_line_ids: frozenset[int]


def _who(user_id: int | None, label: str, own_user_ids: set[int]) -> str:
    """Own people by e-mail; anyone else (finance, the merchant's staff) as "the merchant"."""
    if user_id is not None:
        return label if user_id in own_user_ids else str(MERCHANT)
    return label if label == "supplier" else str(MERCHANT)


def portal_statement_detail(*, supplier: Supplier, statement: Statement) -> PortalStatement:
    """The statement's lines, disputes (with their resolution) and timeline, as its supplier may read them.

    ``statement`` must be one of ``supplier``'s (portal_statement_get). Four queries.
    """
    if statement.supplier_id != supplier.pk:
        raise ValueError("not this supplier's statement")
    own = set(supplier.users.values_list("user_id", flat=True))
    lines = list(StatementLine.objects.filter(statement=statement).order_by("id"))
    by_id = {line.pk: line for line in lines}
    disputes = [
        PortalDispute(
            id=d.pk,
            line_id=d.line_id,
            line_description=by_id[d.line_id].description if d.line_id in by_id else "",
            comment=d.comment,
            status=d.status,
            status_label=str(d.get_status_display()),
            raised_by=_who(d.raised_by_id, d.raised_by.email if d.raised_by else "supplier", own),
            raised_at=d.raised_at,
            resolution=d.resolution,
            resolved_by=str(MERCHANT) if d.resolved_at else "",
            resolved_at=d.resolved_at,
            adjustment_amount=d.adjustment.amount if d.adjustment else None,
            adjustment_currency=d.adjustment.currency if d.adjustment else "",
            adjustment_period=str(d.adjustment.period) if d.adjustment else "",
        )
        for d in StatementDispute.objects.filter(statement=statement)
        .select_related("raised_by", "adjustment__period")
        .order_by("raised_at", "id")
    ]
    events = [
        PortalEvent(e.at, e.from_state, e.to_state, _who(e.actor_id, e.actor_label, own), e.reason)
        for e in StatementEvent.objects.filter(statement=statement).order_by("at", "id")
    ]
    return PortalStatement(
        statement=statement,
        lines=lines,
        disputes=disputes,
        events=events,
        waiting_for=str(_WAITING.get(statement.status, "")),
        open_dispute_line_ids=frozenset(d.line_id for d in disputes if d.status == StatementDispute.Status.OPEN),
    )


def _status_choices() -> list[tuple[str, str]]:
    labels = dict(S.choices)
    return [(value, str(labels[value])) for value in VISIBLE]


# ---------------------------------------------------------------------------
# Pages


def _page(rows: QuerySet[Statement], number) -> Page:
    return Paginator(rows, PAGE_SIZE).get_page(number)


@area_required("portal")
def portal_statements(request):
    supplier = portal_supplier(request)
    status = request.GET.get("status", "")
    if status not in VISIBLE:
        status = ""
    sort = listings.PORTAL_STATEMENT_SORTS.from_query(request.GET)
    rows = listings.portal_statements_filtered(
        visible=portal_statements_for(supplier=supplier), status=status, sort=sort
    )
    if fmt := export_format(request.GET):
        return export_response(listings.portal_statements_export(rows), filename="statements", fmt=fmt)
    return render(
        request,
        "settlement/portal_statements.html",
        {
            "page_title": _("Statements"),
            "page": _page(rows, request.GET.get("page")),
            "status": status,
            "statuses": _status_choices(),
            "sort": sort,
        },
    )


def _render_detail(request, supplier: Supplier, statement: Statement, *, errors=(), typed=None, status: int = 200):
    """The statement page; ``typed`` (line id → comment) refills the dispute fields after a refused submit."""
    detail = portal_statement_detail(supplier=supplier, statement=statement)
    return render(
        request,
        "settlement/portal_statement.html",
        {
            "page_title": _("Statement %(number)s") % {"number": statement.number},
            "statement": statement,
            "detail": detail,
            "can_answer": statement.status == S.ISSUED,
            "typed": typed or {},
            "errors": list(errors),
        },
        status=status,
    )


@area_required("portal")
def portal_statement(request, pk: int):
    supplier = portal_supplier(request)
    return _render_detail(request, supplier, portal_statement_get(supplier=supplier, pk=pk))


@area_required("portal")
@require_POST
def portal_statement_confirm(request, pk: int):
    supplier = portal_supplier(request)
    statement = portal_statement_get(supplier=supplier, pk=pk)
    try:
        statement_states.statement_confirm(statement=statement, supplier=supplier, actor=request.user)
    except ValidationError as exc:
        statement.refresh_from_db()
        return _render_detail(request, supplier, statement, errors=exc.messages, status=400)
    messages.success(request, _("You confirmed statement %(number)s.") % {"number": statement.number})
    return redirect("settlement:portal_statement", pk=statement.pk)


def _posted_disputes(data) -> list[tuple[int, str]]:
    """The ``comment_<line id>`` fields that say something: (line id, comment), as the service takes them."""
    pairs = []
    for key in data:
        match = _COMMENT_FIELD.match(key)
        if match and data.get(key, "").strip():
            pairs.append((int(match.group(1)), data[key]))
    return pairs


@area_required("portal")
@require_POST
def portal_statement_dispute(request, pk: int):
    supplier = portal_supplier(request)
    statement = portal_statement_get(supplier=supplier, pk=pk)
    disputes = _posted_disputes(request.POST)
    try:
        statement_states.statement_dispute(
            statement=statement, supplier=supplier, disputes=disputes, actor=request.user
        )
    except ValidationError as exc:
        statement.refresh_from_db()
        typed = dict(disputes)
        return _render_detail(request, supplier, statement, errors=exc.messages, typed=typed, status=400)
    messages.success(
        request,
        ngettext(
            "You disputed %(count)s line of statement %(number)s; the merchant will answer.",
            "You disputed %(count)s lines of statement %(number)s; the merchant will answer.",
            len(disputes),
        )
        % {"count": len(disputes), "number": statement.number},
    )
    return redirect("settlement:portal_statement", pk=statement.pk)


# ---------------------------------------------------------------------------
# API (/api/v1/portal/statements/, the supplier user's token)

Portal = area_permission("portal")

_NOT_FOUND = OpenApiResponse(description="No statement of yours has this id (a draft or another's is none either).")
_REFUSED = OpenApiResponse(
    description='Refused, nothing changed: {"detail": [messages]}.',
    response=inline_serializer(
        "PortalStatementRefusal", {"detail": serializers.ListField(child=serializers.CharField())}
    ),
)


def _money(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else str(round_money(amount, currency))


class PortalStatementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    period = serializers.CharField(help_text="YYYY-MM")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Statement.Status.choices, help_text="never draft")
    total = serializers.CharField(help_text="a decimal in the currency's minor unit")
    issued_at = serializers.DateTimeField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    payment_reference = serializers.CharField(allow_blank=True)
    payment_date = serializers.DateField(allow_null=True)


class PortalStatementLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=StatementLine.Kind.choices)
    description = serializers.CharField(allow_blank=True)
    quantity = serializers.IntegerField(allow_null=True)
    unit_cost = serializers.CharField(allow_null=True)
    amount = serializers.CharField()


class PortalDisputeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    line = serializers.IntegerField()
    comment = serializers.CharField()
    status = serializers.ChoiceField(choices=StatementDispute.Status.choices)
    raised_by = serializers.CharField()
    raised_at = serializers.DateTimeField()
    resolution = serializers.CharField(allow_blank=True)
    resolved_by = serializers.CharField(allow_blank=True, help_text='"the merchant" once resolved')
    resolved_at = serializers.DateTimeField(allow_null=True)
    adjustment_amount = serializers.CharField(allow_null=True)
    adjustment_period = serializers.CharField(allow_blank=True)


class PortalStatementEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    actor = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)


class PortalStatementDetailSerializer(PortalStatementSerializer):
    waiting_for = serializers.CharField()
    lines = PortalStatementLineSerializer(many=True)
    disputes = PortalDisputeSerializer(many=True)
    events = PortalStatementEventSerializer(many=True)


class DisputeLineInput(serializers.Serializer):
    line = serializers.IntegerField(min_value=1)
    comment = serializers.CharField(max_length=1000, allow_blank=True, trim_whitespace=False)


class DisputeInput(serializers.Serializer):
    disputes = DisputeLineInput(many=True, help_text="each line you dispute with what is wrong with it")


def _statement_data(s: Statement) -> dict:
    return {
        "id": s.pk, "number": s.number, "period": str(s.period), "currency": s.currency, "status": s.status,
        "total": _money(s.total, s.currency), "issued_at": s.issued_at, "confirmed_at": s.confirmed_at,
        "paid_at": s.paid_at, "payment_reference": s.payment_reference, "payment_date": s.payment_date,
    }  # fmt: skip


def _detail_data(supplier: Supplier, statement: Statement) -> dict:
    detail = portal_statement_detail(supplier=supplier, statement=statement)
    currency = statement.currency
    data = _statement_data(statement)
    data["waiting_for"] = detail.waiting_for
    data["lines"] = [
        {"id": line.pk, "kind": line.kind, "description": line.description, "quantity": line.quantity,
         "unit_cost": None if line.unit_cost is None else str(line.unit_cost.normalize()),
         "amount": _money(line.amount, currency)}
        for line in detail.lines
    ]  # fmt: skip
    data["disputes"] = [
        {"id": d.id, "line": d.line_id, "comment": d.comment, "status": d.status, "raised_by": d.raised_by,
         "raised_at": d.raised_at, "resolution": d.resolution, "resolved_by": d.resolved_by,
         "resolved_at": d.resolved_at, "adjustment_amount": _money(d.adjustment_amount, d.adjustment_currency),
         "adjustment_period": d.adjustment_period}
        for d in detail.disputes
    ]  # fmt: skip
    data["events"] = [
        {"at": e.at, "from_state": e.from_state, "to_state": e.to_state, "actor": e.actor, "reason": e.reason}
        for e in detail.events
    ]
    return PortalStatementDetailSerializer(data).data


class PortalStatementQuery(serializers.Serializer):
    """The statement list's query: a status among the visible ones, and a page number (past the last: the last)."""

    status = choice(VISIBLE)
    page = serializers.IntegerField(required=False, min_value=1, help_text="1, 2, …; 50 statements a page")


@extend_schema(
    operation_id="portal_statements_list",
    parameters=[PortalStatementQuery],
    responses={
        200: inline_serializer(
            "PortalStatementPage",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": PortalStatementSerializer(many=True),
            },
        ),
    },
)
@api_view(["GET"])
@permission_classes([Portal])
def statement_list(request):
    """Your statements (issued or later), newest period first, 50 a page: follow `next` until it is null."""
    supplier = portal_supplier(request)
    given = query_params(request, PortalStatementQuery)
    page = _page(portal_statements_for(supplier=supplier, status=given.get("status", "")), given.get("page", 1))

    def link(number: int) -> str:
        query = {k: v for k, v in request.query_params.items() if k != "page"}
        return request.build_absolute_uri(f"{request.path}?{urlencode({**query, 'page': number})}")

    return Response(
        {
            "count": page.paginator.count,
            "next": link(page.next_page_number()) if page.has_next() else None,
            "previous": link(page.previous_page_number()) if page.has_previous() else None,
            "results": PortalStatementSerializer([_statement_data(s) for s in page], many=True).data,
        }
    )


@extend_schema(
    operation_id="portal_statement_retrieve", responses={200: PortalStatementDetailSerializer, 404: _NOT_FOUND}
)
@api_view(["GET"])
@permission_classes([Portal])
def statement_detail(request, pk: int):
    """One of your statements: its lines, disputes with their resolution, and what it waits for."""
    supplier = portal_supplier(request)
    return Response(_detail_data(supplier, portal_statement_get(supplier=supplier, pk=pk)))


@extend_schema(
    operation_id="portal_statement_confirm",
    request=None,
    responses={200: PortalStatementDetailSerializer, 400: _REFUSED, 404: _NOT_FOUND},
)
@api_view(["POST"])
@permission_classes([Portal])
def statement_confirm(request, pk: int):
    """Confirm an issued statement: you agree with every line."""
    supplier = portal_supplier(request)
    statement = portal_statement_get(supplier=supplier, pk=pk)
    statement_states.statement_confirm(statement=statement, supplier=supplier, actor=request.user)
    return Response(_detail_data(supplier, statement))


@extend_schema(
    operation_id="portal_statement_dispute",
    request=DisputeInput,
    responses={200: PortalStatementDetailSerializer, 400: _REFUSED, 404: _NOT_FOUND},
)
@api_view(["POST"])
@permission_classes([Portal])
def statement_dispute(request, pk: int):
    """Dispute lines of an issued statement, each with a comment; the merchant answers each."""
    supplier = portal_supplier(request)
    statement = portal_statement_get(supplier=supplier, pk=pk)
    serializer = DisputeInput(data=request.data)
    serializer.is_valid(raise_exception=True)
    statement_states.statement_dispute(
        statement=statement,
        supplier=supplier,
        disputes=[(item["line"], item["comment"]) for item in serializer.validated_data["disputes"]],
        actor=request.user,
    )
    return Response(_detail_data(supplier, statement))
