"""Routing pages: the rule editor (draft → simulate → activate), simulations, the holds queue."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.listing import export_format, export_response, query_without
from core.money import format_money
from inventory.exports import unmapped_table
from orders import selectors as order_selectors
from orders.exports import held_orders_export_table
from orders.models import Rule, RuleSet
from orders.routing import jobs, rulesets, selectors, simulation
from orders.routing.explain import hold_code_label, reason_text, rule_summary
from orders.routing.forms import (
    RULE_FORMS,
    ActivateForm,
    DiffFilterForm,
    SimulateForm,
    VersionFilterForm,
    rule_form,
)
from tenants.accounts.permissions import area_required

HOLDS_PAGE_SIZE = 50
MAX_BULK = 500
VERSIONS_PAGE_SIZE = 25
DIFFS_PAGE_SIZE = 50


def _errors(exc: ValidationError) -> list[str]:
    return list(exc.messages)


def _refused(request, exc: ValidationError) -> None:
    for message in _errors(exc):
        messages.error(request, message)


def _summary_params(rule: Rule) -> dict:
    """A rule's params with its money shown in its currency's decimals and the reader's grouping."""
    params = dict(rule.params or {})
    if rule.kind == "hold" and params.get("total_above") not in (None, "") and params.get("currency"):
        params["total_above"] = format_money(params["total_above"], params["currency"], code=False)
    return params


def _rule_rows(rules: list[Rule]) -> list[dict]:
    products = selectors.product_skus(
        value
        for rule in rules
        if rule.kind == "gift"
        for value in (rule.params.get("product_id"), rule.params.get("gift_product_id"))
    )
    return [
        {
            "rule": rule,
            "summary": rule_summary(rule.kind, _summary_params(rule), products=products),
            "first": i == 0,
            "last": i == len(rules) - 1,
        }
        for i, rule in enumerate(rules)
    ]


def _choices(request) -> dict:
    return {
        "stores": order_selectors.stores_for_choices(user=request.user),
        "channels": order_selectors.channel_choices(),
    }


@area_required("console")
def routing_index(request):
    """The active set, the open draft, and every version (filter by state, search, sort, page, download)."""
    every = selectors.rulesets_for(user=request.user)
    form = VersionFilterForm(request.GET or None)
    status = q = ""
    if form.is_bound and form.is_valid():
        status, q = form.cleaned_data["status"], form.cleaned_data["q"]
    sort = rulesets.VERSION_SORTS.from_query(request.GET)
    versions = rulesets.ruleset_versions_filter(every, status=status, q=q, sort=sort)
    if fmt := export_format(request.GET):
        return export_response(rulesets.rulesets_export_table(versions), filename=_("rule-set-versions"), fmt=fmt)
    current = {r.status: r for r in every.filter(status__in=[RuleSet.Status.ACTIVE, RuleSet.Status.DRAFT])}
    active, draft = current.get(RuleSet.Status.ACTIVE), current.get(RuleSet.Status.DRAFT)
    page = Paginator(versions, VERSIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page_title": _("Routing"),
        "active": active,
        "active_rules": _rule_rows(selectors.rules_of(ruleset=active)) if active else [],
        "draft": draft,
        "versions": list(page.object_list),
        "versions_page": page,
        "versions_form": form,
        "versions_filtered": bool(status or q),
        "sort": sort,
        "kinds": Rule.Kind.choices,
        "simulate_form": SimulateForm(),
    }
    if draft is not None:
        context["draft_rules"] = _rule_rows(selectors.rules_of(ruleset=draft))
        context["draft_problems"] = rulesets.ruleset_problems(ruleset=draft)
        context["simulations"] = list(selectors.simulations_of(ruleset=draft)[:5])
    return render(request, "orders/routing.html", context)


@area_required("console")
def ruleset_detail(request, pk: int):
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    if ruleset.status == RuleSet.Status.DRAFT:
        return redirect("orders:routing")
    return render(
        request,
        "orders/ruleset.html",
        {
            "page_title": _("Rule set version %(v)s") % {"v": ruleset.version},
            "ruleset": ruleset,
            "rules": _rule_rows(selectors.rules_of(ruleset=ruleset)),
            "events": list(ruleset.events.order_by("at", "id")),
        },
    )


@area_required("console")
@require_POST
def draft_create(request):
    draft = rulesets.ruleset_draft_create(actor=request.user)
    messages.success(request, _("Draft version %(v)s is open for editing.") % {"v": draft.version})
    return redirect("orders:routing")


@area_required("console")
@require_POST
def draft_discard(request, pk: int):
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    try:
        rulesets.ruleset_draft_discard(ruleset=ruleset, actor=request.user)
    except ValidationError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Draft version %(v)s discarded.") % {"v": ruleset.version})
    return redirect("orders:routing")


