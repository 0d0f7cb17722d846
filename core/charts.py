"""Charts drawn on the server as SVG (pygal), each with a table of the same numbers.

A chart works with JavaScript off and under a strict Content-Security-Policy: pygal's inline ``<script>``,
``<style>`` and ``style`` attributes are taken out of the SVG (static/css/relay.css styles it: ``.chart-svg …``,
in the colours of ``CHART_STYLE``), no id is left to collide with another chart's on the page, and the SVG scales to its
box (a viewBox, no fixed width). Labels are escaped by the XML serialiser, so a store named ``<script>`` is
text. Every chart carries a ``Table`` with the same numbers for the ``<details>`` fallback under it
(templates/chart.html), and a chart with nothing to show is no chart at all but its ``empty_text``.

Titles and labels arrive translated (the caller's gettext); amounts arrive as Decimals and are shown by a
``value_format`` (``money_format(currency)`` for money: one currency per chart, never summed across).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import pygal
from django.utils.formats import number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from pygal.style import Style

from core.money import format_money

Number = int | float | Decimal
ValueFormat = Callable[[Number], str]

# The house colours (static/css/relay.css :root and .chart-svg .color-N), series by series.
PALETTE = ("#2457d6", "#1f7a4d", "#a15c00", "#c0362c", "#6d93ff", "#7a4cc2", "#0e7c86", "#667085")
FOREGROUND = "#1d2330"
MUTED = "#667085"
GUIDE = "#e3e6eb"
FONT = 'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'

CHART_STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground=FOREGROUND,
    foreground_strong=FOREGROUND,
    foreground_subtle=GUIDE,
    opacity=".9",
    opacity_hover="1",
    colors=PALETTE,
    font_family=FONT,
    label_font_size=12,
    major_label_font_size=12,
    title_font_size=16,
    legend_font_size=12,
    value_font_size=12,
)

# The viewBox: drawn at about this many CSS pixels, the text is at its intended size. A chart across the page
# (wide=True) is drawn wider, so its text is not blown up; one in half a page narrower, so it is not shrunk.
WIDTH = 560
WIDE = 1040
# The longest label drawn beside a horizontal bar, in characters.
HBAR_LABEL_CHARS = 30
HEIGHT = 300
MAX_SERIES = len(PALETTE)


@dataclass(frozen=True)
class Series:
    """One named row of values, one per label; ``links`` (optional, one per value) make bars lead somewhere."""

    title: str
    values: Sequence[Number | None]
    links: Sequence[str] = ()


@dataclass(frozen=True)
class Cell:
    text: str
    href: str = ""
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    """The chart's numbers as a table: one row per label, one column per series."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Chart:
    title: str
    svg: SafeString
    table: Table
    empty_text: str = ""
    description: str = ""
    kind: str = field(default="bar")

    @property
    def empty(self) -> bool:
        return not self.svg


