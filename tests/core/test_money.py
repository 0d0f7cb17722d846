"""Money: minor units, half-up rounding, and strict parsing that never rounds quietly."""

from decimal import ROUND_CEILING, Decimal

import pytest
from django.template import Context, Template
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core.money import (
    CURRENCIES,
    MINOR_UNITS,
    format_money,
    minor_unit,
    parse_currency,
    parse_money,
    quantum,
    round_money,
)


@pytest.mark.parametrize(
    ("currency", "places", "step"),
    [
        ("USD", 2, Decimal("0.01")),
        ("CNY", 2, Decimal("0.01")),
        ("JPY", 0, Decimal("1")),
        ("KRW", 0, Decimal("1")),
        ("VND", 0, Decimal("1")),
        ("KWD", 3, Decimal("0.001")),
        ("BHD", 3, Decimal("0.001")),
        ("CLF", 4, Decimal("0.0001")),
        ("jpy", 0, Decimal("1")),
    ],
)
def test_minor_unit_and_quantum_follow_iso_4217(currency, places, step):
    # given a currency code

    # when its minor unit and quantum are asked for
    got = (minor_unit(currency), quantum(currency))

    # then they match ISO 4217
    assert got == (places, step)
    assert got[1].as_tuple().exponent == -places


def test_an_unknown_but_well_formed_code_uses_two_decimals():
    # given a three-letter code not in the table
    code = "ABC"

    # when its minor unit is asked for
    places = minor_unit(code)

    # then the common default applies
    assert places == 2


@pytest.mark.parametrize("code", ["", "US", "USDX", "12A", None])
def test_a_malformed_code_is_refused(code):
    # given something that is not a three-letter code

    # when / then
    with pytest.raises(ValueError, match="not a currency code"):
        minor_unit(code)


def test_every_exception_in_the_table_is_a_known_currency():
    # given the exponent table and the currency list

    # when they are compared
    unknown = set(MINOR_UNITS) - CURRENCIES

    # then the table names only currencies a merchant can use
    assert unknown == set()


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("2.345", "USD", "2.35"),
        ("2.344", "USD", "2.34"),
        ("-2.345", "USD", "-2.35"),
        ("-0.004", "USD", "0.00"),
        ("2.5", "JPY", "3"),
        ("1.0005", "KWD", "1.001"),
        ("7", "USD", "7.00"),
    ],
)
def test_round_money_is_half_up_to_the_minor_unit(amount, currency, rounded):
    # given an amount with more decimals than the currency uses

    # when it is rounded
    result = round_money(Decimal(amount), currency)

    # then ties go away from zero and the exponent is the currency's
    assert str(result) == rounded


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [("3.331", "USD", "3.34"), ("3.330", "USD", "3.33"), ("1666.1", "JPY", "1667"), ("-3.339", "USD", "-3.33")],
)
def test_round_money_rounds_the_way_it_is_told(amount, currency, rounded):
    # given an amount and a caller that must round up (a unit price whose discount may not go negative)

    # when it is rounded with that mode
    result = round_money(Decimal(amount), currency, rounding=ROUND_CEILING)

    # then it lands on the currency's minor unit, towards positive infinity
    assert str(result) == rounded


def test_round_money_refuses_a_malformed_currency():
    # given a currency that is not a three-letter code

    # when / then
    with pytest.raises(ValueError, match="not a currency code"):
        round_money(Decimal("1.5"), "US")


def test_round_money_refuses_a_float():
    # given a float amount
    amount = 0.1

    # when / then
    with pytest.raises(TypeError, match="float"):
        round_money(amount, "USD")


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("1,234.50", "USD", "1234.50"),
        (" 12.3 ", "USD", "12.30"),
        ("¥12.30", "CNY", "12.30"),
        ("￥12", "CNY", "12.00"),
        ("¥1,200", "JPY", "1200"),
        ("$ 5", "USD", "5.00"),
        ("US$5", "USD", "5.00"),
        ("HK$5.5", "HKD", "5.50"),
        ("CNY 12.30", "CNY", "12.30"),
        ("-$5", "USD", "-5.00"),
        ("$-5", "USD", "-5.00"),
        ("+7", "USD", "7.00"),
        ("12.300", "USD", "12.30"),
        ("1.250", "KWD", "1.250"),
        ("-0", "USD", "0.00"),
        (7, "USD", "7.00"),
        (Decimal("1.5"), "USD", "1.50"),
        (Decimal("1.50"), "JPY", None),
    ],
)
def test_parse_money_accepts_what_a_person_writes(text, currency, amount):
    # given the text of an amount

    # when it is parsed
    if amount is None:
        with pytest.raises(ValueError, match="more decimals than JPY allows"):
            parse_money(text, currency)
        return
    result = parse_money(text, currency)

    # then it is exact, with the currency's decimals
    assert str(result) == amount


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        (12.3, "USD", "not an amount"),
        (True, "USD", "not an amount"),
        (None, "USD", "not an amount"),
        ("", "USD", "required"),
        ("   ", "USD", "required"),
        ("abc", "USD", "not an amount"),
        ("1e3", "USD", "not an amount"),
        ("NaN", "USD", "not an amount"),
        ("1,5", "USD", "not an amount"),
        ("1,23,456", "USD", "not an amount"),
        ("12.", "USD", "not an amount"),
        (".5", "USD", "not an amount"),
        ("--1", "USD", "not an amount"),
        ("5$", "USD", "not an amount"),
        ("12.345", "USD", "more decimals than USD allows"),
        ("12.5", "JPY", "more decimals than JPY allows"),
        ("1.0001", "KWD", "more decimals than KWD allows"),
        ("€3", "USD", "not a USD symbol"),
        ("¥3", "USD", "not a USD symbol"),
        (Decimal("NaN"), "USD", "not an amount"),
        (Decimal("Infinity"), "USD", "not an amount"),
    ],
)
def test_parse_money_refuses_floats_junk_and_extra_decimals(text, currency, message):
    # given something that is not an amount of the currency

    # when / then it is refused, never rounded
    with pytest.raises(ValueError, match=message):
        parse_money(text, currency)


