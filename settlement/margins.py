"""The margin report: what each order, product, supplier and store earned, per currency, in set-based SQL.

What the report counts (every amount in the order's currency; two currencies are never added):

- **sale** of an order line: what the buyer paid for the goods after the line's own discount and its
  apportioned share of the order discount (orders.apportionment), i.e. ``quantity × unit_price −
  line_discount − discount_share`` = ``net_amount − shipping_share``. Shipping is left out (it pays the
  carrier, not for the goods) and so is tax (``tax_total`` is charged on the order and never apportioned;
  where a channel's prices include tax, the sale includes it as the price did). Minus the line's refund
  (``ReturnRecord.amount``), taken off the goods first and at most down to zero: a refund is the line's
  whole ``net_amount`` when an order is cancelled after shipping, and the part beyond the goods paid back
  shipping, which the sale never held. Order-level refunds not recorded against a line are not in it.
- **cost** of an order line: over its dispatch lines that still stand (dispatch pending, accepted or
  shipped; rejected and cancelled ones were re-routed or intercepted and cost nothing), ``round(quantity ×
  unit_cost)``, minus, for each return against a dispatch line shipped by a supplier, ``round(min(returned,
  dispatched) × unit_cost)``: settlement/closing.py bills it exactly so (every such return is charged to
  the supplier), so the cost here is what the supplier's statements bill; a return to the own warehouse
  takes no cost back (no supplier is charged). A gift's dispatch line (or one whose order line the channel
  dropped) is a cost of its order with no sale.
- **cost unknown**: an order line with no standing dispatch line (not routed yet, held, rejected and not
  re-routed), or costed in a currency other than the order's. It is left out of every sale, cost and margin
  figure, and counted (with its sale) per currency. A line of a cancelled order with no standing dispatch
  line was never shipped nor paid for: it is not in the report at all.
- **margin** = sale − cost; **margin %** = margin / sale × 100 (none when the sale is zero).

Splitting a line between groups: a line's cost falls where its dispatch lines are (a split line has one per
supplier, a bundle one per product); its sale is shared out over the same dispatch lines, in proportion to
their quantities within a product and to each product's cost across the products of a bundle (weight =
quantity × the product's average unit cost on the line; by quantity when the line costs nothing). Shares are
whole minor units that add up to the sale exactly (cumulative rounding), so every grouping adds up to the
same totals, and the sum of the groups is the totals. A split line counts as one line in each of its groups.

Filters: the order placed in a range of days in the tenant's time zone (default: the current month), a store,
a supplier (or the own warehouse: only that supplier's parts of lines, and no unrouted line), a currency.
Groups are listed per currency (ascending), then by margin or sale in either direction, keyset-paginated.
A page (its groups and the totals) is one SQL query: one pass over the lines in scope, one sort for the
windows, one aggregate per grouping; no Python loop over lines. The export streams the same groups.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.models import Channel, Store
from core.exports import ExportTable
from core.forms import FilterDateField
from core.money import MINOR_UNITS, parse_currency, round_money
from inventory.models import Product
from orders.models import Order, OrderLine, ReturnRecord
from settlement.periods import next_month, tenant_time_zone
from suppliers.models import Dispatch, DispatchLine, Supplier

PAGE_SIZE = 50
OWN = "own"  # the supplier filter's value for the own warehouse
GROUPS = {
    "order": gettext_lazy("Orders"),
    "product": gettext_lazy("Products"),
    "supplier": gettext_lazy("Suppliers"),
    "store": gettext_lazy("Stores"),
}
SORTS = {"margin": gettext_lazy("Margin"), "sale": gettext_lazy("Sale")}


# ---------------------------------------------------------------- the filter


@dataclass(frozen=True)
class MarginFilter:
    """What one report shows: a grouping, orders placed in [start, end), and optional narrowing."""

    group: str
    placed_from: dt.date
    placed_to: dt.date
    start: dt.datetime
    end: dt.datetime
    store_id: int | None = None
    supplier: int | str | None = None  # a supplier id, OWN, or None for every supplier
    currency: str = ""
    sort: str = "margin"
    descending: bool = True

    def params(self, **changes) -> dict[str, str]:
        """The query string that gives this filter back (``changes`` override), defaults left out."""
        values = {
            "group": self.group,
            "placed_from": self.placed_from.isoformat(),
            "placed_to": self.placed_to.isoformat(),
            "store": self.store_id or "",
            "supplier": self.supplier or "",
            "currency": self.currency,
            "sort": self.sort,
            "direction": "desc" if self.descending else "asc",
            **changes,
        }
        return {key: str(value) for key, value in values.items() if value not in ("", None)}


class MarginFilterForm(forms.Form):
    group = forms.ChoiceField(label=gettext_lazy("Group by"), required=False, choices=list(GROUPS.items()))
    placed_from = FilterDateField(
        label=gettext_lazy("Placed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    placed_to = FilterDateField(
        label=gettext_lazy("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    store = forms.TypedChoiceField(label=gettext_lazy("Store"), required=False, coerce=int, empty_value=None)
    supplier = forms.ChoiceField(label=gettext_lazy("Supplier"), required=False)
    currency = forms.CharField(label=gettext_lazy("Currency"), required=False, max_length=8)
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), required=False, choices=list(SORTS.items()))
    direction = forms.ChoiceField(
        label=gettext_lazy("Order"),
        required=False,
        choices=[("desc", gettext_lazy("Highest first")), ("asc", gettext_lazy("Lowest first"))],
    )

    def __init__(self, *args, choices: tuple[list, list] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = choices or (
            [("", _("All stores")), *Store.objects.order_by("name").values_list("pk", "name")],
            [
                ("", _("All suppliers")),
                (OWN, _("Own warehouse")),
                *((str(pk), name) for pk, name in Supplier.objects.order_by("name").values_list("pk", "name")),
            ],
        )
        self.fields["store"].choices, self.fields["supplier"].choices = self.choices

    def clean_currency(self) -> str:
        text = self.cleaned_data["currency"].strip()
        try:
            return parse_currency(text) if text else ""
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_currency") from None

    def clean(self):
        data = super().clean()
        if data.get("placed_from") and data.get("placed_to") and data["placed_from"] > data["placed_to"]:
            raise ValidationError(_("“Placed from” must not be after “to”."), code="invalid_range")
        return data

    def margin_filter(self) -> MarginFilter:
        """The filter of a valid form; days default to the current month in the tenant's time zone."""
        data = self.cleaned_data
        tz = tenant_time_zone()
        month = timezone.now().astimezone(tz).date().replace(day=1)
        placed_from = data.get("placed_from") or month
        placed_to = data.get("placed_to") or max(next_month(month) - dt.timedelta(days=1), placed_from)
        supplier = data.get("supplier") or None
        return MarginFilter(
            group=data.get("group") or "order",
            placed_from=placed_from,
            placed_to=placed_to,
            start=dt.datetime.combine(placed_from, dt.time(), tzinfo=tz),
            end=dt.datetime.combine(placed_to + dt.timedelta(days=1), dt.time(), tzinfo=tz),
            store_id=data.get("store"),
            supplier=supplier if supplier in (None, OWN) else int(supplier),
            currency=data.get("currency") or "",
            sort=data.get("sort") or "margin",
            descending=data.get("direction") != "asc",
        )