def _rule_form_page(request, *, ruleset: RuleSet, kind: str, rule: Rule | None):
    form = rule_form(
        kind, request.POST if request.method == "POST" else None, rule=rule,
        siblings=selectors.rules_of(ruleset=ruleset), **_choices(request),
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                rulesets.rule_add(
                    ruleset=ruleset, kind=kind, params=form.params(), name=form.cleaned_data["name"],
                    enabled=form.cleaned_data["enabled"], actor=request.user,
                )  # fmt: skip
            else:
                rulesets.rule_update(
                    rule=rule, params=form.params(), name=form.cleaned_data["name"],
                    enabled=form.cleaned_data["enabled"], actor=request.user,
                )  # fmt: skip
        except ValidationError as exc:
            for message in _errors(exc):
                form.add_error(None, message)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("orders:routing")
    return render(
        request,
        "orders/rule_form.html",
        {
            "page_title": _("Edit rule") if rule else _("Add a rule"),
            "form": form,
            "kind_label": Rule.Kind(kind).label,
            "ruleset": ruleset,
            "rule": rule,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _not_a_draft(request, ruleset: RuleSet):
    messages.error(
        request,
        _("Version %(v)s is %(status)s: only a draft can be changed. Open a draft on this page first.")
        % {"v": ruleset.version, "status": ruleset.get_status_display().lower()},
    )
    return redirect("orders:routing")


@area_required("console")
def rule_add(request, pk: int, kind: str):
    if kind not in RULE_FORMS:
        raise Http404
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    if ruleset.status != RuleSet.Status.DRAFT:
        return _not_a_draft(request, ruleset)
    return _rule_form_page(request, ruleset=ruleset, kind=kind, rule=None)


@area_required("console")
def rule_edit(request, pk: int):
    rule = selectors.rule_get_for(user=request.user, pk=pk)
    if rule.ruleset.status != RuleSet.Status.DRAFT:
        return _not_a_draft(request, rule.ruleset)
    return _rule_form_page(request, ruleset=rule.ruleset, kind=rule.kind, rule=rule)


@area_required("console")
@require_POST
def rule_action(request, pk: int, action: str):
    """Delete, move up/down, enable or disable one rule of the draft."""
    rule = selectors.rule_get_for(user=request.user, pk=pk)
    try:
        if action == "delete":
            rulesets.rule_delete(rule=rule, actor=request.user)
        elif action in ("up", "down"):
            rulesets.rule_move(rule=rule, position=rule.position + (-1 if action == "up" else 1), actor=request.user)
        elif action in ("enable", "disable"):
            rulesets.rule_set_enabled(rule=rule, enabled=action == "enable", actor=request.user)
        else:
            raise Http404
    except ValidationError as exc:
        _refused(request, exc)
    return redirect("orders:routing")


@area_required("console")
def ruleset_activate(request, pk: int):
    """Confirmation: what the activation changes (rules added, removed, reordered; the latest simulation)."""
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    if ruleset.status != RuleSet.Status.DRAFT:
        messages.error(
            request,
            _("Version %(v)s is %(status)s; only a draft can be activated.")
            % {"v": ruleset.version, "status": ruleset.get_status_display().lower()},
        )
        return redirect("orders:routing")
    form = ActivateForm(request.POST or None, initial={"note": ruleset.note})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            rulesets.ruleset_activate(ruleset=ruleset, actor=request.user, note=form.cleaned_data["note"])
        except ValidationError as exc:
            for message in _errors(exc):
                form.add_error(None, message)
            status = 400
        else:
            messages.success(request, _("Version %(v)s is now active.") % {"v": ruleset.version})
            return redirect("orders:routing")
    active = selectors.rulesets_for(user=request.user).filter(status=RuleSet.Status.ACTIVE).first()
    changes = rulesets.ruleset_changes(draft=ruleset, active=active)
    latest = selectors.simulations_of(ruleset=ruleset).first()
    return render(
        request,
        "orders/activate.html",
        {
            "page_title": _("Activate version %(v)s") % {"v": ruleset.version},
            "ruleset": ruleset,
            "active": active,
            "form": form,
            "problems": rulesets.ruleset_problems(ruleset=ruleset),
            "changes": changes,
            "added": _rule_rows(changes.added),
            "removed": _rule_rows(changes.removed),
            "simulation": latest,
            "simulation_summary": simulation_summary(latest.result) if latest and latest.status == "done" else [],
        },
        status=status,
    )


@area_required("console")
@require_POST
def ruleset_simulate(request, pk: int):
    ruleset = selectors.ruleset_get_for(user=request.user, pk=pk)
    form = SimulateForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, " ".join(f"{label}: {e}" if label else e for e in errors))
        return redirect("orders:routing")
    try:
        run = simulation.simulation_start(ruleset=ruleset, days=form.cleaned_data["days"], actor=request.user)
    except ValidationError as exc:
        _refused(request, exc)
        return redirect("orders:routing")
    return redirect("orders:simulation", pk=run.pk)


def simulation_summary(result: dict) -> list[str]:
    """The headline of a finished simulation in plain words, money in each currency's decimals."""
    if not result:
        return []
    orders, lines, holds = result["orders"], result["lines"], result["holds"]
    sentences = [
        _("%(changed)s of %(compared)s orders would be decided differently.") % orders,
        _("%(moved)s of %(compared)s lines would move to another supplier or source.") % lines,
    ]
    if holds["more"] or holds["fewer"]:
        sentences.append(_("%(more)s more orders would be held for review, and %(fewer)s fewer.") % holds)
    else:
        sentences.append(_("The same orders would be held for review."))
    for cost in result["cost"]:
        currency = cost["currency"]
        sentences.append(
            _("Cost in %(currency)s: %(active)s now, %(draft)s with the draft (%(diff)s).")
            % {
                "currency": currency,
                "active": format_money(cost["active"], currency, code=False),
                "draft": format_money(cost["draft"], currency, code=False),
                "diff": _signed(cost["diff"], currency),
            }
        )
    return sentences


def _signed(value, currency: str) -> str:
    text = format_money(value, currency, code=False)
    return text if text.startswith("−") or format_money(0, currency, code=False) == text else "+" + text


def _diff_rows(entries: list[dict], *, names: dict[str, str], stores: dict[int, str]) -> list[dict]:
    return [
        {
            **entry,
            "store_name": stores.get(entry.get("store"), ""),
            "placed_at": simulation.placed_of(entry.get("placed") or ""),
            "changes": [simulation.change_label(c) for c in simulation.diff_changes(entry)],
            "reasons_active": [hold_code_label(c) for c in (entry.get("reasons") or ([], []))[0]],
            "reasons_draft": [hold_code_label(c) for c in (entry.get("reasons") or ([], []))[1]],
            "moves": [
                {
                    **line,
                    "from_label": simulation.supplier_key_label(line.get("from") or "", names),
                    "to_label": simulation.supplier_key_label(line.get("to") or "", names),
                }
                for line in entry.get("lines") or ()
            ],
        }
        for entry in entries
    ]


@area_required("console")
def simulation_detail(request, pk: int):
    """Progress while the simulation runs; then the result in words and the orders decided differently
    (filter, sort, page, download as CSV or XLSX)."""
    run = selectors.simulation_get_for(user=request.user, pk=pk)
    progress = simulation.simulation_progress(simulation=run)
    if request.GET.get("format") == "json" or request.headers.get("Accept") == "application/json":
        return JsonResponse(progress)
    result = (run.result or {}) if run.status == "done" else {}
    names = result.get("suppliers", {})
    store_choices = order_selectors.stores_for_choices(user=request.user)
    stores = dict(store_choices)
    form = DiffFilterForm(
        request.GET or None,
        suppliers=[(key, simulation.supplier_key_label(key, names)) for key in names],
        stores=store_choices,
    )
    filters = simulation.DiffFilters()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = simulation.DiffFilters(
            change=data["change"], supplier=data["supplier"], store_id=data["store"], q=data["q"]
        )
    sort = simulation.DIFF_SORTS.from_query(request.GET)
    differences = simulation.simulation_differences(result, filters, sort)
    if (fmt := export_format(request.GET)) and run.status == "done":
        table = simulation.differences_export_table(
            differences, suppliers=names, stores=stores,
            title=_("Simulation of version %(v)s") % {"v": run.ruleset.version},
        )  # fmt: skip
        filename = _("simulation-%(id)s-differences") % {"id": run.pk}
        return export_response(table, filename=filename, fmt=fmt)
    page = Paginator(differences, DIFFS_PAGE_SIZE).get_page(request.GET.get("page"))
    listed, total = len(result.get("diffs") or ()), result.get("diffs_total", 0)
    return render(
        request,
        "orders/simulation.html",
        {
            "page_title": _("Simulation of version %(v)s") % {"v": run.ruleset.version},
            "run": run,
            "progress": progress,
            "waiting": run.status == "running" and not progress["total"] and not progress["done"],
            "summary": simulation_summary(result),
            "moves": [
                {
                    **move,
                    "from_label": simulation.supplier_key_label(move["from"], names),
                    "to_label": simulation.supplier_key_label(move["to"], names),
                }
                for move in result.get("moves", [])
            ],
            "by_reason": [
                {**row, "label": hold_code_label(row["code"])} for row in result.get("holds", {}).get("by_reason", [])
            ],
            "cost": [{**row, "diff_signed": _signed(row["diff"], row["currency"])} for row in result.get("cost", [])],
            "result": result,
            "has_diffs": "diffs" in result,
            "diff_form": form,
            "diff_page": page,
            "diff_rows": _diff_rows(list(page.object_list), names=names, stores=stores),
            "diff_count": len(differences),
            "diffs_filtered": filters != simulation.DiffFilters(),
            "diffs_cut": (
                ngettext(
                    "Only the first %(listed)s of %(total)s orders decided differently are listed.",
                    "Only the first %(listed)s of %(total)s orders decided differently are listed.",
                    total,
                )
                % {"listed": listed, "total": total}
                if total > listed
                else ""
            ),
            "sort": sort,
            "editable": run.ruleset.status == RuleSet.Status.DRAFT,
        },
    )


# ---------------------------------------------------------------------------
# Holds queue


def _hold_rows(orders) -> list[dict]:
    rows = []
    for order in orders:
        decision = order.current_decisions[0] if order.current_decisions else None
        reasons = [reason_text(r) for r in (decision.hold_reasons if decision else [])]
        rows.append({"order": order, "reasons": reasons, "decision": decision})
    return rows


def _selected_ids(request) -> list[int]:
    ids = []
    for value in request.POST.getlist("ids"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return ids[:MAX_BULK]


@area_required("console")
def holds(request):
    if request.method == "POST":
        return _holds_action(request)
    code = request.GET.get("reason", "")
    q = request.GET.get("q", "").strip()
    stores = order_selectors.stores_for_choices(user=request.user)
    store_id = _int_or_none(request.GET.get("store"), allowed={pk for pk, _name in stores})
    sort = selectors.HOLD_SORTS.from_query(request.GET)
    qs = selectors.held_orders_for(user=request.user, code=code, q=q, store_id=store_id, sort=sort)
    if fmt := export_format(request.GET):
        reasons = {pk: [reason_text(r) for r in found] for pk, found in selectors.hold_reasons_of(qs).items()}
        return export_response(held_orders_export_table(qs, reasons=reasons), filename=_("held-orders"), fmt=fmt)
    page = Paginator(qs, HOLDS_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.hold_code_counts(user=request.user)
    recent = jobs.routing_jobs_recent()
    return render(
        request,
        "orders/holds.html",
        {
            "page_title": _("Held orders"),
            "page": page,
            "rows": _hold_rows(page.object_list),
            "code": code,
            "q": q,
            "store_id": store_id,
            "stores": stores,
            "sort": sort,
            "filtered": bool(code or q or store_id),
            "codes": [(c, hold_code_label(c), n) for c, n in counts],
            "page_query": query_without(request.GET),
            "jobs": recent,
            "jobs_running": any(job["state"] in ("queued", "running") for job in recent),
        },
    )


def _int_or_none(value: str | None, *, allowed: set[int]) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number in allowed else None


def _holds_action(request):
    action = request.POST.get("action")
    back = request.POST.get("next") or ""
    ids = list(
        order_selectors.orders_by_ids_for(user=request.user, ids=_selected_ids(request)).values_list("pk", flat=True)
    )
    if not ids:
        messages.error(request, _("Select at least one order."))
    elif action in ("release", "reroute"):
        jobs.routing_job_start(kind=action, order_ids=ids, actor=request.user)
        text = (
            ngettext(
                "Releasing %(count)s order in the background; the progress is shown below.",
                "Releasing %(count)s orders in the background; the progress is shown below.",
                len(ids),
            )
            if action == "release"
            else ngettext(
                "Re-routing %(count)s order in the background; the progress is shown below.",
                "Re-routing %(count)s orders in the background; the progress is shown below.",
                len(ids),
            )
        )
        messages.success(request, text % {"count": len(ids)})
    else:
        messages.error(request, _("Choose Release or Re-route."))
    response = redirect("orders:holds")
    if back.startswith("?"):
        response["Location"] += back
    return response


@area_required("console")
def routing_job(request, job_id: str):
    """A routing job's progress as JSON, for the holds page's progress bars."""
    job = jobs.routing_job_progress(job_id=job_id)
    if job is None:
        raise Http404
    return JsonResponse(job)


@area_required("console")
def unmapped(request):
    """The listing SKUs that open orders carry and nothing maps, most held orders first."""
    q = request.GET.get("q", "")
    fmt = export_format(request.GET)
    # The download has every unmapped SKU (merchants map them in a spreadsheet and import it back); the page the first 500.
    rows = selectors.unmapped_listing_skus(user=request.user, q=q, limit=None if fmt else 500)
    if fmt:
        return export_response(unmapped_table(rows), filename=_("unmapped-listing-skus"), fmt=fmt)
    return render(
        request,
        "inventory/listings.html",
        {
            "tab": "unmapped", "q": q, "unmapped": rows, "unmapped_exportable": True,
            "page_title": _("Unmapped listing SKUs"),
        },
    )  # fmt: skip
