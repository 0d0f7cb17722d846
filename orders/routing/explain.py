"""Routing reasons, rules and decisions in the reader's language.

The engine stores reasons as codes with string parameters and renders them in
English (``orders.routing.core.types.describe``). This module is the translatable
rendering the pages use: the same sentences, marked for gettext, with
supplier and product ids replaced by their names when the caller knows them.
A code this module does not know falls back to ``describe``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.money import format_money
from orders.models import Order
from orders.routing.core.types import Reason, describe
from suppliers.models import Dispatch

STRATEGY_LABELS = {
    "path_order": gettext_lazy("source path order"),
    "cheapest": gettext_lazy("cheapest cost"),
    "region_first": gettext_lazy("region first"),
    "in_stock_first": gettext_lazy("in-stock first"),
    "best_record": gettext_lazy("best supplier record"),
}

SPLIT_POLICY_LABELS = {
    "split": gettext_lazy("Split across suppliers"),
    "whole": gettext_lazy("Prefer one supplier for the whole order"),
}

SCOPE_LABELS = {
    "province": gettext_lazy("province"),
    "country": gettext_lazy("country"),
    "everywhere": gettext_lazy("everywhere"),
    "nowhere": gettext_lazy("nowhere"),
}

# The sentences of orders.routing.core.types.REASON_TEXTS, marked for translation
# (a test keeps the two tables in step).
REASON_TEMPLATES = {
    "chosen": gettext_lazy("Chosen by {strategy_label}."),
    "inactive": gettext_lazy("The source is inactive."),
    "supplier_inactive": gettext_lazy("The supplier is deactivated."),
    "region_not_served": gettext_lazy("Does not serve {region}."),
    "no_stock": gettext_lazy("Not enough stock: {available} available, {needed} needed."),
    "rejected_before": gettext_lazy("The supplier already rejected this order from this source."),
    "costlier": gettext_lazy("Costs {cost} {currency}, more than the chosen {chosen_cost} {currency}."),
    "other_currency": gettext_lazy(
        "Priced in {currency}, which cannot be compared with the chosen source's {chosen_currency}."
    ),
    "later_on_path": gettext_lazy(
        "Comes later on the source path (position {position}) than the chosen source (position {chosen_position})."
    ),
    "worse_record": gettext_lazy(
        "{supplier_label} has a worse record ({rejection_rate} rejected, {on_time_rate} on time) than "
        "{chosen_supplier_label} ({chosen_rejection_rate} rejected, {chosen_on_time_rate} on time)."
    ),
    "no_record": gettext_lazy("{supplier_label} has no shipping record yet; suppliers with a record rank first."),
    "less_specific_region": gettext_lazy("Serves {scope}, while the chosen source names the order's {chosen_scope}."),
    "stock_not_confirmed": gettext_lazy("Stock is not tracked here; a source with confirmed stock ranks first."),
    "not_whole_order_supplier": gettext_lazy("The whole order goes to {chosen_supplier_label}, not {supplier_label}."),
    "stock_not_tracked": gettext_lazy("Stock of source #{source} is not tracked; assumed available."),
    "routed": gettext_lazy("Routed to {supplier_label} (source #{source}, position {position}) by {strategy_label}."),
    "bundle_component": gettext_lazy("Part of bundle {listing_sku}: {per_bundle} per bundle × {bundles}."),
    "gift_added": gettext_lazy(
        "Gift of {quantity} × product #{product} from {rule_label}: bought {bought} of product #{for_product}."
    ),
    "whole_order_supplier": gettext_lazy("The whole order ships from {supplier_label}."),
    "whole_order_impossible": gettext_lazy("No single supplier can ship the whole order, so it is split."),
    "no_source_left": gettext_lazy("No source left for {product}."),
    "nothing_to_ship": gettext_lazy("The line has no quantity to ship."),
    "unmapped_sku": gettext_lazy("Listing SKU {listing_sku} is not mapped to a product."),
    "product_inactive": gettext_lazy("Product {product} is inactive."),
    "product_unknown": gettext_lazy("Product #{product_id} is not in the catalog."),
    "hold_total_above": gettext_lazy("{rule_label}: order total {total} {currency} is above {limit}."),
    "hold_address_incomplete": gettext_lazy("{rule_label}: the address is missing {missing}."),
    "hold_note_contains": gettext_lazy("{rule_label}: the buyer note contains “{words}”."),
    "hold_channel": gettext_lazy("{rule_label}: the order came from channel {channel}."),
    "hold_store": gettext_lazy("{rule_label}: the order came from store #{store}."),
    "hold_tag": gettext_lazy("{rule_label}: the order is tagged {tags}."),
    "rule_invalid": gettext_lazy("{rule_label} cannot be applied ({problem}); held to be safe."),
}

# Short names of the codes that hold an order, for the holds queue's filter.
HOLD_CODE_LABELS = {
    "hold_total_above": gettext_lazy("Total above a limit"),
    "hold_address_incomplete": gettext_lazy("Address incomplete"),
    "hold_note_contains": gettext_lazy("Buyer note"),
    "hold_channel": gettext_lazy("Channel"),
    "hold_store": gettext_lazy("Store"),
    "hold_tag": gettext_lazy("Tag"),
    "unmapped_sku": gettext_lazy("Unmapped SKU"),
    "product_inactive": gettext_lazy("Inactive product"),
    "product_unknown": gettext_lazy("Unknown product"),
    "no_source_left": gettext_lazy("No source left"),
    "rule_invalid": gettext_lazy("Broken rule"),
}


def hold_code_label(code: str) -> str:
    label = HOLD_CODE_LABELS.get(code)
    return str(label) if label is not None else code


@dataclass(frozen=True)
class Names:
    """Display names the caller loaded for the ids a reason may mention."""

    suppliers: Mapping[int, str] = field(default_factory=dict)
    products: Mapping[int, str] = field(default_factory=dict)  # product id -> SKU


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def supplier_label(value: Any, names: Names | None = None) -> str:
    """A supplier as a reader knows it: its name, or the own warehouse; ``value`` is an id, "" or None."""
    if value is None or value == "?":
        return "?"
    if value == "":
        return _("own warehouse")
    try:
        supplier_id = int(value)
    except (TypeError, ValueError):
        return str(value)
    if names is not None and supplier_id in names.suppliers:
        return names.suppliers[supplier_id]
    return _("supplier #%(id)s") % {"id": supplier_id}


def _labelled(params: Mapping[str, Any], names: Names | None) -> _Missing:
    values = _Missing({k: str(v) for k, v in params.items()})
    values["supplier_label"] = supplier_label(params.get("supplier"), names)
    values["chosen_supplier_label"] = supplier_label(params.get("chosen_supplier"), names)
    strategy = params.get("strategy", "")
    values["strategy_label"] = str(STRATEGY_LABELS.get(strategy, strategy or "?"))
    rule, name = params.get("rule", ""), params.get("rule_name", "")
    if name:
        values["rule_label"] = _("Rule “%(name)s”") % {"name": name}
    elif rule:
        values["rule_label"] = _("Rule #%(id)s") % {"id": rule}
    else:
        values["rule_label"] = _("Always")
    # Amounts in the order's currency read with its decimals: "847.00", not the stored "847.000".
    currency = str(params.get("currency") or "")
    for key in ("total", "limit"):
        if key in params and currency:
            values[key] = format_money(str(params[key]), currency, code=False)
    country, province = params.get("country", ""), params.get("province", "")
    values["region"] = f"{province}, {country}" if province else (country or _("an address without a country"))
    for key in ("scope", "chosen_scope"):
        if key in params:
            values[key] = str(SCOPE_LABELS.get(params[key], params[key]))
    if names is not None:
        for key in ("product", "for_product"):
            try:
                product_id = int(params.get(key, ""))
            except (TypeError, ValueError):
                continue
            if product_id in names.products:
                values[key] = names.products[product_id]
    return values


def reason_of(value: Reason | Mapping[str, Any]) -> Reason:
    """A stored reason ({"code", "params"}) or an engine Reason, as a Reason."""
    if isinstance(value, Reason):
        return value
    return Reason(str(value.get("code", "")), dict(value.get("params") or {}))


def reason_text(value: Reason | Mapping[str, Any], names: Names | None = None) -> str:
    """One reason as a sentence in the active language."""
    reason = reason_of(value)
    template = REASON_TEMPLATES.get(reason.code)
    if template is None:
        return describe(reason)
    text = str(template).format_map(_labelled(reason.params, names))
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------
# Rules in plain words


def _words(values: Any) -> str:
    return ", ".join(str(v) for v in values or ())


def _moment(text: str) -> str:
    """A rule's stored ISO time as the page's other times read: local wall-clock time, to the minute."""
    moment = parse_datetime(str(text))
    if moment is None:
        return str(text)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "DATETIME_FORMAT")


def _hold_summary(params: Mapping[str, Any]) -> str:
    parts = []
    if "total_above" in params:
        parts.append(
            _("the total is above %(limit)s %(currency)s")
            % {"limit": params["total_above"], "currency": params.get("currency", "")}
        )
    if params.get("address_incomplete"):
        parts.append(_("the address is incomplete"))
    if params.get("note_contains"):
        parts.append(_("the buyer note contains %(words)s") % {"words": _words(params["note_contains"])})
    if params.get("channels"):
        parts.append(_("the channel is %(channels)s") % {"channels": _words(params["channels"])})
    if params.get("store_ids"):
        parts.append(_("the store is #%(stores)s") % {"stores": _words(params["store_ids"])})
    if params.get("unmapped_sku"):
        parts.append(_("a listing SKU is unmapped"))
    if params.get("tags"):
        parts.append(_("the order is tagged %(tags)s") % {"tags": _words(params["tags"])})
    return _("Hold for review when %(conditions)s.") % {"conditions": _(" or ").join(parts) or "?"}


def rule_summary(kind: str, params: Mapping[str, Any], *, products: Mapping[int, str] | None = None) -> str:
    """What a rule does, in one sentence, for the rule editor."""
    products = products or {}

    def product(value: Any) -> str:
        return products.get(value, _("product #%(id)s") % {"id": value}) if value is not None else "?"

    if kind == "hold":
        return _hold_summary(params)
    if kind == "gift":
        text = _("Buying %(min)s × %(product)s adds %(gift_qty)s × %(gift)s free") % {
            "min": params.get("min_quantity", "?"),
            "product": product(params.get("product_id")),
            "gift_qty": params.get("gift_quantity", "?"),
            "gift": product(params.get("gift_product_id")),
        }
        if params.get("per_order_cap"):
            text += _(", at most %(cap)s per order") % {"cap": params["per_order_cap"]}
        if params.get("starts"):
            text += _(", from %(starts)s") % {"starts": _moment(params["starts"])}
        if params.get("ends"):
            text += _(", until %(ends)s") % {"ends": _moment(params["ends"])}
        return text + "."
    if kind == "sourcing":
        strategy = params.get("strategy", "path_order")
        return _("Choose sources by %(strategy)s.") % {"strategy": STRATEGY_LABELS.get(strategy, strategy)}
    if kind == "split":
        policy = params.get("policy", "")
        return str(SPLIT_POLICY_LABELS.get(policy, policy)) + "."
    if kind == "merge":
        return _(
            "Merge orders of the same buyer and address in one store within %(hours)s hours into one dispatch per supplier."
        ) % {"hours": params.get("window_hours", "?")}
    return kind


# ---------------------------------------------------------------------------
# A stored decision, ready for a template


@dataclass
class SourceView:
    source_id: int | None
    supplier: str
    chosen: bool
    reasons: list[str]


@dataclass
class LineView:
    line_id: int | None
    listing_sku: str
    product: str
    quantity: int
    is_gift: bool
    routed: bool
    supplier: str
    source_id: int | None
    unit_cost: str
    cost_currency: str
    reasons: list[str]
    considered: list[SourceView]


def decision_ids(lines: list[Mapping[str, Any]]) -> tuple[set[int], set[int]]:
    """Product and supplier ids a stored decision mentions, to load their names in one query each."""
    products: set[int] = set()
    suppliers: set[int] = set()
    for line in lines:
        if line.get("product_id") is not None:
            products.add(int(line["product_id"]))
        for reason in line.get("reasons") or ():
            for key in ("product", "for_product"):
                value = (reason.get("params") or {}).get(key)
                if value and str(value).isdigit():
                    products.add(int(value))
        for verdict in [line, *(line.get("considered") or ())]:
            if verdict.get("supplier_id") is not None:
                suppliers.add(int(verdict["supplier_id"]))
    return products, suppliers


def decision_lines(
    lines: list[Mapping[str, Any]], *, names: Names, listing_skus: Mapping[int, str] | None = None
) -> list[LineView]:
    """The lines of a stored decision (see RoutingDecision.lines) in plain words."""
    listing_skus = listing_skus or {}
    views = []
    for line in lines:
        product_id = line.get("product_id")
        routed = line.get("source_id") is not None
        supplier_id = line.get("supplier_id")
        views.append(
            LineView(
                line_id=line.get("line_id"),
                listing_sku=listing_skus.get(line.get("line_id")) or str(line.get("listing_sku") or ""),
                product=names.products.get(product_id, f"#{product_id}") if product_id is not None else "—",
                quantity=int(line.get("quantity") or 0),
                is_gift=bool(line.get("is_gift")),
                routed=routed,
                supplier=supplier_label("" if supplier_id is None else supplier_id, names) if routed else "—",
                source_id=line.get("source_id"),
                unit_cost=str(line.get("unit_cost") or ""),
                cost_currency=str(line.get("cost_currency") or ""),
                reasons=[reason_text(r, names) for r in line.get("reasons") or ()],
                considered=[
                    SourceView(
                        source_id=verdict.get("source_id"),
                        supplier=supplier_label(
                            "" if verdict.get("supplier_id") is None else verdict["supplier_id"], names
                        ),
                        chosen=bool(verdict.get("chosen")),
                        reasons=[reason_text(r, names) for r in verdict.get("reasons") or ()],
                    )
                    for verdict in line.get("considered") or ()
                ],
            )
        )
    return views


def money(value: Any) -> str:
    """A decimal string as stored in JSON, unchanged if it is not one."""
    try:
        return str(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def state_label(value: str, *, of_dispatch: bool) -> str:
    """An order or dispatch state as the status lists name it."""
    if not value:
        return "—"
    choices = Dispatch.Status if of_dispatch else Order.Status
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@dataclass
class TimelineEntry:
    at: Any
    actor: str
    subject: str  # "order" or the dispatch number
    from_label: str
    to_label: str
    reason: str


def timeline(transitions, dispatch_events=()) -> list[TimelineEntry]:
    """The order's Transition rows and its dispatches' DispatchEvent rows (dispatch selected), by time,
    as the order page shows them."""
    entries = [
        (
            t.at,
            0,
            t.pk,
            TimelineEntry(
                at=t.at,
                actor=t.actor_label,
                subject=_("Order"),
                from_label=state_label(t.from_state, of_dispatch=False),
                to_label=state_label(t.to_state, of_dispatch=False),
                reason=t.reason,
            ),
        )
        for t in transitions
    ]
    entries += [
        (
            e.at,
            1,
            e.pk,
            TimelineEntry(
                at=e.at,
                actor=e.actor_label,
                subject=_("Dispatch %(number)s") % {"number": e.dispatch.number},
                from_label=state_label(e.from_state, of_dispatch=True),
                to_label=state_label(e.to_state, of_dispatch=True),
                reason=e.reason,
            ),
        )
        for e in dispatch_events
    ]
    return [entry for *_key, entry in sorted(entries, key=lambda item: item[:3])]