def margin_filter_from(params: Mapping) -> MarginFilter:
    """The filter ``params`` (a query string's keys) describe. Raises ValidationError naming bad fields."""
    form = MarginFilterForm(params)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    return form.margin_filter()


# ---------------------------------------------------------------- the SQL

_T = {
    "order": Order._meta.db_table,
    "order_line": OrderLine._meta.db_table,
    "return": ReturnRecord._meta.db_table,
    "dispatch": Dispatch._meta.db_table,
    "dispatch_line": DispatchLine._meta.db_table,
    "supplier": Supplier._meta.db_table,
    "store": Store._meta.db_table,
    "product": Product._meta.db_table,
}
_PLACES = "COALESCE((%(minor_units)s::jsonb ->> {currency})::int, 2)"
_STANDING = ", ".join(
    f"'{status}'" for status in (Dispatch.Status.PENDING, Dispatch.Status.ACCEPTED, Dispatch.Status.SHIPPED)
)

# The facts every grouping sums, in one pass over the order lines in scope and their standing dispatch lines
# ("parts"), sorted once for the windows: per part its cost and its share of its line's sale ("known"); per
# line whose cost is unknown one row with its sale ("unknown"); a gift's part: its cost, no sale.
# A part's share of a line's sale: its line's parts laid end to end (by product, then id), each as long as
# its weight (quantity × its product's average unit cost on the line; quantity when the line costs nothing);
# a share is round(sale × end / whole) − round(sale × start / whole), in minor units, so shares add up exactly.
_BASE = """
WITH scope AS (
    SELECT o.id, o.store_id, o.currency, o.status, {places_o} AS places
    FROM {order} o
    WHERE o.placed_at >= %(start)s AND o.placed_at < %(end)s {order_filters}
),
returned AS (
    SELECT r.dispatch_line_id AS id, SUM(round(LEAST(r.quantity, dl.quantity) * dl.unit_cost, {places_dl})) AS cost
    FROM {return} r
    JOIN {dispatch_line} dl ON dl.id = r.dispatch_line_id
    JOIN {dispatch} d ON d.id = dl.dispatch_id
    JOIN scope s ON s.id = dl.order_id
    WHERE d.status = 'shipped' AND d.supplier_id IS NOT NULL
    GROUP BY r.dispatch_line_id
),
line_part AS (
    SELECT ol.id AS line_id, s.id AS order_id, s.store_id, s.currency, s.places, s.status,
           ol.net_amount - ol.shipping_share - LEAST(COALESCE(r.amount, 0), ol.net_amount - ol.shipping_share) AS sale,
           p.id, p.product_id, p.supplier_id, p.quantity, p.cost,
           COUNT(p.id) OVER line AS parts,
           bool_and(p.cost_currency = s.currency) OVER line AS line_same_currency,
           bool_or({supplier_p}) OVER line AS line_of_supplier,
           MIN(p.id) OVER line AS line_first,
           MIN(p.id) FILTER (WHERE {supplier_p}) OVER line AS first_in_line,
           MIN(p.id) FILTER (WHERE {supplier_p}) OVER {group_window} AS first_in_group,
           SUM(p.gross_cost) OVER line AS line_cost, SUM(p.quantity) OVER line AS line_quantity,
           SUM(p.gross_cost) OVER product AS product_cost, SUM(p.quantity) OVER product AS product_quantity,
           SUM(p.gross_cost) OVER through_product AS cost_through_product,
           SUM(p.quantity) OVER through_product AS quantity_through_product,
           SUM(p.quantity) OVER through_part AS quantity_through_part
    FROM {order_line} ol
    JOIN scope s ON s.id = ol.order_id
    LEFT JOIN {return} r ON r.order_line_id = ol.id
    LEFT JOIN ({part} AND dl.order_line_id IS NOT NULL) p ON p.order_line_id = ol.id
    WINDOW line AS (PARTITION BY ol.id),
           product AS (PARTITION BY ol.id, p.product_id),
           through_product AS (PARTITION BY ol.id ORDER BY p.product_id),
           through_part AS (PARTITION BY ol.id, p.product_id ORDER BY p.id)
),
laid AS (
    SELECT lp.*, sale * power(10::numeric, places) AS units,
           CASE WHEN line_cost > 0 THEN line_cost ELSE line_quantity END AS whole,
           CASE WHEN line_cost > 0
                THEN cost_through_product - product_cost + product_cost * quantity_through_part / product_quantity
                ELSE quantity_through_product - product_quantity + quantity_through_part END AS part_end,
           CASE WHEN line_cost > 0
                THEN cost_through_product - product_cost
                     + product_cost * (quantity_through_part - quantity) / product_quantity
                ELSE quantity_through_product - product_quantity + quantity_through_part - quantity END AS part_start
    FROM line_part lp
),
fact AS (
    SELECT CASE WHEN id IS NULL OR NOT line_same_currency THEN 'unknown' ELSE 'known' END AS kind, id, order_id,
           store_id, supplier_id, product_id, currency, first_in_line, first_in_group,
           CASE WHEN id IS NULL OR NOT line_same_currency THEN 0 ELSE cost END AS cost,
           CASE WHEN parts <= 1 OR NOT line_same_currency THEN sale
                ELSE round((floor(units * part_end / whole + 0.5) - floor(units * part_start / whole + 0.5))
                           / power(10::numeric, places), places) END AS sale
    FROM laid
    WHERE (id IS NOT NULL AND line_same_currency)
       OR (id IS NULL AND status <> 'cancelled' AND {no_supplier_filter})
       OR (id = line_first AND NOT line_same_currency AND line_of_supplier)
    UNION ALL
    SELECT CASE WHEN p.cost_currency = s.currency THEN 'known' ELSE 'unknown' END, p.id, s.id, s.store_id,
           p.supplier_id, p.product_id, s.currency, NULL, NULL,
           CASE WHEN p.cost_currency = s.currency THEN p.cost ELSE 0 END, 0
    FROM ({part} AND dl.order_line_id IS NULL) p
    JOIN scope s ON s.id = p.order_id
    WHERE p.cost_currency = s.currency OR {supplier_p}
)
"""
# The standing dispatch lines of the orders in scope, with their cost net of returns charged to the supplier.
_PART = """
    SELECT dl.id, dl.order_id, dl.order_line_id, dl.product_id, d.supplier_id, dl.quantity, dl.cost_currency,
           dl.quantity * dl.unit_cost AS gross_cost,
           round(dl.quantity * dl.unit_cost, {places_dl}) - COALESCE(rt.cost, 0) AS cost
    FROM {dispatch_line} dl
    JOIN {dispatch} d ON d.id = dl.dispatch_id
    LEFT JOIN returned rt ON rt.id = dl.id
    WHERE d.status IN ({standing}) AND dl.order_id IN (SELECT id FROM scope)"""

