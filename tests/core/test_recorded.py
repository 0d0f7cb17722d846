"""core.recorded: sentences Relay records as text are read in the reader's language; people's words are not."""

from __future__ import annotations

import pytest
from django.utils import translation

from core.recorded import PHRASES, Phrasebook
from orders.phrases import DISPATCH_SHIPPED, ROUTED_WITH, TRIGGER_TEXT


def _in(language: str, text: str) -> str:
    with translation.override(language):
        return PHRASES.reword(text)


def test_a_sentence_written_in_english_reads_in_chinese_with_its_values_kept():
    recorded = DISPATCH_SHIPPED % {"number": "D00000012"}

    chinese = _in("zh-hans", recorded)

    assert "D00000012" in chinese and chinese != recorded and "Dispatch" not in chinese
    assert _in("en", recorded) == recorded
    # and back: the Chinese sentence reads in English again
    assert _in("en", chinese) == recorded


def test_a_sentence_inside_a_sentence_is_reworded_too():
    recorded = ROUTED_WITH % {"trigger": TRIGGER_TEXT["ingest"], "version": 3}

    chinese = _in("zh-hans", recorded)

    assert "3" in chinese and "Routed" not in chinese and "rule set" not in chinese


def test_plurals_follow_the_count_and_joined_hold_reasons_are_each_reworded():
    shipped = "Shipped in 2 parcels: sf SF1460000047514, yto YT123."
    assert _in("en", "Shipped in 1 parcel: sf SF1.") == "Shipped in 1 parcel: sf SF1."
    assert "SF1460000047514" in _in("zh-hans", shipped) and "Shipped" not in _in("zh-hans", shipped)
    held = "Rule “Big”: order total 847.000 CNY is above 500.; Rule “Big”: order total 847.000 CNY is above 500."
    assert "order total" not in _in("zh-hans", held) and "847.000" in _in("zh-hans", held)


@pytest.mark.parametrize("words", ["back in May", "缺货，五月到货", "", "Dispatch", "Shipped in a box"])
def test_a_person_s_words_stay_as_they_were_written(words):
    assert _in("zh-hans", words) == words
    assert _in("en", words) == words


def test_a_new_book_knows_only_what_it_was_given():
    book = Phrasebook(modules=())
    assert book.reword("Dispatch D1 shipped.") == "Dispatch D1 shipped."
    book.add("Dispatch %(number)s shipped.")
    with translation.override("zh-hans"):
        assert book.reword("Dispatch D1 shipped.") != "Dispatch D1 shipped."


def test_a_fetched_payout_s_name_reads_in_chinese_with_the_channel_s_status_kept():
    chinese = _in("zh-hans", "Payout 18863 of 2026-11-26 (paid)")
    assert "18863" in chinese and "2026-11-26" in chinese and "paid" in chinese  # Shopify's own status word
    assert not chinese.startswith("Payout")
