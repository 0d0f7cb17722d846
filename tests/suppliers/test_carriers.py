"""The carrier registry (suppliers.carriers): lookup by name or alias, number checks against published
tracking numbers (tests/suppliers/fixtures/tracking_numbers.json, each group with its source), tracking links.

No database: these are plain functions.
"""

import json
from pathlib import Path

import pytest
from django.utils import translation

from suppliers.carriers import (
    CARRIERS,
    carrier_choices,
    carrier_lookup,
    normalise_number,
    tracking_problem,
    tracking_url,
    tracking_warning,
)

FIXTURE = Path(__file__).parent / "fixtures" / "tracking_numbers.json"
GROUPS = json.loads(FIXTURE.read_text(encoding="utf-8"))["groups"]
VALID = [(group["carrier"], number) for group in GROUPS for number in group["valid"]]
INVALID = [(group["carrier"], number) for group in GROUPS for number in group["invalid"]]
BY_CODE = {carrier.code: carrier for carrier in CARRIERS}


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


# -- Published numbers --------------------------------------------------------------------------------------------


def test_the_fixture_covers_every_carrier_but_other_with_valid_and_invalid_numbers():
    checked = {code for code in BY_CODE if code != "other"}

    assert {code for code, _ in VALID} == checked
    assert {code for code, _ in INVALID} == checked
    assert all(group["source"] for group in GROUPS)


@pytest.mark.parametrize(("code", "number"), VALID)
def test_a_published_valid_number_passes(code, number):
    assert tracking_problem(code, number) is None


@pytest.mark.parametrize(("code", "number"), INVALID)
def test_a_published_invalid_number_is_refused_saying_what_the_carrier_issues(code, number):
    problem = tracking_problem(code, number)

    assert problem
    assert problem.startswith(str(BY_CODE[code].number_format))
    assert normalise_number(number) in problem


def test_a_wrong_check_digit_is_named_as_such():
    assert tracking_problem("ups", "1Z1111111111111111") == (
        "A UPS tracking number is 1Z followed by 16 letters and digits; "
        "the check digit of 1Z1111111111111111 does not match."
    )


def test_a_letter_where_ups_puts_its_check_digit_is_refused_not_an_error():
    # The data set's UPS pattern admits a letter there, then cannot compute with it.
    assert "check digit" in tracking_problem("ups", "1Z879E93034683444A")


def test_an_s10_service_code_the_upu_never_assigns_is_named():
    # JA… has the S10 check digit right (12345678 -> 5) but J is not a service indicator the UPU assigns.
    problem = tracking_problem("ems", "JA123456785CN")

    assert problem.endswith("EMS / China Post issues no numbers with service code JA.")


def test_a_postal_number_of_another_country_is_refused_naming_the_country():
    assert tracking_problem("ems", "RB123456785GB").endswith("RB123456785GB ends in GB.")
    assert tracking_problem("royalmail", "RB123456785CN").endswith("RB123456785CN ends in CN.")


def test_royal_mail_accepts_its_inland_service_letters_with_a_right_check_digit():
    assert tracking_problem("royalmail", "TT123456785GB") is None
    assert "check digit" in tracking_problem("royalmail", "TT123456784GB")


def test_a_cainiao_lp_number_of_s10_length_must_have_the_s10_check_digit():
    assert tracking_problem("cainiao", "LP194594073SG") is None
    assert "check digit" in tracking_problem("cainiao", "LP194594074SG")


def test_numbers_are_checked_after_normalising():
    assert tracking_problem("sf", " sf 0218-9475-52508 ") is None
    assert tracking_problem("jtexpress", "ｊｔ０００６９６８３２６９５４") is None


def test_an_empty_number_and_an_unknown_carrier_are_refused():
    assert tracking_problem("ups", " - ") == "Enter a tracking number."
    assert tracking_problem("pigeon", "1Z5R89390357567127") == "Unknown carrier “pigeon”."


def test_other_takes_any_4_to_40_letters_and_digits_with_a_warning():
    assert tracking_problem("other", "ab-12") is None
    assert tracking_problem("other", "X" * 40) is None
    assert tracking_warning("other", "AB12") == (
        "Carrier 'other': the number cannot be checked and no tracking link is sent."
    )

    assert tracking_problem("other", "AB1") == (
        "A tracking number is 4 to 40 letters and digits; AB1 does not have that form."
    )
    assert tracking_problem("other", "X" * 41)
    assert tracking_problem("other", "AB/12")


def test_checked_carriers_give_no_warning():
    assert all(tracking_warning(code, number) is None for code, number in VALID)


# -- Normalising --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (" 1z 879e 9303 4683 4440 ", "1Z879E930346834440"),
        ("SF-0218-9475-52508", "SF0218947552508"),
        ("sf\t0218947552508\n", "SF0218947552508"),
        ("ＳＦ　０２１８９４７５５２５０８", "SF0218947552508"),  # full-width letters, digits and space
        ("JDVA11408814483–1–1", "JDVA1140881448311"),  # en dashes
        ("", ""),
    ],
)
def test_normalise_number_drops_spaces_and_dashes_and_upper_cases(typed, stored):
    assert normalise_number(typed) == stored


