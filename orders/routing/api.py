"""Routing API: rule sets (draft → simulate → activate), simulations, the holds queue, an order's routing.

Every view parses input, calls one service or selector and renders; refusals
come back as 400 with ``detail``: a list of problems in plain words.
"""

from __future__ import annotations

from dataclasses import asdict

from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from core.api import query_params
from orders import selectors as order_selectors
from orders.models import Order, RoutingDecision, Rule, RuleSet, Simulation
from orders.routing import explain, jobs, rulesets, selectors, simulation
from orders.routing.core.rules import RULE_KINDS
from tenants.accounts.permissions import area_permission

Console = area_permission("console")
HOLDS_PAGE_SIZE = 50
MAX_IDS = 500


class RuleSerializer(serializers.ModelSerializer):
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Rule
        fields = ["id", "position", "kind", "name", "enabled", "params", "summary"]

    def get_summary(self, rule) -> str:
        return explain.rule_summary(rule.kind, rule.params, products=self.context.get("products"))


class RuleSetSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.email", default="", read_only=True)
    rule_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = RuleSet
        fields = ["id", "version", "status", "note", "created_by", "created", "activated_at", "rule_count"]


class RuleSetDetailSerializer(RuleSetSerializer):
    """A version with its rules and what keeps it from activation (the shape ``_ruleset_detail`` answers)."""

    rules = RuleSerializer(many=True, read_only=True)
    problems = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(RuleSetSerializer.Meta):
        fields = [*RuleSetSerializer.Meta.fields, "rules", "problems"]


class HoldQuerySerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, help_text="a hold reason code")
    page = serializers.IntegerField(required=False, min_value=1, default=1)


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    params = serializers.DictField()
    text = serializers.CharField()


class HoldRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order_number = serializers.CharField()
    store = serializers.IntegerField()
    store_name = serializers.CharField()
    placed_at = serializers.DateTimeField()
    total = serializers.CharField()
    currency = serializers.CharField()
    ruleset_version = serializers.IntegerField(allow_null=True)
    hold_reasons = ReasonSerializer(many=True)


class HoldCodeCountSerializer(serializers.Serializer):
    code = serializers.CharField()
    count = serializers.IntegerField()


class HoldPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    next_page = serializers.IntegerField(allow_null=True)
    reasons = HoldCodeCountSerializer(many=True)
    results = HoldRowSerializer(many=True)


class UnmappedQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True)


class RuleInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RULE_KINDS)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, default=True)
    params = serializers.DictField(required=False, default=dict)


class RuleUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    params = serializers.DictField(required=False)


class MoveSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)


class ActivateSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


class SimulateSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=simulation.MAX_DAYS, default=30)


class IdsSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_IDS)


class SimulationSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="ruleset.version", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Simulation
        fields = ["id", "ruleset", "version", "days", "status", "progress", "result", "message", "created", "finished"]

    def get_progress(self, run) -> dict:
        return simulation.simulation_progress(simulation=run)


def _ruleset_detail(ruleset: RuleSet) -> dict:
    rules = selectors.rules_of(ruleset=ruleset)
    products = selectors.product_skus(
        value for rule in rules for value in (rule.params.get("product_id"), rule.params.get("gift_product_id"))
    )
    data = RuleSetSerializer(ruleset).data
    data["rules"] = RuleSerializer(rules, many=True, context={"products": products}).data
    data["problems"] = rulesets.ruleset_problems(ruleset=ruleset)
    return data


def _reason_dicts(reasons, names: explain.Names | None = None) -> list[dict]:
    rows = []
    for value in reasons or ():
        reason = explain.reason_of(value)
        rows.append({"code": reason.code, "params": dict(reason.params), "text": explain.reason_text(reason, names)})
    return rows


@extend_schema(methods=["GET"], responses=RuleSetSerializer(many=True))
@extend_schema(methods=["POST"], request=None, responses={200: RuleSetDetailSerializer, 201: RuleSetDetailSerializer})
@api_view(["GET", "POST"])
@permission_classes([Console])
def ruleset_list(request):
    """GET: every version, newest first. POST: open the draft (a copy of the active rules), or return the open one."""
    if request.method == "POST":
        existed = selectors.rulesets_for(user=request.user).filter(status=RuleSet.Status.DRAFT).exists()
        draft = rulesets.ruleset_draft_create(actor=request.user)
        ruleset = selectors.ruleset_get_for(user=request.user, pk=draft.pk)
        return Response(_ruleset_detail(ruleset), status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)
    return Response(RuleSetSerializer(selectors.rulesets_for(user=request.user), many=True).data)


