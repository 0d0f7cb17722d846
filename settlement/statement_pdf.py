"""A supplier statement as a printable PDF: the merchant (tenant) and the supplier, the period, the statement's
number and state, every line (date, kind, order, dispatch, SKU, quantity, unit cost, amount, description), the
total of each kind of line and the statement's total.

A4 landscape; every page repeats the statement's number and the lines' column headings, and says "page n of
N". Chinese text prints with the system's CJK font, found and embedded as suppliers.documents does for packing
lists. Rows are drawn cell by cell rather than with fpdf2's table(), which is about six times slower on long
statements; a description too long for its column wraps, other cells are shortened with "…".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO, NamedTuple

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.exports import PROGRESS_EVERY, Progress
from core.money import format_money
from suppliers.documents import Document

_ELLIPSIS = "…"
_LINE_HEIGHT = 4.6
_FONT_SIZE = 7.5
_HEAD_FILL = (235, 235, 235)


class StatementRow(NamedTuple):
    """One statement line as every export writes it (CSV and XLSX columns in this order)."""

    date: object  # datetime.date in the tenant's time zone, or None
    kind: str
    order: str
    dispatch: str
    sku: str
    product: str
    quantity: int | None
    unit_cost: Decimal | None
    amount: Decimal
    description: str


@dataclass
class StatementPrint:
    """What the PDF prints, gathered by settlement.exports (it reads the database; this module does not)."""

    tenant_name: str
    supplier_name: str
    supplier_code: str
    period: str  # YYYY-MM
    number: str
    status: str  # the state as a person reads it
    currency: str
    total: Decimal
    totals_by_kind: Sequence[tuple[str, Decimal, int]]  # (kind as read, amount, lines)
    lines: Iterable[StatementRow]


# (heading, width in mm, right-aligned); A4 landscape less 10 mm margins is 277 mm.
def _columns() -> list[tuple[str, float, bool]]:
    return [
        (_("Date"), 19, False),
        (_("Kind"), 19, False),
        (_("Order"), 27, False),
        (_("Dispatch"), 25, False),
        (_("SKU"), 31, False),
        (_("Qty"), 11, True),
        (_("Unit cost"), 21, True),
        (_("Amount"), 24, True),
        (_("Description"), 100, False),
    ]


def _cost(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,f}"


class _StatementDocument(Document):
    def __init__(self, *, title: str, running_head: str):
        super().__init__(title=title)
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(auto=True, margin=12)
        self.running_head = running_head
        self.columns: list[tuple[str, float, bool]] | None = None  # set while the lines are printed

    def header(self) -> None:
        if self.page_no() > 1:
            self.use(8)
            self.set_text_color(110)
            self.cell(0, 5, self.text_for(self.running_head), new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0)
            self.ln(1)
        if self.columns is not None and self.page_no() > 1:
            self.column_headings()

    def footer(self) -> None:
        self.set_y(-10)
        self.use(7)
        self.set_text_color(110)
        page = _("Page %(page)s of %(pages)s") % {"page": self.page_no(), "pages": self.str_alias_nb_pages}
        self.cell(0, 5, self.text_for(page), align="R")
        self.set_text_color(0)

    def new_page(self) -> None:
        self.add_page(orientation="landscape")

    def column_headings(self) -> None:
        self.use(_FONT_SIZE)
        self.set_fill_color(*_HEAD_FILL)
        for heading, width, right in self.columns or ():
            self.cell(
                width, _LINE_HEIGHT + 1, self.text_for(heading), border="TB", fill=True, align="R" if right else "L"
            )
        self.ln(_LINE_HEIGHT + 1)

    def fit(self, text: str, width: float) -> str:
        """``text`` shortened with "…" to fit ``width`` (less the cell's margins)."""
        room = width - 2 * self.c_margin
        if self.get_string_width(text) <= room:
            return text
        while text and self.get_string_width(text + _ELLIPSIS) > room:
            text = text[:-1]
        return text + _ELLIPSIS

    def row(self, cells: Sequence[str]) -> None:
        columns = self.columns or []
        last_width = columns[-1][1]
        description = cells[-1]
        lines = [description]
        if self.get_string_width(description) > last_width - 2 * self.c_margin:
            lines = self.multi_cell(last_width, _LINE_HEIGHT, description, dry_run=True, output="LINES") or [""]
        height = _LINE_HEIGHT * len(lines)
        if self.get_y() + height > self.page_break_trigger:
            self.new_page()
        for (_heading, width, right), text in zip(columns[:-1], cells[:-1], strict=True):
            self.cell(width, height, self.fit(text, width), border="B", align="R" if right else "L")
        if len(lines) == 1:
            self.cell(last_width, height, description, border="B")
            self.ln(height)
        else:
            self.multi_cell(last_width, _LINE_HEIGHT, description, border="B", new_x="LMARGIN", new_y="NEXT")


def statement_pdf(
    statement: StatementPrint,
    fileobj: BinaryIO,
    progress: Progress | None = None,
    *,
    every: int | None = None,
) -> int:
    """Write ``statement`` as a PDF to ``fileobj``; returns how many lines it printed. ``progress(done)`` is
    called every ``every`` lines and once at the end, as core.exports' writers do."""
    every = every or PROGRESS_EVERY
    currency = statement.currency
    title = _("Statement %(number)s") % {"number": statement.number}
    pdf = _StatementDocument(
        title=title,
        running_head=f"{title} · {statement.supplier_name} · {statement.period} · {statement.tenant_name}",
    )
    pdf.new_page()
    pdf.missing_font_note()
    pdf.line_of(title, size=16, height=8)
    pdf.line_of(statement.tenant_name, size=11, height=6)
    pdf.ln(1)
    facts = (
        (_("Supplier"), f"{statement.supplier_name} ({statement.supplier_code})"),
        (_("Period"), statement.period),
        (_("Statement number"), statement.number),
        (_("Status"), statement.status),
        (_("Currency"), currency),
        (_("Total"), format_money(statement.total, currency)),
        (_("Printed"), timezone.localtime().strftime("%Y-%m-%d %H:%M")),
    )
    for label, value in facts:
        pdf.line_of(f"{label}: {value}", size=9, height=5)
    pdf.ln(3)

    pdf.columns = _columns()
    pdf.column_headings()
    pdf.use(_FONT_SIZE)
    text = pdf.text_for
    done = 0
    for line in statement.lines:
        pdf.row(
            (
                "" if line.date is None else line.date.isoformat(),
                text(line.kind),
                text(line.order),
                text(line.dispatch),
                text(line.sku),
                "" if line.quantity is None else str(line.quantity),
                _cost(line.unit_cost),
                f"{line.amount:,f}",
                text(line.description),
            )
        )
        done += 1
        if progress is not None and done % every == 0:
            progress(done)
    if not done:
        pdf.line_of(_("No lines."), size=9)
    pdf.columns = None

    pdf.ln(4)
    if pdf.get_y() + 6 * (len(statement.totals_by_kind) + 2) > pdf.page_break_trigger:
        pdf.new_page()
    pdf.use(9)
    for label, amount, count in statement.totals_by_kind:
        pdf.cell(
            80,
            6,
            text(
                ngettext("%(kind)s (%(count)s line)", "%(kind)s (%(count)s lines)", count)
                % {"kind": label, "count": count}
            ),
        )
        pdf.cell(50, 6, text(format_money(amount, currency)), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.use(11)
    pdf.cell(80, 7, text(_("Total")), border="T")
    pdf.cell(50, 7, text(format_money(statement.total, currency)), border="T", align="R", new_x="LMARGIN", new_y="NEXT")
    fileobj.write(bytes(pdf.output()))
    if progress is not None:
        progress(done)
    return done
