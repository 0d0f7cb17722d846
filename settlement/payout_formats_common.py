"""What every payout file reader shares: the result, the error report, and the reading of amounts, dates,
currencies and stable references from cells.

The readers themselves are settlement/payout_formats_<format>.py; settlement/payout_formats.py is the one
entry point the import service calls. Nothing here touches the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from channels.payouts import PayoutRow
from core import spreadsheets
from core.money import parse_currency, quantum
from core.spreadsheets import Cell, RowError, TableError

# Beyond this a report stops helping: the same mistake repeated down the file (as the order import does).
MAX_ERRORS = 1_000
# PayoutItem's column widths: longer text is refused rather than cut (description is cut: it is only shown).
MAX_LENGTHS = {"reference": 120, "order_number": 64, "payout_reference": 120}
DESCRIPTION_LENGTH = 300
# PayoutItem's amounts keep 4 decimals; a currency's own minor unit is stricter and is checked when known.
STORED_PLACES = 4
_EARLIEST_YEAR, _LATEST_YEAR = 1990, 2100
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's serial dates count days from this day

_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",  # Shopify: 2026-10-03 10:12:31 +0200
    "%Y-%m-%d %H:%M %z",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)
_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT|Z)$", re.IGNORECASE)
_SERIAL = re.compile(r"\d{4,6}(?:\.\d+)?")
# Digits with no grouping or strict groups of three, then an optional fraction (".5" too).
_NUMBER = re.compile(r"(?:\d+|\d{1,3}(?:,\d{3})+)(?:\.\d*)?|\.\d+")
# A currency written around the number: a 3-letter code or a symbol such as ¥ ￥ $ US$ HK$ € £ (and 元 after).
_PREFIX = re.compile(r"^(?P<code>[A-Za-z]{3}(?=[\s\d.]))?\s*(?P<symbol>[A-Za-z]{0,3}[^\w\s.,+\-()−]{1,2})?\s*")
_SUFFIX = re.compile(r"\s*(?P<code>[A-Za-z]{3}|元)$")


class CellError(ValueError):
    """A cell's value cannot be read; the message is for a person (and names the value)."""


@dataclass
class ParsedPayouts:
    """What a payout file holds. ``errors`` non-empty means the file is refused: ``rows`` is then empty, so
    nothing can be imported from half a file. ``summary`` is what the file says of itself (account, date
    range, its own totals) for the page to show; its values are str, int, Decimal or aware datetime."""

    source: str
    rows: list[PayoutRow]
    errors: list[RowError]
    currency: str = ""
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class Report:
    """Collects a file's rows and problems; ``result()`` makes the ParsedPayouts."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[PayoutRow] = []
        self.errors: list[RowError] = []
        self.summary: dict = {}
        self._seen: Counter[str] = Counter()
        self._references: set[str] = set()

    def error(self, row: int, column: str, reason: str) -> None:
        self.errors.append(RowError(row, column, reason))

    def read(self, row: int, column: str, parse: Callable[..., object], *args, **kwargs):
        """``parse(*args, **kwargs)``, or None after noting its CellError against (row, column)."""
        try:
            return parse(*args, **kwargs)
        except CellError as exc:
            self.error(row, column, str(exc))
            return None

    def stable_reference(self, prefix: str, parts: Sequence[object]) -> str:
        """A reference for a row whose file gives none: a digest of what the row says, so the same row in a
        later (overlapping) export gets the same reference and is imported once. Rows identical in every
        part are told apart by their order in the file (the second such row is "#2")."""
        key = "\x1f".join(str(part) for part in parts)
        self._seen[key] += 1
        digest = hashlib.sha256(f"{key}\x1f{self._seen[key]}".encode()).hexdigest()[:24]
        return f"{prefix}{digest}"

    def add(self, payout: PayoutRow) -> None:
        # Zeros and whole amounts written with the currency's decimals, as the parsed amounts are.
        payout = dataclasses.replace(
            payout,
            amount=with_places(payout.amount, payout.currency),
            fee=with_places(payout.fee, payout.currency),
            reference=self._unique(payout.reference, payout.kind),
        )
        for name, limit in MAX_LENGTHS.items():
            value = getattr(payout, name)
            if len(value) > limit:
                self.error(
                    payout.row or 0,
                    name,
                    _("“%(value)s” is longer than %(limit)d characters.")
                    % {"value": spreadsheets.shown(value), "limit": limit},
                )
        self.rows.append(payout)

    def _unique(self, reference: str, kind: str) -> str:
        """``reference``, told apart from an earlier row of the file with the same one (a sale and its fee under
        one transaction id): by the kind, then a counter. The file's order decides, so importing the same file
        again gives the same references; nothing is dropped as already imported."""
        if not reference:
            return reference
        candidate, count = reference, 1
        while candidate in self._references:
            count += 1
            candidate = f"{reference}:{kind}" if count == 2 else f"{reference}:{kind}#{count - 1}"
        self._references.add(candidate)
        return candidate

    def result(self, *, currency: str = "") -> ParsedPayouts:
        if len(self.rows) > spreadsheets.MAX_ROWS:
            self.error(
                0,
                "",
                _("The file has more than %(rows)s rows; split it into smaller files.")
                % {"rows": f"{spreadsheets.MAX_ROWS:,}"},
            )
        if self.errors:
            ordered = sorted(self.errors, key=lambda error: error.row)
            return ParsedPayouts(
                source=self.source,
                rows=[],
                errors=spreadsheets.listed_errors(ordered, limit=MAX_ERRORS),
                currency=currency,
                summary=self.summary,
            )
        if not currency:
            currencies = {row.currency for row in self.rows}
            currency = currencies.pop() if len(currencies) == 1 else ""
        return ParsedPayouts(source=self.source, rows=self.rows, errors=[], currency=currency, summary=self.summary)


def with_places(amount: Decimal, currency: str) -> Decimal:
    """``amount`` with ``currency``'s decimals when that changes nothing ("0" → "0.00", "1.0800" → "1.08")."""
    exact = amount.quantize(quantum(currency))
    return exact if exact == amount else amount