_KEYS = {
    "order": "f.order_id",
    "product": "f.product_id",
    "supplier": "COALESCE(f.supplier_id, 0)",
    "store": "f.store_id",
}
# The parts of one line that fall in one group (an order or a store holds the whole line).
_GROUP_WINDOWS = {
    "order": "line",
    "product": "product",
    "supplier": "(PARTITION BY ol.id, p.supplier_id)",
    "store": "line",
}
# Each grouping's label and detail, joined to the groups of one page (or one export) only.
_LABELS = {
    "order": ("lo.order_number", "ls.name", "JOIN {order} lo ON lo.id = g.key JOIN {store} ls ON ls.id = lo.store_id"),
    "product": ("lp.sku", "lp.name", "JOIN {product} lp ON lp.id = g.key"),
    "supplier": ("COALESCE(lsp.name, '')", "COALESCE(lsp.code, '')", "LEFT JOIN {supplier} lsp ON lsp.id = g.key"),
    "store": ("ls.name", "ls.channel", "JOIN {store} ls ON ls.id = g.key"),
}

_GROUPED = """
grouped AS (
    SELECT f.currency, {key} AS key, SUM(f.sale) AS sale, SUM(f.cost) AS cost, SUM(f.sale) - SUM(f.cost) AS margin,
           COUNT(*) FILTER (WHERE f.id = f.first_in_group) AS lines
    FROM fact f WHERE f.kind = 'known' AND {supplier_f}
    GROUP BY f.currency, {key}
)"""