@pytest.mark.parametrize(("text", "code"), [("CNY", "CNY"), (" usd ", "USD"), ("Eur", "EUR")])
def test_parse_currency_normalises_known_codes(text, code):
    # given a currency code as a person writes it

    # when it is parsed
    result = parse_currency(text)

    # then it is the upper-case ISO code
    assert result == code


@pytest.mark.parametrize(
    ("text", "message"),
    [("RMB", "use CNY"), ("XYZ", "not an ISO 4217 currency code"), ("", "not an ISO 4217"), ("DOLLARS", "not an")],
)
def test_parse_currency_refuses_what_is_not_an_iso_code(text, message):
    # given text that is not an ISO 4217 code

    # when / then
    with pytest.raises(ValueError, match=message):
        parse_currency(text)


@given(
    units=st.integers(min_value=-(10**15), max_value=10**15),
    currency=st.sampled_from(["USD", "JPY", "KWD", "CLF"]),
)
def test_the_text_of_an_amount_parses_back_to_it(units, currency):
    # given an amount that is a whole number of minor units
    amount = Decimal(units).scaleb(-minor_unit(currency))

    # when its text, with or without grouping, is parsed
    plain = parse_money(str(amount), currency)
    grouped = parse_money(f"{amount:,}", currency)

    # then both give the amount back, exponent included
    assert plain == grouped == amount
    assert plain.as_tuple().exponent == -minor_unit(currency)


@given(
    amount=st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, allow_infinity=False, places=6),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_round_money_is_within_half_a_unit_and_idempotent(amount, currency):
    # given any amount

    # when it is rounded
    rounded = round_money(amount, currency)

    # then it is a whole number of minor units, at most half a unit away, and rounding again changes nothing
    step = quantum(currency)
    assert rounded % step == 0
    assert abs(rounded - amount) <= step / 2
    assert round_money(rounded, currency) == rounded
    assert round_money(-amount, currency) == -rounded


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (Decimal("107.000"), "USD", "107.00 USD"),
        (Decimal("1234.5"), "CNY", "1,234.50 CNY"),
        (Decimal("3480"), "JPY", "3,480 JPY"),
        (Decimal("-0.004"), "USD", "0.00 USD"),
        (Decimal("-12.345"), "EUR", "−12.35 EUR"),
        (Decimal("0.0005"), "KWD", "0.001 KWD"),
        (None, "USD", ""),
    ],
)
def test_format_money_shows_the_currency_decimals_grouped(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_format_money_without_the_code_and_with_a_bad_code():
    assert format_money(Decimal("9.9"), "usd", code=False) == "9.90"
    assert format_money("n/a", "USD") == "n/a USD"
    assert format_money(Decimal("1"), "DOLLARS") == "1 DOLLARS"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        (Decimal("1234.5"), "USD", "en", "1,234.50 USD"),
        (Decimal("1234.5"), "USD", "zh-hans", "1,234.50 USD"),
        (Decimal("-1234567"), "JPY", "zh-hans", "−1,234,567 JPY"),
        (Decimal("1234.5"), "EUR", "de", "1.234,50 EUR"),
        (Decimal("-0.001"), "EUR", "de", "0,00 EUR"),
        (Decimal("1234.5678"), "KWD", "de", "1.234,568 KWD"),
        (Decimal("1234.5"), "USD", "xx", "1,234.50 USD"),
    ],
)
def test_format_money_groups_and_marks_decimals_per_language(amount, currency, locale, shown):
    # given an amount and a language
    # when it is formatted for that language
    text = format_money(amount, currency, locale=locale)

    # then the language decides the separators, the currency the decimals
    assert text == shown


def test_format_money_follows_the_active_language_when_none_is_given():
    # given German is the active language
    with translation.override("de"):
        # when money is formatted without a locale, by the function and by both template filters
        direct = format_money(Decimal("1234.5"), "EUR")
        rendered = Template("{% load money %}{{ x|money:'EUR' }}|{{ x|amount:'JPY' }}").render(
            Context({"x": Decimal("1234567.4")})
        )

    # then the active language's separators are used
    assert direct == "1.234,50 EUR"
    assert rendered == "1.234.567,40 EUR|1.234.567"


def test_format_money_is_english_with_no_language_active():
    # given no language is active (a worker outside a request)
    with translation.override(None):
        # when money is formatted
        text = format_money(Decimal("-1234.5"), "USD")

    # then it reads as in English
    assert text == "−1,234.50 USD"
