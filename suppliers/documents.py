"""Packing lists and picking lists for a selection of a supplier's dispatches: their data, and a PDF.

A packing list goes in the box: per dispatch its number, ship-to address,
order numbers and lines (SKU, product name, quantity), never a price. A
picking list is for the warehouse: the selection's units summed per product,
with the dispatches that need them.

The PDF (fpdf2) embeds a CJK font that the operating system provides
(Debian's fonts-noto-cjk), found through fontconfig or at the known paths;
fonts are never copied into the repository. Without one the PDF still prints
Latin text with a core font, Chinese characters become "?", and
``cjk_font_missing_note`` tells the person what to install.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from suppliers.models import Dispatch, DispatchLine, Supplier

logger = logging.getLogger(__name__)

KINDS = ("packing", "picking")
MAX_DISPATCHES = 500  # one selection

# Where Debian and other distributions put a CJK font, with the face of a collection to use (Simplified Chinese).
KNOWN_CJK_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
_FONT_SUFFIXES = (".ttf", ".otf", ".ttc")


# ------------------------------------------------------------------ the data


@dataclass(frozen=True)
class DocumentLine:
    sku: str
    name: str
    quantity: int
    gift: bool = False


@dataclass
class PackingSlip:
    """One dispatch as its packing list shows it."""

    number: str
    ship_to: dict
    buyer_name: str
    order_numbers: list[str] = field(default_factory=list)
    lines: list[DocumentLine] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def address_lines(self) -> list[str]:
        return address_lines(self.ship_to)


@dataclass
class PickLine:
    """One product of a picking list: its units over the selection and the dispatches that take them."""

    sku: str
    name: str
    quantity: int
    dispatches: list[str] = field(default_factory=list)


def address_lines(ship_to: dict) -> list[str]:
    """A ship-to snapshot as the lines of a label: street lines, then district, city, province and postal code."""
    get = lambda key: str(ship_to.get(key) or "").strip()  # noqa: E731
    place = " ".join(part for part in (get("district"), get("city"), get("province"), get("postal_code")) if part)
    return [line for line in (get("line1"), get("line2"), place, get("country")) if line]


def _lines_of(dispatch_ids: Sequence[int]) -> list[tuple]:
    return list(
        DispatchLine.objects.filter(dispatch_id__in=dispatch_ids)
        .order_by("dispatch_id", "pk")
        .values_list("dispatch_id", "product__sku", "product__name", "quantity", "is_gift", "order__order_number")
    )


def packing_slips(*, dispatches: Sequence[Dispatch]) -> list[PackingSlip]:
    """The packing list of each dispatch (already scoped to one supplier), in the order given. One query."""
    slips = {
        d.pk: PackingSlip(number=d.number, ship_to=dict(d.ship_to or {}), buyer_name=d.buyer_name) for d in dispatches
    }
    units: dict[int, dict[tuple[str, bool], list]] = defaultdict(dict)
    for dispatch_id, sku, name, quantity, gift, order_number in _lines_of(list(slips)):
        slip = slips[dispatch_id]
        if order_number not in slip.order_numbers:
            slip.order_numbers.append(order_number)
        # Lines of one product (merged orders) are one line of the list.
        held = units[dispatch_id].setdefault((sku, gift), [sku, name, 0, gift])
        held[2] += quantity
    for dispatch_id, slip in slips.items():
        slip.lines = [DocumentLine(*values) for values in units[dispatch_id].values()]
    return list(slips.values())


def picking_list(*, dispatches: Sequence[Dispatch]) -> list[PickLine]:
    """The units of these dispatches (already scoped to one supplier) summed per product, by SKU. One query."""
    numbers = {d.pk: d.number for d in dispatches}
    picks: dict[str, PickLine] = {}
    for dispatch_id, sku, name, quantity, _gift, _order in _lines_of(list(numbers)):
        pick = picks.setdefault(sku, PickLine(sku=sku, name=name, quantity=0))
        pick.quantity += quantity
        if numbers[dispatch_id] not in pick.dispatches:
            pick.dispatches.append(numbers[dispatch_id])
    return [picks[sku] for sku in sorted(picks)]


def selection_ids(values: Iterable[str]) -> list[int]:
    """Dispatch ids from a form or query string: repeated values and comma-separated lists, bad values ignored."""
    ids: list[int] = []
    for value in values:
        for raw in str(value).split(","):
            part = raw.strip()
            if part.isdigit() and len(part) < 12:
                ids.append(int(part))
    return list(dict.fromkeys(ids))


# ------------------------------------------------------------------ the font


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0  # the face within a font collection (.ttc)


def _fontconfig_cjk() -> FontFile | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listing = subprocess.run(
            [fc_list, ":lang=zh-cn", "--format", "%{file}|%{index}|%{family[0]}|%{style[0]}\n"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    candidates = []
    for row in listing.splitlines():
        path, _sep, rest = row.partition("|")
        index, _sep, rest = rest.partition("|")
        family, _sep, style = rest.partition("|")
        if not path.lower().endswith(_FONT_SUFFIXES) or not index.isdigit():
            continue
        # Simplified Chinese sans first, regular weight first.
        rank = (
            "cjk sc" not in family.lower() and "sc" not in family.lower().split(),
            "mono" in family.lower(),
            style.lower() not in ("regular", "book", ""),
            path,
        )
        candidates.append((rank, FontFile(path, int(index))))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


@cache
def cjk_font() -> FontFile | None:
    """A CJK-capable font of the system (fontconfig first, then known paths), or None. Looked up once per process."""
    found = _fontconfig_cjk()
    if found is None:
        found = next((FontFile(path, index) for path, index in KNOWN_CJK_FONTS if Path(path).is_file()), None)
    if found is None:
        logger.warning("no CJK font found: PDFs print Chinese text as '?'; install fonts-noto-cjk")
    return found


def cjk_font_missing_note() -> str:
    """What the page tells the person when PDFs cannot print Chinese text; "" when they can."""
    if cjk_font() is not None:
        return ""
    return _(
        "The server has no Chinese font, so Chinese text prints as '?' in PDFs. "
        "Ask your administrator to install the fonts-noto-cjk package."
    )


# ------------------------------------------------------------------ the PDF


class Document(FPDF):
    def __init__(self, *, title: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(title)
        self.set_creator("Relay")
        font = cjk_font()
        self._unicode = font is not None
        if font is not None:
            self.add_font("cjk", fname=font.path, collection_font_number=font.index)
            self._face = "cjk"
        else:
            self._face = "helvetica"

    def text_for(self, value: object) -> str:
        text = str(value)
        # A core font holds Latin-1 only: what it cannot print becomes "?", the rest stays readable.
        return text if self._unicode else text.encode("latin-1", "replace").decode("latin-1")

    def use(self, size: float) -> None:
        self.set_font(self._face, size=size)

    def line_of(self, text: str, *, size: float = 10, height: float = 5) -> None:
        self.use(size)
        self.multi_cell(0, height, self.text_for(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table_of(self, head: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[int]) -> None:
        self.use(9)
        # Headings shaded, not bold: the system font is one regular face.
        headings = FontFace(emphasis=None, fill_color=(235, 235, 235))
        with self.table(col_widths=widths, text_align="LEFT", line_height=5.5, headings_style=headings) as table:
            header = table.row()
            for cell in head:
                header.cell(self.text_for(cell))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(self.text_for(value))

    def missing_font_note(self) -> None:
        if not self._unicode:
            self.line_of(cjk_font_missing_note(), size=8)
            self.ln(2)


def _printed_at() -> str:
    return timezone.localtime().strftime("%Y-%m-%d %H:%M")


def packing_pdf(*, supplier: Supplier, slips: Sequence[PackingSlip]) -> bytes:
    """The packing lists as a PDF: one page (or more) per dispatch, for the box."""
    pdf = Document(title=_("Packing list"))
    for slip in slips:
        pdf.add_page()
        pdf.missing_font_note()
        pdf.line_of(f"{_('Packing list')} · {slip.number}", size=16, height=8)
        pdf.line_of(f"{supplier.name} · {_printed_at()}", size=9)
        pdf.ln(3)
        pdf.line_of(_("Ship to"), size=11, height=6)
        recipient = " · ".join(
            part for part in (slip.ship_to.get("name") or slip.buyer_name, slip.ship_to.get("phone")) if part
        )
        for text in (recipient, *slip.address_lines):
            pdf.line_of(text, size=10)
        pdf.ln(3)
        pdf.line_of(f"{_('Orders')}: {', '.join(slip.order_numbers)}", size=10)
        pdf.ln(2)
        pdf.table_of(
            (_("SKU"), _("Product"), _("Quantity")),
            (
                (line.sku, f"{line.name} ({_('gift')})" if line.gift else line.name, line.quantity)
                for line in slip.lines
            ),
            (35, 125, 20),
        )
        pdf.ln(2)
        pdf.line_of(f"{_('Units')}: {slip.units}", size=10)
    return bytes(pdf.output())


def picking_pdf(*, supplier: Supplier, picks: Sequence[PickLine], dispatch_count: int) -> bytes:
    """The picking list as a PDF: one table, a row per product."""
    pdf = Document(title=_("Picking list"))
    pdf.add_page()
    pdf.missing_font_note()
    pdf.line_of(_("Picking list"), size=16, height=8)
    pdf.line_of(
        f"{supplier.name} · {_printed_at()} · "
        + _("%(count)d dispatches, %(units)d units")
        % {"count": dispatch_count, "units": sum(p.quantity for p in picks)},
        size=9,
    )
    pdf.ln(3)
    pdf.table_of(
        (_("SKU"), _("Product"), _("Quantity"), _("Dispatches")),
        ((pick.sku, pick.name, pick.quantity, ", ".join(pick.dispatches)) for pick in picks),
        (30, 70, 18, 62),
    )
    return bytes(pdf.output())


__all__ = [
    "KINDS",
    "MAX_DISPATCHES",
    "Document",
    "DocumentLine",
    "FontFile",
    "PackingSlip",
    "PickLine",
    "address_lines",
    "cjk_font",
    "cjk_font_missing_note",
    "packing_pdf",
    "packing_slips",
    "picking_list",
    "picking_pdf",
    "selection_ids",
]