_TOTALS = """
totals AS (
    SELECT f.currency, SUM(f.sale) AS sale, SUM(f.cost) AS cost, COUNT(*) FILTER (WHERE f.id = f.first_in_line) AS lines
    FROM fact f WHERE f.kind = 'known' AND {supplier_f}
    GROUP BY f.currency
),
group_counts AS (SELECT currency, COUNT(*) AS groups FROM grouped GROUP BY currency),
unknowns AS (SELECT currency, COUNT(*) AS lines, SUM(sale) AS sale FROM fact WHERE kind = 'unknown' GROUP BY currency),
total AS (
    SELECT COALESCE(t.currency, u.currency) AS currency, COALESCE(t.sale, 0) AS sale, COALESCE(t.cost, 0) AS cost,
           COALESCE(t.lines, 0) AS lines, COALESCE(gc.groups, 0) AS groups, COALESCE(u.lines, 0) AS unknown_lines,
           COALESCE(u.sale, 0) AS unknown_sale
    FROM totals t
    FULL JOIN unknowns u ON u.currency = t.currency
    LEFT JOIN group_counts gc ON gc.currency = COALESCE(t.currency, u.currency)
)"""

# One query for a page: its groups (0, their place on the page, …) and the totals (1, 0, …).
_REPORT = """
{base}, {grouped}, {totals},
page AS (
    SELECT g.*, row_number() OVER (ORDER BY {order_by}) AS place
    FROM grouped g WHERE {keyset}
    ORDER BY {order_by}
    LIMIT %(limit)s
)
SELECT 0, g.place, g.currency, g.key, g.sale, g.cost, g.lines, {label}, {detail}, 0, 0, 0
FROM page g {label_join}
UNION ALL
SELECT 1, 0, currency, NULL, sale, cost, lines, NULL, NULL, groups, unknown_lines, unknown_sale
FROM total
ORDER BY 1, 2, 3
"""

_TOTALS_ONLY = """
{base}, {grouped}, {totals}
SELECT 1, 0, currency, NULL, sale, cost, lines, NULL, NULL, groups, unknown_lines, unknown_sale FROM total ORDER BY currency
"""

