"""core.charts: SVG drawn on the server, fit to inline under a strict CSP, escaped, with a table of the same numbers."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from django.template.loader import render_to_string

from core.charts import PALETTE, Series, bar_chart, horizontal_bar, line_chart, money_format, percent

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "relay.css"
HOSTILE = "<script>alert(1)</script> & Co"


def test_a_bar_chart_is_an_accessible_svg_without_script_style_or_ids():
    chart = bar_chart(
        title="Orders per day", x_title="Day", y_title="orders per day",
        labels=["11-01", "11-02"], series=[Series(title="Shop", values=[3, 1])],
    )  # fmt: skip

    svg = str(chart.svg)
    assert svg.startswith("<svg")
    assert 'role="img"' in svg and 'aria-label="Orders per day"' in svg
    assert "<title>Orders per day</title>" in svg
    # its own size as the most it is shown at (a narrow screen scales it down with the viewBox)
    assert 'viewBox="0 0 560 300"' in svg and 'width="560"' in svg.split(">", 1)[0]
    assert "<script" not in svg and "<style" not in svg and " id=" not in svg and "<!--" not in svg
    assert "<?xml" not in svg
    assert "orders per day" in svg and "Day" in svg  # axis titles


def test_labels_and_series_names_are_escaped_in_the_svg_and_the_table():
    chart = horizontal_bar(
        title=f"Top {HOSTILE}", x_title="Store", y_title="orders",
        labels=[HOSTILE], series=[Series(title=HOSTILE, values=[4], links=["/orders/?a=1&b=2"])],
    )  # fmt: skip

    svg = str(chart.svg)
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in svg
    assert 'href="/orders/?a=1&amp;b=2"' in svg
    html = render_to_string("chart.html", {"chart": chart})
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co") >= 2  # the svg and the table


def test_the_table_holds_the_same_numbers_as_the_chart():
    chart = bar_chart(
        title="Orders", x_title="Day", y_title="orders per day", labels=["11-01", "11-02", "11-03"],
        series=[Series(title="A", values=[3, 0, 1]), Series(title="B", values=[1, 2, None])], stacked=True,
    )  # fmt: skip

    assert chart.table.headers == ("Day", "A", "B")
    assert [[c.text for c in row] for row in chart.table.rows] == [
        ["11-01", "3", "1"],
        ["11-02", "0", "2"],
        ["11-03", "1", "—"],
    ]
    html = render_to_string("chart.html", {"chart": chart})
    assert "<details" in html and "<summary>" in html
    assert re.search(r'<th scope="row">11-01</th><td class="num">3</td><td class="num">1</td>', html)


def test_money_goes_through_the_money_module_per_currency():
    chart = horizontal_bar(
        title="Margin", x_title="Store", y_title="margin (JPY)", labels=["Tokyo"],
        series=[Series(title="Margin", values=[Decimal("1234")])], value_format=money_format("JPY"),
    )  # fmt: skip
    usd = money_format("USD")

    assert chart.table.rows[0][1].text == "1,234"
    assert usd(Decimal("1234.5")) == "1,234.50"
    assert percent(Decimal("87.5")) == "87.5%"


def test_nothing_to_show_gives_the_empty_text_and_no_svg():
    empty = bar_chart(
        title="Orders", x_title="Day", y_title="orders", labels=["11-01"], series=[Series(title="A", values=[0])],
        empty_text="No orders yet.",
    )  # fmt: skip
    no_labels = line_chart(title="On time", x_title="Month", y_title="%", labels=[], series=[])

    assert empty.empty and no_labels.empty
    html = render_to_string("chart.html", {"chart": empty})
    assert "No orders yet." in html and "<svg" not in html and "<details" not in html


def test_a_line_of_zeros_is_data_not_an_empty_chart():
    chart = line_chart(
        title="On time", x_title="Month", y_title="%", labels=["2026-10", "2026-11"],
        series=[Series(title="On time", values=[None, 0])], value_format=percent,
    )  # fmt: skip

    assert not chart.empty
    assert [c.text for c in chart.table.rows[1]] == ["2026-11", "0.0%"]


def test_the_stylesheet_colours_every_series_in_the_palette_order():
    css = CSS.read_text()

    for n, colour in enumerate(PALETTE):
        assert f".chart-svg .color-{n} {{ stroke: {colour}; fill: {colour}; }}" in css


def test_a_long_name_is_cut_beside_its_bar_and_whole_in_the_table():
    name = "SOCK-MERINO-M · Merino Socks - M (EU 39–42) extra long"
    chart = horizontal_bar(title="Top", x_title="Product", y_title="units", labels=[name, "Short"],
                           series=[Series("units", [18, 7])])  # fmt: skip

    assert name not in chart.svg and "SOCK-MERINO-M · Merino Socks…" in chart.svg
    assert "Short" in chart.svg
    assert [row[0].text for row in chart.table.rows] == [name, "Short"]


def test_amounts_on_a_horizontal_bar_get_a_few_round_ticks_and_the_chart_keeps_its_own_size():
    chart = horizontal_bar(title="Payouts", x_title="Store", y_title="CNY", labels=["Offline orders", "Shop"],
                           series=[Series("left", [Decimal("3366.00"), Decimal("2857.53")])],
                           value_format=money_format("CNY"))  # fmt: skip

    ticks = [
        t
        for t in re.findall(r"<text[^>]*>([^<]*)</text>", chart.svg)
        if (t.endswith(".00") and "," in t) or t == "0.00"
    ]
    assert ticks[:5] == ["0.00", "1,000.00", "2,000.00", "3,000.00", "4,000.00"]
    assert re.search(r'<svg[^>]* width="\d+" height="\d+"', chart.svg)  # shown at most at its own size
