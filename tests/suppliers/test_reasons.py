"""Recorded reasons in the reader's language: Relay's words translated, the supplier's comment as typed."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from suppliers.models import Dispatch
from suppliers.reasons import reason_for_reader
from tests.suppliers.portal_factories import make_dispatch


@pytest.mark.parametrize(
    ("recorded", "english", "chinese"),
    [
        ("Out of stock: back in May", "Out of stock: back in May", "缺货: back in May"),
        ("缺货: 五月到货", "Out of stock: 五月到货", "缺货: 五月到货"),
        ("Out of stock", "Out of stock", "缺货"),
        ("Out of stock: Split from D00000012. late", "Out of stock: Split from D00000012. late",
         "缺货: 拆分自 D00000012。 late"),
        ("缺货: 拆分自 D00000012。", "Out of stock: Split from D00000012.", "缺货: 拆分自 D00000012。"),
        ("Out of stockroom flooded", "Out of stockroom flooded", "Out of stockroom flooded"),  # not a label
        ("", "", ""),
    ],
)  # fmt: skip
def test_relay_s_words_follow_the_reader_and_the_comment_stays(recorded, english, chinese):
    with translation.override("en"):
        assert reason_for_reader(recorded) == english
    with translation.override("zh-hans"):
        assert reason_for_reader(recorded) == chinese


def test_a_rejection_recorded_in_chinese_reads_in_english_on_the_pages(in_a, acme, portal, console):
    dispatch = make_dispatch(acme, status="rejected")
    Dispatch.objects.filter(pk=dispatch.pk).update(reject_code="out_of_stock", reason="缺货: 五月到货")

    english = portal.get(f"/portal/dispatches/{dispatch.pk}/").content.decode()
    order_page = console.get(f"/orders/{dispatch.lines.first().order_id}/").content.decode()

    assert "Out of stock: 五月到货" in english and "缺货" not in english
    assert "Out of stock: 五月到货" in order_page


def test_the_dispatch_page_s_forms_have_their_own_ids_and_the_line_boxes_a_legend(in_a, acme, portal):
    dispatch = make_dispatch(acme, lines=(("MUG", 2, "5.25"), ("CUP", 1, "3.00")))

    html = portal.get(f"/portal/dispatches/{dispatch.pk}/").content.decode()

    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 'for=""' not in html
    assert "<legend>Lines you cannot ship</legend>" in html