@extend_schema(methods=["GET"], responses=RuleSetDetailSerializer)
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "DELETE"])
@permission_classes([Console])
def ruleset_detail(request, pk: int):
    """GET: a version with its rules and the problems that keep it from activation. DELETE: discard a draft."""
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    if request.method == "DELETE":
        rulesets.ruleset_draft_discard(ruleset=ruleset, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(_ruleset_detail(ruleset))


@extend_schema(request=RuleInputSerializer, responses={201: RuleSerializer})
@api_view(["POST"])
@permission_classes([Console])
def rule_create(request, pk: int):
    """Append a rule to a draft; params as orders.routing.core.rules names them."""
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    serializer = RuleInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    rule = rulesets.rule_add(
        ruleset=ruleset, kind=data["kind"], params=data["params"], name=data["name"], enabled=data["enabled"],
        actor=request.user,
    )  # fmt: skip
    return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


@extend_schema(request=RuleUpdateSerializer, responses=RuleSerializer)
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes([Console])
def rule_detail(request, pk: int, rule_id: int):
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    rule = selectors.rule_get_for(user=request.user, pk=rule_id)
    if rule.ruleset_id != ruleset.pk:
        raise serializers.ValidationError({"detail": [_("The rule is not in this rule set.")]})
    if request.method == "GET":
        return Response(RuleSerializer(rule).data)
    if request.method == "DELETE":
        rulesets.rule_delete(rule=rule, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
    serializer = RuleUpdateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    rule = rulesets.rule_update(
        rule=rule, params=data.get("params"), name=data.get("name"), enabled=data.get("enabled"),
        actor=request.user,
    )  # fmt: skip
    return Response(RuleSerializer(rule).data)


@extend_schema(request=MoveSerializer, responses=RuleSetDetailSerializer)
@api_view(["POST"])
@permission_classes([Console])
def rule_move(request, pk: int, rule_id: int):
    """Put a rule at a position (1 = first); returns the rule set."""
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    rule = selectors.rule_get_for(user=request.user, pk=rule_id)
    if rule.ruleset_id != ruleset.pk:
        raise ValidationError({"detail": [_("The rule is not in this rule set.")]})
    serializer = MoveSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    rulesets.rule_move(rule=rule, position=serializer.validated_data["position"], actor=request.user)
    return Response(_ruleset_detail(selectors.ruleset_get_for(user=request.user, pk=pk)))


@extend_schema(request=ActivateSerializer, responses=RuleSetDetailSerializer)
@api_view(["POST"])
@permission_classes([Console])
def ruleset_activate(request, pk: int):
    """Make a draft active (the previous active version is retired); 400 with the problems if it cannot be."""
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    serializer = ActivateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    rulesets.ruleset_activate(ruleset=ruleset, actor=request.user, note=serializer.validated_data.get("note"))
    return Response(_ruleset_detail(selectors.ruleset_get_for(user=request.user, pk=pk)))


@extend_schema(request=SimulateSerializer, responses={202: SimulationSerializer})
@api_view(["POST"])
@permission_classes([Console])
def ruleset_simulate(request, pk: int):
    """Compare a draft with the active version over the last ``days`` days, in the background; poll the simulation."""
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    serializer = SimulateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    run = simulation.simulation_start(ruleset=ruleset, days=serializer.validated_data["days"], actor=request.user)
    return Response(SimulationSerializer(run).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses=SimulationSerializer)
@api_view(["GET"])
@permission_classes([Console])
def simulation_detail(request, pk: int):
    """Progress while running; the comparison (see orders.routing.simulation) once done."""
    return Response(SimulationSerializer(selectors.simulation_get_for(user=request.user, pk=pk)).data)


def _hold_row(order: Order) -> dict:
    decision: RoutingDecision | None = order.current_decisions[0] if order.current_decisions else None
    return {
        "id": order.pk,
        "order_number": order.order_number,
        "store": order.store_id,
        "store_name": order.store.name,
        "placed_at": order.placed_at,
        "total": str(order.total),
        "currency": order.currency,
        "ruleset_version": decision.ruleset_version if decision else None,
        "hold_reasons": _reason_dicts(decision.hold_reasons if decision else []),
    }


@extend_schema(parameters=[HoldQuerySerializer], responses=HoldPageSerializer)
@api_view(["GET"])
@permission_classes([Console])
def hold_list(request):
    """Held orders, longest waiting first, with their reasons (codes, parameters and text); 50 a page."""
    query = query_params(request, HoldQuerySerializer)
    code = query.get("reason", "")
    page = Paginator(selectors.held_orders_for(user=request.user, code=code), HOLDS_PAGE_SIZE).get_page(query["page"])
    return Response(
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "next_page": page.next_page_number() if page.has_next() else None,
            "reasons": [{"code": c, "count": n} for c, n in selectors.hold_code_counts(user=request.user)],
            "results": [_hold_row(order) for order in page.object_list],
        }
    )


def _ids(request) -> list[int]:
    serializer = IdsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    ids = serializer.validated_data["ids"]
    return list(order_selectors.orders_by_ids_for(user=request.user, ids=ids).values_list("pk", flat=True))


class UnmappedSerializer(serializers.Serializer):
    listing_sku = serializers.CharField()
    title = serializers.CharField()
    held_orders = serializers.IntegerField()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    product_id = serializers.IntegerField(allow_null=True, help_text="a product with exactly this SKU, if any")


class RoutingJobSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=jobs.KINDS)
    state = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
    routed = serializers.IntegerField()
    held = serializers.IntegerField()
    skipped = serializers.IntegerField()
    dispatches_created = serializers.IntegerField()
    error = serializers.CharField()