# -- Lookup -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("sf", "sf"),
        ("SF Express", "sf"),
        ("顺丰", "sf"),
        ("顺丰速运", "sf"),
        ("顺丰 速运", "sf"),
        ("中通", "zto"),
        ("ZTO Express", "zto"),
        ("圆通", "yto"),
        ("申通", "sto"),
        ("韵达", "yunda"),
        ("京东", "jd"),
        ("京东物流", "jd"),
        ("JD Logistics", "jd"),
        ("EMS", "ems"),
        ("中国邮政", "ems"),
        ("邮政", "ems"),
        ("China Post", "ems"),
        ("极兔", "jtexpress"),
        ("J&T", "jtexpress"),
        ("Ｊ＆Ｔ Express", "jtexpress"),
        ("菜鸟", "cainiao"),
        ("UPS", "ups"),
        ("FedEx", "fedex"),
        ("联邦快递", "fedex"),
        ("usps", "usps"),
        ("DHL", "dhl"),
        ("DHL Express", "dhl"),
        ("Royal Mail", "royalmail"),
        ("ROYALMAIL", "royalmail"),
        ("其他", "other"),
        ("Other", "other"),
    ],
)
def test_carrier_lookup_by_code_name_or_alias_ignoring_case_and_spaces(typed, code):
    assert carrier_lookup(typed).code == code


@pytest.mark.parametrize("typed", ["", "  ", "pigeon post", "顺丰顺丰"])
def test_carrier_lookup_of_an_unknown_name_is_none(typed):
    assert carrier_lookup(typed) is None


def test_every_name_and_alias_leads_back_to_its_own_carrier():
    for carrier in CARRIERS:
        for name in (carrier.code, str(carrier.name), carrier.name_zh, carrier.shopify_company, *carrier.aliases):
            assert carrier_lookup(name) == carrier, name


def test_aliases_are_lower_case():
    assert all(alias == alias.lower() for carrier in CARRIERS for alias in carrier.aliases)


def test_lookup_works_in_chinese_too():
    with translation.override("zh-hans"):
        assert carrier_lookup("SF Express").code == "sf"


# -- Registry, links, choices -------------------------------------------------------------------------------------


def test_the_registry_has_the_carriers_the_portal_offers_in_order():
    assert [carrier.code for carrier in CARRIERS] == [
        "sf", "zto", "yto", "sto", "yunda", "jd", "ems", "jtexpress", "cainiao",
        "ups", "fedex", "usps", "dhl", "royalmail", "other",
    ]  # fmt: skip


def test_shopify_companies_are_spelled_as_shopify_lists_them():
    # Shopify's supported tracking companies (FulfillmentTrackingInfo.company); the others go by name with our URL.
    known = {carrier.code: carrier.shopify_company for carrier in CARRIERS if carrier.shopify_known}

    assert known == {
        "sf": "SF Express",
        "ems": "China Post",
        "ups": "UPS",
        "fedex": "FedEx",
        "usps": "USPS",
        "dhl": "DHL Express",
        "royalmail": "Royal Mail",
    }
    assert BY_CODE["other"].shopify_company == "Other"


@pytest.mark.parametrize(
    ("code", "number"), [(group["carrier"], group["valid"][0]) for group in GROUPS if group["valid"]]
)
def test_tracking_url_carries_the_normalised_number(code, number):
    url = tracking_url(code, number)

    assert url.startswith("https://")
    assert url.endswith(normalise_number(number))


def test_tracking_urls_of_some_carriers():
    assert tracking_url("ups", "1z5r 8939 0357 5671 27") == "https://www.ups.com/track?tracknum=1Z5R89390357567127"
    assert tracking_url("zto", "432542035598773") == (
        "https://www.kuaidi100.com/chaxun?com=zhongtong&nu=432542035598773"
    )
    assert tracking_url("royalmail", "RB123456785GB") == (
        "https://www.royalmail.com/track-your-item#/tracking-results/RB123456785GB"
    )


def test_other_and_unknown_carriers_have_no_tracking_url():
    assert tracking_url("other", "AB12") == ""
    assert tracking_url("pigeon", "AB12") == ""


def test_tracking_url_escapes_what_is_not_a_letter_or_digit():
    assert tracking_url("sf", "SF1/2?x") == "https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/SF1%2F2%3FX"


def test_carrier_choices_name_carriers_in_the_active_language():
    english = carrier_choices()
    with translation.override("zh-hans"):
        chinese = carrier_choices()

    assert [code for code, _ in english] == [carrier.code for carrier in CARRIERS]
    assert english[0] == ("sf", "SF Express")
    assert dict(english)["royalmail"] == "Royal Mail"
    assert chinese[0] == ("sf", "顺丰速运")
    assert dict(chinese)["jtexpress"] == "极兔速递"
    assert dict(chinese)["other"] == "其他"