# ------------------------------------------------------------------ the file


def text_records(content: bytes, *, not_text: str) -> list[list[str]]:
    """A CSV file's records (each a list of cells), for readers that must see every line, '#' lines too.
    Raises TableError (``not_text`` when the bytes are no text encoding we know); the file is held to the
    limits every upload is (core.spreadsheets: size, rows counting blank ones, columns, cell length, quotes
    left open)."""
    if len(content) > spreadsheets.MAX_BYTES:
        raise TableError(
            _("The file is larger than %(mb)d MB; split it into smaller files.")
            % {"mb": spreadsheets.MAX_BYTES // (1024 * 1024)}
        )
    try:
        text = spreadsheets.decode(content)
    except TableError:
        raise TableError(not_text) from None
    if "\x00" in text:
        raise TableError(not_text)
    records = spreadsheets.text_rows(text.lstrip("\ufeff"))
    return [[str(value) for value in cells] for _number, cells in spreadsheets.bounded(records)]


def empty(content: bytes) -> bool:
    return not content.strip(b" \t\r\n\xef\xbb\xbf")


def columns_of(header: Sequence[Cell], known: Sequence[str]) -> dict[str, int]:
    """Known column name → index in ``header``, matching loosely (case, spaces, full-width brackets)."""
    wanted = {column_key(name): name for name in known}
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = wanted.get(column_key(cell)) if isinstance(cell, str) else None
        if name is not None and name not in found:
            found[name] = index
    return found


def column_key(text: str) -> str:
    text = text.translate(str.maketrans("（）：", "():")).replace("`", "")
    return spreadsheets.header_key(text).replace("_", "")


def cell(cells: Sequence[Cell], index: int | None) -> Cell:
    """The cell at ``index``, trimmed of spaces and tabs ("" past the row's end or for a missing column)."""
    if index is None or index >= len(cells):
        return ""
    value = cells[index]
    return value.strip() if isinstance(value, str) else value


def text(cells: Sequence[Cell], index: int | None) -> str:
    value = cell(cells, index)
    return value if isinstance(value, str) else spreadsheets.shown(value)


def describe(*parts: str) -> str:
    """The non-blank parts, each once, as one description cut to what PayoutItem keeps."""
    joined = " · ".join(dict.fromkeys(part for part in parts if part))
    return joined if len(joined) <= DESCRIPTION_LENGTH else joined[: DESCRIPTION_LENGTH - 1] + "…"


# ------------------------------------------------------------------ values


def parse_code(value: Cell) -> str:
    """An ISO 4217 currency code ("cny" → "CNY")."""
    if not isinstance(value, str) or not value.strip():
        raise CellError(_("A currency is required."))
    try:
        return parse_currency(value)
    except ValueError as exc:
        raise CellError(f"{exc}.") from None


def parse_amount(value: Cell, currency: str | None = None, *, blank_is_zero: bool = False) -> Decimal:
    """An amount as written: "1,234.50", "-3.10", "(3.10)" (negative), "¥12.00", "USD 5", "12.00元".

    With ``currency`` the amount may not have more decimals than the currency has ("12.345" USD), though
    trailing zeros are fine ("0.00000" CNY, as WeChat writes fees); it comes back with the currency's
    decimals. Never a float: Excel numbers arrive as the text Excel shows.
    """
    if not isinstance(value, str):
        raise CellError(_("“%(value)s” is not an amount.") % {"value": spreadsheets.shown(value)})
    raw = value.strip()
    if not raw:
        if blank_is_zero:
            return Decimal(0)
        raise CellError(_("An amount is required."))
    number, negative, code = _number_text(raw)
    if number is None or not _NUMBER.fullmatch(number):
        raise CellError(_("“%(value)s” is not an amount.") % {"value": spreadsheets.shown(raw)})
    if code and currency and code != currency:
        raise CellError(
            _("“%(value)s” is in %(code)s, not %(currency)s.")
            % {"value": spreadsheets.shown(raw), "code": code, "currency": currency}
        )
    try:
        amount = Decimal(number.replace(",", ""))
    except InvalidOperation:
        raise CellError(_("“%(value)s” is not an amount.") % {"value": spreadsheets.shown(raw)}) from None
    if negative:
        amount = -amount
    step = quantum(currency) if currency else Decimal(1).scaleb(-STORED_PLACES)
    if amount != amount.quantize(step):
        if currency:
            reason = _("“%(value)s” has more decimals than %(currency)s has.") % {
                "value": spreadsheets.shown(raw),
                "currency": currency,
            }
        else:
            reason = _("“%(value)s” has more than %(places)d decimals.") % {
                "value": spreadsheets.shown(raw),
                "places": STORED_PLACES,
            }
        raise CellError(reason)
    amount = amount.quantize(step)
    return amount if amount else abs(amount)  # no negative zero


def _number_text(raw: str) -> tuple[str | None, bool, str]:
    """The digits, whether the amount is negative, and the currency code written with it (if any)."""
    text = raw.replace("\u2212", "-").replace("\u00a0", " ").strip()
    negative = False
    if text.startswith("(") and text.endswith(")"):  # accountants' negative
        negative, text = True, text[1:-1].strip()
    if text[:1] in "+-":
        negative, text = negative ^ (text[0] == "-"), text[1:].strip()
    code = ""
    prefix = _PREFIX.match(text)
    if prefix and prefix.group(0):
        code = (prefix.group("code") or "").upper()
        text = text[prefix.end() :]
        if text[:1] in "+-":  # "¥-12.00"
            negative, text = negative ^ (text[0] == "-"), text[1:].strip()
    suffix = _SUFFIX.search(text)
    if suffix:
        code = code or ("CNY" if suffix.group("code") == "元" else suffix.group("code").upper())
        text = text[: suffix.start()]
    return (text.strip() or None), negative, code


def parse_moment(value: Cell, *, tz: dt.tzinfo, serials: bool = False) -> dt.datetime:
    """An aware moment (in UTC) from a date or date-time cell; a time without a zone is ``tz``'s clock.

    Text may be ISO 8601, "2026/11/03 10:00", "2026-11-03", "2026年11月03日 10:00:00" or Shopify's
    "2026-10-03 10:12:31 +0200"; Excel date cells arrive as datetimes, and with ``serials`` an Excel serial
    number written as a plain number ("46329.5") is a date too.
    """
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif not value.strip():
        raise CellError(_("A date is required."))
    else:
        moment = _moment_text(value.strip(), serials=serials)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    moment = moment.astimezone(dt.UTC)
    if not _EARLIEST_YEAR <= moment.year < _LATEST_YEAR:
        raise CellError(_("“%(value)s” is not a plausible date.") % {"value": spreadsheets.shown(value)})
    return moment


def _moment_text(raw: str, *, serials: bool) -> dt.datetime:
    text, utc = raw, False
    if _UTC_SUFFIX.search(text) and not text[:1].isalpha():
        text, utc = _UTC_SUFFIX.sub("", text), True
    moment: dt.datetime | None = None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        for pattern in _TIME_FORMATS:
            try:
                moment = dt.datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if moment is None and serials and _SERIAL.fullmatch(text):
        seconds = (Decimal(text) * 86_400).quantize(Decimal(1))
        moment = _EXCEL_EPOCH + dt.timedelta(seconds=int(seconds))
    if moment is None:
        raise CellError(
            _("“%(value)s” is not a date; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM.")
            % {"value": spreadsheets.shown(raw)}
        )
    if utc and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment
