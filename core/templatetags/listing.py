"""List pages: sortable column headings and export links that keep the filters (core.listing)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core.listing import query_without

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str, sort=None):
    """A column heading that sorts by ``key``: ascending first, then the other way; marks the current sort.

    ``sort`` is the view's ``Sort`` (default: ``sort`` in the context). Renders the link only; put it in a
    ``<th>`` with ``aria-sort`` from ``{% sort_state %}`` when wanted.
    """
    sort = sort if sort is not None else context.get("sort")
    request = context["request"]
    current = sort is not None and sort.key == key
    descending = bool(current and sort.descending)
    target = key if (current and descending) or not current else "-" + key
    if current:
        arrow = "▼" if descending else "▲"
        state = _("sorted descending") if descending else _("sorted ascending")
        return format_html(
            '<a class="sort sort-active" href="?{}">{} <span aria-hidden="true">{}</span>'
            '<span class="visually-hidden"> ({})</span></a>',
            query_without(request.GET, sort=target), label, arrow, state,
        )  # fmt: skip
    return format_html('<a class="sort" href="?{}">{}</a>', query_without(request.GET, sort=target), label)


@register.simple_tag(takes_context=True)
def sort_state(context, key: str, sort=None) -> str:
    """ "ascending" / "descending" for the column sorted now, "none" otherwise (for ``aria-sort``)."""
    sort = sort if sort is not None else context.get("sort")
    if sort is None or sort.key != key:
        return "none"
    return "descending" if sort.descending else "ascending"


@register.inclusion_tag("list_export.html", takes_context=True)
def export_links(context, count=None):
    """The CSV and XLSX download links for what the list shows now (every filter and the sort kept)."""
    request = context["request"]
    return {
        "csv_query": query_without(request.GET, export="csv"),
        "xlsx_query": query_without(request.GET, export="xlsx"),
        "count": count,
    }


@register.simple_tag(takes_context=True)
def query_with(context, **replace) -> str:
    """The current query string with ``replace`` set and paging dropped (for filter chips and tabs)."""
    return query_without(context["request"].GET, **{key: str(value) for key, value in replace.items()})


@register.simple_tag(takes_context=True)
def page_query(context, param: str, number) -> str:
    """The current query string on page ``number`` (``param`` names the page parameter), filters kept."""
    query = context["request"].GET
    return query_without(query, param, **{param: str(number)})