def _start(request, kind: str) -> Response:
    ids = _ids(request)
    job = jobs.routing_job_start(kind=kind, order_ids=ids, actor=request.user)
    return Response(jobs.routing_job_progress(job_id=job["id"]), status=status.HTTP_202_ACCEPTED)


@extend_schema(request=IdsSerializer, responses={202: RoutingJobSerializer})
@api_view(["POST"])
@permission_classes([Console])
def hold_release(request):
    """Release held orders: route them despite their holds (unmapped SKUs and missing sources still hold).

    Runs in the background: 202 with the job; follow it at /api/v1/routing/jobs/<id>/.
    """
    return _start(request, "release")


@extend_schema(request=IdsSerializer, responses={202: RoutingJobSerializer})
@api_view(["POST"])
@permission_classes([Console])
def order_reroute(request):
    """Route orders again with the active rules (after a mapping or rule change); never duplicates a dispatch.

    Runs in the background: 202 with the job; follow it at /api/v1/routing/jobs/<id>/.
    """
    return _start(request, "reroute")


@extend_schema(responses={200: RoutingJobSerializer})
@api_view(["GET"])
@permission_classes([Console])
def routing_job(request, job_id: str):
    """A routing job's progress, then its counts."""
    job = jobs.routing_job_progress(job_id=job_id)
    if job is None:
        raise NotFound()
    return Response(RoutingJobSerializer(job).data)


def _decision(decision: RoutingDecision | None, names: explain.Names, listing_skus: dict[int, str]) -> dict | None:
    if decision is None:
        return None
    return {
        "id": decision.pk,
        "created": decision.created,
        "trigger": decision.trigger,
        "ruleset_version": decision.ruleset_version,
        "held": decision.held,
        "hold_reasons": _reason_dicts(decision.hold_reasons, names),
        "fired_rules": selectors.rule_names(decision.fired_rule_ids),
        "merge_key": decision.merge_key,
        "lines": [
            asdict(line) for line in explain.decision_lines(decision.lines, names=names, listing_skus=listing_skus)
        ],
        "raw_lines": decision.lines,
    }


@extend_schema(responses={200: None})
@api_view(["GET"])
@permission_classes([Console])
def order_routing(request, pk: int):
    """An order's current decision (in codes and in words), earlier decisions, dispatches and timeline."""
    order = order_selectors.order_get_for(user=request.user, pk=pk)
    routing = selectors.order_routing_for(user=request.user, order=order)
    names = explain.Names(suppliers=routing.suppliers, products=routing.products)
    listing_skus = {line.pk: line.listing_sku for line in order.lines.all()}
    return Response(
        {
            "order": order.pk,
            "status": order.status,
            "auto_routed": order.auto_routed,
            "decision": _decision(routing.decision, names, listing_skus),
            "earlier_decisions": [
                {
                    "id": d.pk,
                    "created": d.created,
                    "trigger": d.trigger,
                    "ruleset_version": d.ruleset_version,
                    "held": d.held,
                }
                for d in routing.earlier
            ],
            "dispatches": [
                {
                    "id": dispatch.pk,
                    "number": dispatch.number,
                    "supplier": dispatch.supplier_id,
                    "supplier_name": dispatch.supplier.name if dispatch.supplier else explain.supplier_label(""),
                    "status": dispatch.status,
                    "reason": dispatch.reason,
                    "lines": [
                        {
                            "id": line.pk,
                            "product": line.product_id,
                            "sku": line.product.sku,
                            "listing_sku": line.listing_sku,
                            "order_line": line.order_line_id,
                            "quantity": line.quantity,
                            "is_gift": line.is_gift,
                            "source": line.source_id,
                            "unit_cost": str(line.unit_cost),
                            "cost_currency": line.cost_currency,
                            "reserved": line.reserved,
                        }
                        for line in dispatch.order_lines
                    ],
                }
                for dispatch in routing.dispatches
            ],
            "timeline": sorted(
                [
                    {
                        "at": t.at,
                        "dispatch": None,
                        "from": t.from_state,
                        "to": t.to_state,
                        "actor": t.actor_label,
                        "reason": t.reason,
                    }
                    for t in routing.transitions
                ]
                + [
                    {
                        "at": e.at,
                        "dispatch": e.dispatch.number,
                        "from": e.from_state,
                        "to": e.to_state,
                        "actor": e.actor_label,
                        "reason": e.reason,
                    }
                    for e in routing.dispatch_events
                ],
                key=lambda entry: entry["at"],
            ),
        }
    )


@extend_schema(parameters=[UnmappedQuerySerializer], responses=UnmappedSerializer(many=True))
@api_view(["GET"])
@permission_classes([Console])
def listing_unmapped(request):
    """Listing SKUs that open orders wait on, most held orders first (at most 500)."""
    q = query_params(request, UnmappedQuerySerializer).get("q", "")
    rows = selectors.unmapped_listing_skus(user=request.user, q=q, limit=500)
    return Response(UnmappedSerializer(rows, many=True).data)
