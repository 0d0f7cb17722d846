"""The translatable rendering of routing reasons says what the engine's English rendering says."""

import zoneinfo

import pytest
from django.utils import timezone, translation

from orders.routing.core.types import REASON_TEXTS, Reason, describe
from orders.routing.explain import REASON_TEMPLATES, Names, reason_text, rule_summary

PARAMS = {
    "strategy": "cheapest", "region": "x", "country": "US", "province": "CA", "available": "1", "needed": "2",
    "cost": "9", "currency": "USD", "chosen_cost": "5", "chosen_currency": "EUR", "position": "2",
    "chosen_position": "1", "supplier": "7", "chosen_supplier": "", "rejection_rate": "10.0%",
    "on_time_rate": "90.0%", "chosen_rejection_rate": "1.0%", "chosen_on_time_rate": "99.0%", "scope": "country",
    "chosen_scope": "province", "source": "3", "listing_sku": "BOX", "per_bundle": "2", "bundles": "3",
    "quantity": "1", "product": "4", "rule": "11", "rule_name": "Promo", "bought": "2", "for_product": "5",
    "product_id": "4", "total": "600", "limit": "500", "missing": "city", "words": "urgent", "channel": "shopify",
    "store": "2", "tags": "vip", "problem": "bad",
}  # fmt: skip


def test_every_engine_reason_has_a_translatable_template():
    assert set(REASON_TEMPLATES) == set(REASON_TEXTS)
    assert {code: str(text) for code, text in REASON_TEMPLATES.items()} == REASON_TEXTS


# Reasons whose amounts the pages show with the currency's decimals (the engine writes them as it holds them).
MONEY_REASONS = {"hold_total_above"}


@pytest.mark.parametrize("code", sorted(set(REASON_TEXTS) - MONEY_REASONS))
def test_english_rendering_matches_describe_without_names(code):
    reason = Reason(code, PARAMS)
    with translation.override("en"):
        assert reason_text(reason) == describe(reason)
        assert reason_text({"code": code, "params": PARAMS}) == describe(reason)


def test_amounts_in_a_reason_read_with_the_currency_s_decimals():
    held = Reason("hold_total_above", {**PARAMS, "total": "847.000", "limit": "500", "currency": "CNY"})
    yen = Reason("hold_total_above", {**PARAMS, "total": "12000.000", "limit": "10000", "currency": "JPY"})
    with translation.override("en"):
        assert reason_text(held) == "Rule “Promo”: order total 847.00 CNY is above 500.00."
        assert reason_text(yen) == "Rule “Promo”: order total 12,000 JPY is above 10,000."


def test_names_replace_ids_and_unknown_codes_fall_back():
    names = Names(suppliers={7: "Acme"}, products={4: "TEE-M"})

    assert reason_text(Reason("no_record", {"supplier": "7"}), names).startswith("Acme has no shipping record")
    assert (
        reason_text(Reason("whole_order_supplier", {"supplier": ""}), names)
        == "The whole order ships from own warehouse."
    )
    assert "TEE-M" in reason_text(Reason("gift_added", PARAMS), names)
    assert reason_text(Reason("brand_new", {"a": "1"})) == "brand_new (a=1)"


def test_rule_summaries_in_plain_words():
    assert rule_summary("hold", {"total_above": "500", "currency": "USD", "tags": ["vip"]}) == (
        "Hold for review when the total is above 500 USD or the order is tagged vip."
    )
    assert rule_summary("merge", {"window_hours": 6}).startswith("Merge orders of the same buyer")
    assert rule_summary("split", {"policy": "whole"}) == "Prefer one supplier for the whole order."


def test_a_gift_rule_s_dates_read_as_local_time_not_stored_iso():
    params = {"buy_product_id": 1, "gift_product_id": 2, "min_quantity": 1, "starts": "2026-11-26T12:47:00+00:00"}
    with translation.override("en"), timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        summary = rule_summary("gift", params, products={1: "SOCK", 2: "BAG"})
    assert "from 2026-11-26 20:47" in summary and "T12:47" not in summary