_GROUPS = """
{base}, {grouped}
SELECT 0, 0, g.currency, g.key, g.sale, g.cost, g.lines, {label}, {detail}
FROM grouped g {label_join}
ORDER BY {order_by}
"""


def _supplier_predicate(flt: MarginFilter, alias: str) -> str:
    if flt.supplier is None:
        return "TRUE"
    if flt.supplier == OWN:
        return f"{alias}.supplier_id IS NULL"
    return f"{alias}.supplier_id = %(supplier)s"


def _order_by(flt: MarginFilter, *, backwards: bool = False) -> str:
    """Currency ascending, then the sort value and the key the filter's way; all reversed when ``backwards``."""
    value = "DESC" if flt.descending != backwards else "ASC"
    return f"g.currency {'DESC' if backwards else 'ASC'}, g.{flt.sort} {value}, g.key {value}"


def _sql(template: str, flt: MarginFilter, **parts: str) -> tuple[str, dict]:
    """``template`` with the facts, the groups, the totals and the filter's fragments (fixed SQL only: every
    value is a parameter), and its parameters."""
    order_filters = ""
    if flt.store_id is not None:
        order_filters += " AND o.store_id = %(store)s"
    if flt.currency:
        order_filters += " AND o.currency = %(currency)s"
    places_dl = _PLACES.format(currency="dl.cost_currency")
    base = _BASE.format(
        **_T,
        part=_PART.format(**_T, places_dl=places_dl, standing=_STANDING),
        places_o=_PLACES.format(currency="o.currency"),
        places_dl=places_dl,
        order_filters=order_filters,
        supplier_p=_supplier_predicate(flt, "p"),
        no_supplier_filter="TRUE" if flt.supplier is None else "FALSE",
        group_window=_GROUP_WINDOWS[flt.group],
    )
    fragments = {"key": _KEYS[flt.group], "supplier_f": _supplier_predicate(flt, "f")}
    label, detail, join = _LABELS[flt.group]
    sql = template.format(
        base=base,
        grouped=_GROUPED.format(**fragments),
        totals=_TOTALS.format(**fragments),
        label=label,
        detail=detail,
        label_join=join.format(**_T),
        **parts,
    )
    params = {
        "start": flt.start,
        "end": flt.end,
        "store": flt.store_id,
        "currency": flt.currency,
        "supplier": flt.supplier if isinstance(flt.supplier, int) else None,
        "minor_units": json.dumps(dict(MINOR_UNITS)),
    }
    return sql, params


# ---------------------------------------------------------------- reading


def margin_percent(margin: Decimal, sale: Decimal) -> Decimal | None:
    """margin / sale × 100 to two decimals, half-up; None for no sale."""
    if not sale:
        return None
    return (margin * 100 / sale).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class _Margin:
    """Margin and margin % of anything with a sale and a cost."""

    sale: Decimal
    cost: Decimal

    @property
    def margin(self) -> Decimal:
        return self.sale - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return margin_percent(self.margin, self.sale)


@dataclass(frozen=True)
class MarginRow(_Margin):
    """One group: an order, product, supplier (key None: the own warehouse) or store, in one currency."""

    currency: str
    key: int | None
    label: str
    detail: str
    lines: int
    sale: Decimal
    cost: Decimal


@dataclass(frozen=True)
class MarginTotal(_Margin):
    """One currency's totals (the sum of its groups), and its lines whose cost is unknown."""

    currency: str
    sale: Decimal
    cost: Decimal
    lines: int
    groups: int
    unknown_lines: int
    unknown_sale: Decimal


@dataclass
class MarginReport:
    rows: list[MarginRow]
    totals: list[MarginTotal]
    next_cursor: str | None
    prev_cursor: str | None


def _row(flt: MarginFilter, values) -> MarginRow:
    _kind, _place, currency, key, sale, cost, lines, label, detail, *_rest = values
    if flt.group == "supplier" and not key:
        key, label = None, _("Own warehouse")
    elif flt.group == "store":
        detail = str(Channel(detail).label) if detail in Channel.values else detail
    return MarginRow(
        currency=currency, key=key, label=label, detail=detail, lines=lines,
        sale=round_money(sale, currency), cost=round_money(cost, currency),
    )  # fmt: skip


