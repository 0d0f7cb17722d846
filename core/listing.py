"""What every list page shares: sorting by a column the page allows, links that keep the other filters, and
downloading exactly the filtered rows as CSV or XLSX.

A list view declares its sortable columns once (``Sorts``), reads the request with ``Sorts.from_query``, and
answers ``?export=csv`` / ``?export=xlsx`` with ``export_response`` over an ``ExportTable`` built from the
same filtered queryset it shows. Templates use the ``listing`` tags: ``{% sort_header %}`` for a column
heading and ``{% export_links %}`` for the two download links.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import FileResponse, HttpResponse, QueryDict, StreamingHttpResponse
from django.utils.http import content_disposition_header

from core.exports import ExportTable, stream_csv_response, write_xlsx

EXPORT_FORMATS = ("csv", "xlsx")
# Parameters that move through pages or ask for a file: never carried into a sort or export link.
PAGING_PARAMS = frozenset({"page", "after", "before", "export"})
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Sort:
    """The chosen sort: the column ``key``, its direction, and the ORM ordering (ending in a unique field)."""

    key: str
    descending: bool
    ordering: tuple[str, ...]

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key


@dataclass(frozen=True)
class Sorts:
    """The columns a list may be sorted by: key → ORM field paths (ascending), and the default ``"-key"``.

    ``Sorts({"placed": ("placed_at",), "total": ("total",)}, default="-placed")``. The ordering always ends
    in ``unique`` (the primary key unless told), in the same direction, so pages never overlap.
    """

    columns: Mapping[str, Sequence[str]]
    default: str
    unique: str = "pk"

    def parse(self, value: str | None) -> Sort:
        """The sort ``value`` asks for ("-total"); the default for anything this list does not allow."""
        value = (value or "").strip()
        key = value.removeprefix("-")
        if key not in self.columns:
            value = self.default
            key = value.removeprefix("-")
        descending = value.startswith("-")
        sign = "-" if descending else ""
        fields = [sign + name for name in self.columns[key]]
        if self.unique not in self.columns[key]:
            fields.append(sign + self.unique)
        return Sort(key=key, descending=descending, ordering=tuple(fields))

    def from_query(self, query: QueryDict) -> Sort:
        return self.parse(query.get("sort"))


def query_without(query: QueryDict, *names: str, **replace: str) -> str:
    """``query`` as a query string without paging, export and ``names``, with ``replace`` set; empty values
    dropped. For links that change one thing and keep every filter."""
    drop = PAGING_PARAMS | set(names) | set(replace)
    pairs = [(key, value) for key, values in query.lists() if key not in drop for value in values if value != ""]
    pairs.extend((key, value) for key, value in replace.items() if value != "")
    return urlencode(pairs)


def export_format(query: QueryDict) -> str | None:
    """ "csv" or "xlsx" when the request asks for a download, else None."""
    value = query.get("export")
    return value if value in EXPORT_FORMATS else None


def export_response(table: ExportTable, *, filename: str, fmt: str) -> HttpResponse:
    """``table`` as a download named ``filename`` + the format's extension.

    CSV is streamed row by row while it is sent. XLSX is written in openpyxl's write-only mode to a
    temporary file that spills to disk past a few MB, then sent in chunks: memory does not grow with rows.
    Both neutralise formula-like text (core.exports.safe_cell).
    """
    if fmt == "csv":
        return stream_csv_response(table, f"{filename}.csv")
    if fmt != "xlsx":
        raise ValueError(f"unknown export format {fmt!r}")
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # FileResponse closes it
    write_xlsx(table, spool)
    spool.seek(0)
    response: StreamingHttpResponse = FileResponse(spool, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=f"{filename}.xlsx")
    response["X-Content-Type-Options"] = "nosniff"
    return response


__all__ = ["EXPORT_FORMATS", "Sort", "Sorts", "export_format", "export_response", "query_without"]
