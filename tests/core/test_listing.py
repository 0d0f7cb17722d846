"""core.listing: sorting a list only by the columns it allows, links that keep filters, and exports."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.http import QueryDict
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone, translation

from channels.models import Store
from core.exports import ExportTable
from core.listing import Sorts, export_format, export_response, query_without
from tests.conftest import in_tenant

SORTS = Sorts({"placed": ("placed_at",), "total": ("total", "currency")}, default="-placed")


def test_a_sort_the_list_allows_orders_by_its_fields_then_the_key_in_the_same_direction():
    sort = SORTS.parse("-total")
    assert (sort.key, sort.descending, sort.ordering) == ("total", True, ("-total", "-currency", "-pk"))
    assert SORTS.parse("placed").ordering == ("placed_at", "pk")


@pytest.mark.parametrize("asked", ["", None, "password", "-pk; drop table", "--total"])
def test_anything_else_falls_back_to_the_default(asked):
    sort = SORTS.parse(asked)
    assert (sort.param, sort.ordering) == ("-placed", ("-placed_at", "-pk"))


def test_links_keep_the_filters_but_drop_paging_and_export():
    query = QueryDict("store=3&q=a%26b&after=XYZ&page=4&export=csv&status=held&status=routed&empty=")
    assert query_without(query, sort="-total") == "store=3&q=a%26b&status=held&status=routed&sort=-total"
    assert query_without(query, "status") == "store=3&q=a%26b"


def test_export_format_accepts_only_csv_and_xlsx():
    assert export_format(QueryDict("export=xlsx")) == "xlsx"
    assert export_format(QueryDict("export=csv")) == "csv"
    assert export_format(QueryDict("export=exe")) is None
    assert export_format(QueryDict("")) is None


def _table():
    return ExportTable(
        title="Orders", columns=["Order", "Total"], count=2,
        rows=iter([["=HYPERLINK(\"x\")", Decimal("1.50")], ["#1002", Decimal("20.00")]]), currency="USD",
    )  # fmt: skip


def test_csv_export_streams_the_rows_with_formulas_neutralised():
    response = export_response(_table(), filename="orders", fmt="csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    assert body.splitlines() == ["Order,Total", '"\'=HYPERLINK(""x"")",1.50', "#1002,20.00"]


def test_xlsx_export_holds_numbers_as_numbers_and_text_as_text():
    response = export_response(_table(), filename="订单", fmt="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows == [("Order", "Total"), ('\'=HYPERLINK("x")', 1.5), ("#1002", 20)]
    assert "filename*=utf-8''%E8%AE%A2%E5%8D%95.xlsx" in response["Content-Disposition"]


def test_sort_header_links_to_the_other_direction_and_marks_the_current_column():
    request = RequestFactory().get("/orders/", {"store": "3", "sort": "total", "after": "X"})
    template = Template("{% load listing %}{% sort_header 'total' 'Total' %}|{% sort_header 'placed' 'Placed' %}"
                        "|{% sort_state 'total' %}|{% sort_state 'placed' %}")  # fmt: skip
    html = template.render(Context({"request": request, "sort": SORTS.from_query(request.GET)}))
    total, placed, total_state, placed_state = html.split("|")
    assert 'href="?store=3&amp;sort=-total"' in total and "sort-active" in total
    assert 'href="?store=3&amp;sort=placed"' in placed and "sort-active" not in placed
    assert (total_state, placed_state) == ("ascending", "none")


def test_export_links_keep_the_filters_and_the_sort():
    request = RequestFactory().get("/orders/", {"store": "3", "sort": "-total", "before": "X"})
    html = Template("{% load listing %}{% export_links 7 %}").render(Context({"request": request}))
    assert 'href="?store=3&amp;sort=-total&amp;export=csv"' in html
    assert 'href="?store=3&amp;sort=-total&amp;export=xlsx"' in html


def test_the_pager_keeps_the_filters_and_names_its_page_parameter():
    request = RequestFactory().get("/x/", {"store": "3", "page": "2", "sort": "-total"})
    page = type("Page", (), {"has_other_pages": True, "has_previous": True, "has_next": True,
                             "previous_page_number": 1, "next_page_number": 3, "number": 2,
                             "paginator": type("P", (), {"num_pages": 5})})()  # fmt: skip
    html = Template('{% include "pager.html" %}').render(Context({"request": request, "page": page}))
    assert 'href="?store=3&amp;sort=-total&amp;page=1"' in html
    assert 'href="?store=3&amp;sort=-total&amp;page=3"' in html
    html = Template('{% include "pager.html" with param="runs" %}').render(Context({"request": request, "page": page}))
    assert 'href="?store=3&amp;sort=-total&amp;runs=3"' in html  # another list's page starts again


def test_a_streamed_export_writes_times_in_the_zone_current_when_the_table_was_made():
    moment = dt.datetime(2026, 11, 3, 12, 0, tzinfo=dt.UTC)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        table = ExportTable(title="Orders", columns=["Placed"], count=1, rows=iter([[moment]]))
    # The response is sent after the request's middleware has put the zone back.
    body = b"".join(export_response(table, filename="o", fmt="csv").streaming_content).decode("utf-8-sig")
    assert body.splitlines() == ["Placed", "2026-11-03 20:00:00"]
    assert timezone.get_current_timezone_name() == "UTC"


def _schema_rows():
    yield [connection.schema_name, translation.get_language(), Store.objects.count()]


def test_a_streamed_export_reads_its_rows_in_the_tenant_schema_it_was_asked_in(tenant_a, store):
    # The middleware puts the connection back on the public schema before the server sends the body.
    with in_tenant(tenant_a), translation.override("zh-hans"):
        table = ExportTable(title="t", columns=["schema", "language", "stores"], count=1, rows=_schema_rows())
    connection.set_schema_to_public()

    body = b"".join(export_response(table, filename="t", fmt="csv").streaming_content).decode("utf-8-sig")

    assert body.splitlines()[1] == f"{tenant_a.schema_name},zh-hans,1"
    assert connection.schema_name == "public"
    assert translation.get_language() != "zh-hans"