def _total(values) -> MarginTotal:
    _kind, _place, currency, _key, sale, cost, lines, _label, _detail, groups, unknown_lines, unknown_sale = values
    return MarginTotal(
        currency=currency, sale=round_money(sale, currency), cost=round_money(cost, currency), lines=lines,
        groups=groups, unknown_lines=unknown_lines, unknown_sale=round_money(unknown_sale, currency),
    )  # fmt: skip


def _encode(row: MarginRow, flt: MarginFilter) -> str:
    value = row.margin if flt.sort == "margin" else row.sale
    text = json.dumps([str(value), row.currency, row.key or 0])
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode(cursor: str) -> tuple[Decimal, str, int] | None:
    """A cursor's (value, currency, key); None for one this module did not make."""
    try:
        value, currency, key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        value = Decimal(value)
        if not (value.is_finite() and isinstance(currency, str) and len(currency) == 3 and isinstance(key, int)):
            return None
        return value, currency, key
    except (ValueError, TypeError, InvalidOperation):
        return None


def margin_report(*, flt: MarginFilter, after: str = "", before: str = "", size: int = PAGE_SIZE) -> MarginReport:
    """One page of groups in the filter's order (currency, then margin or sale, then key), after or before a
    cursor of an earlier page (an unreadable cursor gives the first page), and the totals per currency of
    every group. One query."""
    key = _decode(after) if after else _decode(before) if before else None
    backwards = key is not None and not after
    keyset, cursor_params = "TRUE", {}
    if key is not None:
        # Beyond the cursor in the order read: the next currencies, or the same one and beyond (value, key).
        ahead = flt.descending == backwards
        keyset = (
            f"(g.currency {'<' if backwards else '>'} %(c_currency)s OR (g.currency = %(c_currency)s"
            f" AND (g.{flt.sort}, g.key) {'>' if ahead else '<'} (%(c_value)s, %(c_key)s)))"
        )
        cursor_params = {"c_value": key[0], "c_currency": key[1], "c_key": key[2]}
    sql, params = _sql(_REPORT, flt, keyset=keyset, order_by=_order_by(flt, backwards=backwards))
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, **cursor_params, "limit": size + 1})
        results = cursor.fetchall()
    rows = [_row(flt, values) for values in results if values[0] == 0]
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    has_next, has_prev = (True, more) if backwards else (more, key is not None)
    return MarginReport(
        rows=rows,
        totals=[_total(values) for values in results if values[0] == 1],
        next_cursor=_encode(rows[-1], flt) if rows and has_next else None,
        prev_cursor=_encode(rows[0], flt) if rows and has_prev else None,
    )


def margin_totals(*, flt: MarginFilter) -> list[MarginTotal]:
    """The totals per currency alone. One query."""
    sql, params = _sql(_TOTALS_ONLY, flt)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_total(values) for values in cursor.fetchall()]


def margin_groups_iter(*, flt: MarginFilter, chunk: int = 2000) -> Iterator[MarginRow]:
    """Every group in the filter's order, streamed from a server-side cursor (constant memory)."""
    sql, params = _sql(_GROUPS, flt, order_by=_order_by(flt))
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk):
            for values in batch:
                yield _row(flt, values)


def export_table(params: dict, count: int | None = None) -> ExportTable:
    """The report of ``params`` (the page's query string keys: group, placed_from, placed_to, store, supplier,
    currency, sort, direction) as an export: one row per group, streamed. Raises ValidationError for bad
    params. Amounts are Decimals in the row's currency; the margin % column is empty where nothing sold."""
    flt = margin_filter_from(params)
    if count is None:
        count = sum(total.groups for total in margin_totals(flt=flt))
    label, detail = {
        "order": (_("Order"), _("Store")),
        "product": (_("Product SKU"), _("Product")),
        "supplier": (_("Supplier"), _("Code")),
        "store": (_("Store"), _("Channel")),
    }[flt.group]
    columns = [_("Currency"), label, detail, _("Lines"), _("Sale"), _("Cost"), _("Margin"), _("Margin %")]
    title = _("Margins by %(group)s, %(start)s to %(end)s") % {
        "group": str(GROUPS[flt.group]).lower(),
        "start": flt.placed_from.isoformat(),
        "end": flt.placed_to.isoformat(),
    }
    rows = (
        (r.currency, r.label, r.detail, r.lines, r.sale, r.cost, r.margin, r.margin_percent)
        for r in margin_groups_iter(flt=flt)
    )
    return ExportTable(title=title, columns=columns, count=count, rows=rows)
