"""Payout files read into PayoutRows: what a channel or payment provider says it paid, before anything is stored.

One entry point per step of an import: ``detect_source`` guesses the format of an uploaded file,
``generic_header`` lists a generic file's columns for the mapping step, ``parse_payouts`` reads a file of a
given format. The readers are pure (bytes in, rows and errors out; no database), one module per format:

- shopify_csv — Shopify Payments payment transactions CSV and payouts CSV (settlement/payout_formats_shopify.py)
- alipay — 支付宝账务明细, GBK CSV with '#' header and footer lines (settlement/payout_formats_alipay.py)
- wechat — 微信支付账单 (ALL), backtick-prefixed values and a summary (settlement/payout_formats_wechat.py)
- generic — any CSV or XLSX through a per-store column mapping (settlement/payout_formats_generic.py)

Conventions shared by every reader (channels.payouts.PayoutRow): ``amount`` is gross and signed (charge +,
refund / chargeback / transfer to the bank −); ``fee`` is what the provider kept (negative when given back);
a standalone fee row is kind "fee" with amount 0 and the fee in ``fee``, so an order's amounts add up to what
it received and its fees to what they cost. ``reference`` is the provider's id for the movement; where a file
has none (Shopify's CSVs, generic files without a reference column) it is a digest of the row, so the same row
in a later, overlapping file is imported once; a reference a file gives twice is told apart by the kind (then
a counter), so nothing is dropped. ``row`` is the row as the spreadsheet shows it (header = 1).
Every row is checked and every problem reported (capped at MAX_ERRORS plus a line saying how many more);
a file with any problem yields no rows at all.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core import spreadsheets
from core.spreadsheets import TableError
from settlement import payout_formats_alipay as alipay
from settlement import payout_formats_generic as generic
from settlement import payout_formats_shopify as shopify
from settlement import payout_formats_wechat as wechat
from settlement.models import PayoutSource
from settlement.payout_formats_common import MAX_ERRORS, ParsedPayouts, empty
from settlement.payout_formats_generic import MAPPING_FIELDS, REQUIRED_MAPPING, field_labels

__all__ = [
    "MAPPING_FIELDS",
    "MAX_ERRORS",
    "REQUIRED_MAPPING",
    "ParsedPayouts",
    "detect_source",
    "field_labels",
    "generic_header",
    "parse_payouts",
]

FILE_SOURCES = (PayoutSource.SHOPIFY_CSV, PayoutSource.ALIPAY, PayoutSource.WECHAT, PayoutSource.GENERIC)
_HEAD_BYTES = 64 * 1024


def detect_source(*, content: bytes, file_name: str) -> str | None:
    """The format ``content`` most likely is (a PayoutSource value): Alipay and WeChat by their layout, Shopify
    by its header, "generic" for any other readable table with at least two columns, None for anything else
    (empty, not a table, an old .xls)."""
    if empty(content):
        return None
    if not content.startswith(b"PK"):
        head = _text_head(content)
        if head is None or alipay.looks_like(head) or wechat.looks_like(head):
            return _by_layout(head)
    try:
        header, _rows = spreadsheets.read_table(content=content, filename=file_name)
    except TableError:
        return None
    if shopify.layout_of(header) is not None:
        return PayoutSource.SHOPIFY_CSV.value
    columns = sum(1 for value in header if not spreadsheets.blank(value))
    return PayoutSource.GENERIC.value if columns >= 2 else None


def _by_layout(head: str | None) -> str | None:
    if head is not None and alipay.looks_like(head):
        return PayoutSource.ALIPAY.value
    if head is not None and wechat.looks_like(head):
        return PayoutSource.WECHAT.value
    return None


def _text_head(content: bytes) -> str | None:
    """The first lines of a text file, or None when it is not text we can read."""
    head = content[:_HEAD_BYTES]
    if len(content) > _HEAD_BYTES:
        head = head[: head.rfind(b"\n") + 1] or head  # never cut a character in two
    try:
        text = spreadsheets.decode(head)
    except TableError:
        return None
    return None if "\x00" in text else text.lstrip("\ufeff")


def generic_header(*, content: bytes, file_name: str) -> list[str]:
    """The column names of a CSV or XLSX file's header row (blank ones left out), for the mapping step.
    Raises ValidationError saying why the file cannot be read (empty, old .xls, damaged, unknown encoding)."""
    try:
        names = generic.header_names(content=content, file_name=file_name)
    except TableError as exc:
        raise ValidationError(str(exc), code="unreadable") from None
    if not names:
        raise ValidationError(_("The file's first row is empty: it must be the header."), code="no_header")
    return names


def parse_payouts(
    *,
    source: str,
    content: bytes,
    file_name: str,
    tz: zoneinfo.ZoneInfo,
    mapping: Mapping[str, str] | None = None,
    default_currency: str = "",
) -> ParsedPayouts:
    """Reads ``content`` as a ``source`` file. Never raises for what the file holds: every problem is a
    RowError in ``errors`` (row 0 for the whole file), and then ``rows`` is empty. ``tz`` is the clock of
    times written without a zone (Shopify's dates carry their own; Alipay and WeChat are China time);
    ``mapping`` and ``default_currency`` are for "generic" only. Raises ValueError for a source that is not
    a file format (e.g. "shopify_api")."""
    if source == PayoutSource.SHOPIFY_CSV:
        return shopify.parse(content=content, file_name=file_name, tz=tz)
    if source == PayoutSource.ALIPAY:
        return alipay.parse(content=content)
    if source == PayoutSource.WECHAT:
        return wechat.parse(content=content)
    if source == PayoutSource.GENERIC:
        return generic.parse(
            content=content, file_name=file_name, tz=tz, mapping=mapping, default_currency=default_currency
        )
    raise ValueError(f"{source!r} is not a payout file format; use one of {', '.join(FILE_SOURCES)}")