def number(value: Number) -> str:
    """A count or measure as the reader's language writes it, grouped: 1,234."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return number_format(value, force_grouping=True)


def percent(value: Number) -> str:
    """A share in percent, one decimal: 87.5%."""
    return number_format(Decimal(str(value)).quantize(Decimal("0.1")), decimal_pos=1) + "%"


def money_format(currency: str) -> ValueFormat:
    """Amounts of one currency as core.money writes them (the code once, in the axis title, not on each label)."""

    def fmt(value: Number) -> str:
        return format_money(Decimal(str(value)), currency, code=False)

    return fmt


def _inline_ready(label: str) -> Callable:
    """An xml filter: pygal's tree made fit to inline in a page (no script, no inline style, no comments, no
    ids), and named for assistive technology (role img, aria-label)."""

    def apply(root):
        _strip(root)
        root.set("role", "img")
        root.set("aria-label", label)
        return root

    return apply


def _strip(root) -> None:
    for element in list(root.iter()):
        tag = element.tag if isinstance(element.tag, str) else ""
        local = tag.rsplit("}", 1)[-1]
        if not tag or local in ("script", "style"):
            parent = element.getparent() if hasattr(element, "getparent") else None
            if parent is not None:
                parent.remove(element)
            continue
        element.attrib.pop("id", None)
        # pygal hides its tooltip with style="opacity: 0"; the CSP refuses style attributes (and reports each
        # one), and relay.css hides the tooltip already.
        element.attrib.pop("style", None)
        if local == "a":
            # The table under the chart holds the same links for the keyboard; the bars are for the mouse.
            element.set("tabindex", "-1")


def _point(value: Number | None, link: str, fmt: ValueFormat) -> dict | None:
    if value is None:
        return None
    shown = fmt(value)
    point: dict = {"value": float(value), "formatter": lambda _v: shown}
    if link:
        point["xlink"] = {"href": link, "target": "_self"}
    return point


def _integer_ticks(values: list, *, stacked: bool, series: Sequence[Series], count: int) -> list[int] | None:
    """Whole-number ticks for counts (no "0.5 orders"); None for other measures (pygal picks its own)."""
    if not all(isinstance(v, int) for v in values) or any(v < 0 for v in values):
        return None
    if stacked:
        top = max(sum(s.values[i] or 0 for s in series if i < len(s.values)) for i in range(count))
    else:
        top = max(values)
    step = max(1, -(-top // 6))
    return list(range(0, top + step + 1, step)) if top % step else list(range(0, top + 1, step))


def _round_ticks(values: list, *, most: int = 5) -> list | None:
    """At most ``most`` + 1 ticks on round steps (1, 2 or 5 × 10ⁿ) from 0 past the largest value, for amounts
    (pygal's own ticks on a money axis crowd into each other); None when a value is negative."""
    numbers = [float(v) for v in values]
    if not numbers or min(numbers) < 0 or max(numbers) <= 0:
        return None
    rough = max(numbers) / most
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    count = math.ceil(max(numbers) / step)
    return [round(step * i, 10) for i in range(count + 1)]


def _table(
    *, x_title: str, labels: Sequence[str], series: Sequence[Series], fmt: ValueFormat, label_links: Sequence[str]
) -> Table:
    headers = (x_title, *(s.title for s in series))
    rows = []
    for i, label in enumerate(labels):
        cells = [Cell(text=str(label), href=label_links[i] if i < len(label_links) else "")]
        for s in series:
            value = s.values[i] if i < len(s.values) else None
            cells.append(Cell(text="—" if value is None else fmt(value), numeric=True))
        rows.append(tuple(cells))
    return Table(headers=headers, rows=tuple(rows))


def _chart(
    cls,
    *,
    kind: str,
    title: str,
    x_title: str,
    y_title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_format: ValueFormat | None,
    label_links: Sequence[str],
    empty_text: str,
    description: str,
    keep_zeros: bool,
    height: int,
    horizontal: bool = False,
    wide: bool = False,
    **config,
) -> Chart:
    fmt = value_format or number
    labels = [str(label) for label in labels]
    series = list(series)[:MAX_SERIES]
    table = _table(x_title=x_title, labels=labels, series=series, fmt=fmt, label_links=label_links)
    empty_text = empty_text or _("Nothing to show yet.")
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values or (not keep_zeros and not any(values)):
        return Chart(title=title, svg=mark_safe(""), table=table, empty_text=empty_text, kind=kind)
    chart = cls(
        style=CHART_STYLE,
        js=[],
        css=[],
        disable_xml_declaration=True,
        no_prefix=False,
        # Its size in the SVG's own width/height: the page shows it at that size at most (smaller on a narrow
        # screen), so a short chart in a wide card is not blown up to twice its text size.
        explicit_size=True,
        width=WIDE if wide else WIDTH,
        height=height,
        title=title,
        # pygal titles a horizontal chart's value axis (drawn at the bottom) x; its labels need no title there
        # (the table's first column has it) and leave the room to the labels.
        x_title=y_title if horizontal else x_title,
        y_title=None if horizontal else y_title,
        show_legend=len(series) > 1,
        legend_at_bottom=True,
        legend_at_bottom_columns=min(len(series), 4),
        truncate_legend=40,
        truncate_label=28,
        value_formatter=fmt,
        classes=["chart-svg", f"chart-{kind}"],
        margin=12,
        **config,
    )
    if ticks := _integer_ticks(values, stacked=cls is pygal.StackedBar, series=series, count=len(labels)):
        chart.y_labels = ticks
    elif horizontal and (ticks := _round_ticks(values)):
        chart.y_labels = ticks
    chart.add_xml_filter(_inline_ready(str(description or title)))
    # pygal draws a horizontal chart's first label at the bottom: reversed, the ranking reads top down.
    order = list(range(len(labels)))[::-1] if horizontal else list(range(len(labels)))
    # A horizontal chart's labels sit beside the bars: long names are cut there (the table has them whole) so
    # the bars keep the width; pygal's truncate_label does not reach that axis.
    chart.x_labels = [_cut(labels[i], HBAR_LABEL_CHARS) if horizontal else labels[i] for i in order]
    for s in series:
        values, links = list(s.values), list(s.links)
        chart.add(
            s.title,
            [_point(values[i] if i < len(values) else None, links[i] if i < len(links) else "", fmt) for i in order],
        )
    # Safe: every label went through the XML serialiser (lxml or ElementTree), which escaped it.
    svg = mark_safe(chart.render(is_unicode=True))  # noqa: S308
    return Chart(title=title, svg=svg, table=table, empty_text=empty_text, description=description, kind=kind)


def _cut(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# Many labels (30 days): only every 7th is written under its bar or point.
_EVERY_WEEK = {"show_minor_x_labels": False, "x_labels_major_every": 7}


def bar_chart(
    *,
    title: str,
    x_title: str,
    y_title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    stacked: bool = False,
    value_format: ValueFormat | None = None,
    label_links: Sequence[str] = (),
    empty_text: str = "",
    description: str = "",
    keep_zeros: bool = False,
    many_labels: bool = False,
    wide: bool = False,
) -> Chart:
    """Vertical bars, one group (or stack) per label. ``many_labels`` (e.g. 30 days) labels every 7th bar."""
    extra = {"x_label_rotation": 0, **_EVERY_WEEK} if many_labels else {}
    return _chart(
        pygal.StackedBar if stacked else pygal.Bar,
        kind="bar",
        title=title,
        x_title=x_title,
        y_title=y_title,
        labels=labels,
        series=series,
        value_format=value_format,
        label_links=label_links,
        empty_text=empty_text,
        description=description,
        keep_zeros=keep_zeros,
        height=HEIGHT,
        wide=wide,
        **extra,
    )


def line_chart(
    *,
    title: str,
    x_title: str,
    y_title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_format: ValueFormat | None = None,
    y_range: tuple[float, float] | None = None,
    empty_text: str = "",
    description: str = "",
    keep_zeros: bool = True,
    many_labels: bool = False,
) -> Chart:
    """Lines over the labels (days, months); a None value leaves a gap. Zeros are data here (0% on time)."""
    extra: dict = {"allow_interruptions": True, "dots_size": 3}
    if y_range:
        extra["range"] = y_range
    if many_labels:
        extra.update(_EVERY_WEEK)
    return _chart(
        pygal.Line,
        kind="line",
        title=title,
        x_title=x_title,
        y_title=y_title,
        labels=labels,
        series=series,
        value_format=value_format,
        label_links=(),
        empty_text=empty_text,
        description=description,
        keep_zeros=keep_zeros,
        height=HEIGHT,
        **extra,
    )


def horizontal_bar(
    *,
    title: str,
    x_title: str,
    y_title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_format: ValueFormat | None = None,
    label_links: Sequence[str] = (),
    empty_text: str = "",
    description: str = "",
) -> Chart:
    """Horizontal bars, one per label (a ranking: reasons, suppliers, products), the value printed on each.

    ``x_title`` names the labels (it heads the table's first column), ``y_title`` the measure with its unit.
    """
    rows = max(len(labels), 1)
    return _chart(
        pygal.HorizontalBar,
        kind="hbar",
        title=title,
        x_title=x_title,
        y_title=y_title,
        labels=labels,
        series=series,
        value_format=value_format,
        label_links=label_links,
        empty_text=empty_text,
        description=description,
        keep_zeros=False,
        height=min(HEIGHT + 160, 110 + 34 * rows * max(len(series), 1)),
        horizontal=True,
        print_values=True,
        print_values_position="top",
    )
