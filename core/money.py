"""Money: Decimal amounts in a currency, rounded half-up to the currency's minor unit.

Floats never become money here: a float has already lost the decimal the
person wrote, so every entry point refuses one. Text is parsed strictly; an
amount with more decimals than its currency allows is an error rather than
something to round quietly, because it usually means the wrong currency or a
wrong column.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern
from django.utils import translation
from django.utils.translation import gettext as _

DEFAULT_MINOR_UNIT = 2

# ISO 4217 exponents that differ from the common 2.
MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(
            ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
             "XOF", "XPF"),
            0,
        ),
        **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
        **dict.fromkeys(("CLF", "UYW"), 4),
    }
)  # fmt: skip

# ISO 4217 codes a merchant can trade in: current ones plus a few recently
# withdrawn (HRK, ANG, SLL, CUC, ZWL) so older orders still import. Metals,
# fund and test codes (XAU, XDR, XTS, XXX …) are left out on purpose.
CURRENCIES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
    SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED
    VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()
)

# Names merchants write that are not ISO codes, mapped to the code they mean.
_CURRENCY_MISTAKES = {"RMB": "CNY", "YUAN": "CNY", "NTD": "TWD", "UKL": "GBP", "STG": "GBP"}

_DOLLARS = frozenset(
    "USD CAD AUD NZD HKD SGD TWD MXN ARS CLP COP UYU BSD BBD BZD BMD BND FJD GYD JMD KYD LRD NAD SBD SRD TTD XCD"
    " CUP DOP".split()
)
# Leading symbols accepted in text, and the currencies each may stand for; a
# symbol that cannot mean the given currency ("€12" for USD) is refused.
_SYMBOLS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "$": _DOLLARS,
        "US$": frozenset({"USD"}),
        "HK$": frozenset({"HKD"}),
        "NT$": frozenset({"TWD"}),
        "S$": frozenset({"SGD"}),
        "A$": frozenset({"AUD"}),
        "AU$": frozenset({"AUD"}),
        "C$": frozenset({"CAD"}),
        "CA$": frozenset({"CAD"}),
        "NZ$": frozenset({"NZD"}),
        "MX$": frozenset({"MXN"}),
        "R$": frozenset({"BRL"}),
        "¥": frozenset({"CNY", "JPY"}),
        "￥": frozenset({"CNY", "JPY"}),
        "CN¥": frozenset({"CNY"}),
        "JP¥": frozenset({"JPY"}),
        "€": frozenset({"EUR"}),
        "£": frozenset({"GBP", "GIP", "FKP", "SHP"}),
        "₩": frozenset({"KRW"}),
        "₫": frozenset({"VND"}),
        "₹": frozenset({"INR"}),
        "₽": frozenset({"RUB"}),
        "₺": frozenset({"TRY"}),
        "₪": frozenset({"ILS"}),
        "฿": frozenset({"THB"}),
        "₱": frozenset({"PHP"}),
        "₴": frozenset({"UAH"}),
        "₦": frozenset({"NGN"}),
        "₸": frozenset({"KZT"}),
        "₲": frozenset({"PYG"}),
        "₡": frozenset({"CRC"}),
        "₭": frozenset({"LAK"}),
        "₮": frozenset({"MNT"}),
        "৳": frozenset({"BDT"}),
        "₼": frozenset({"AZN"}),
        "₾": frozenset({"GEL"}),
    }
)

_CODE = re.compile(r"[A-Z]{3}")
# Digits with either no grouping or strict groups of three, then an optional fraction.
_NUMBER = re.compile(r"(?P<int>\d+|\d{1,3}(?:,\d{3})+)(?:\.(?P<frac>\d+))?")
# Longest first, so "HK$" is tried before "$".
_PREFIXES = sorted(_SYMBOLS, key=len, reverse=True)
_TEXT_LIMIT = 40


def _code(currency: str) -> str:
    if not isinstance(currency, str) or not _CODE.fullmatch(currency.upper()):
        raise ValueError(f"{currency!r} is not a currency code")
    return currency.upper()


# The codes already read, as they were written ("USD", "usd"): ingest asks twice an order, and a regular
# expression each time cost four times the lookup. Only valid codes are kept, so the table stays small.
_PLACES_OF: dict[str, int] = {}
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(5)}


def minor_unit(currency: str) -> int:
    """The number of decimals ``currency`` uses: 2 for most, 0 for JPY, 3 for KWD.

    Raises ValueError when ``currency`` is not three letters. A well-formed code
    this module does not know is taken to use 2, as most currencies do.
    """
    places = _PLACES_OF.get(currency) if type(currency) is str else None
    if places is None:
        places = MINOR_UNITS.get(_code(currency), DEFAULT_MINOR_UNIT)
        _PLACES_OF[currency] = places
    return places


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: Decimal("0.01"), Decimal("1") for JPY, Decimal("0.001") for KWD."""
    places = minor_unit(currency)
    return _QUANTA.get(places) or Decimal(1).scaleb(-places)


def parse_currency(text: str) -> str:
    """An ISO 4217 code from text, upper-cased: "cny " gives "CNY".

    Raises ValueError for anything else, suggesting the code when the text is a
    common name for one ("RMB" → CNY).
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a currency code")
    code = text.strip().upper()
    if code in CURRENCIES:
        return code
    if code in _CURRENCY_MISTAKES:
        raise ValueError(
            _('"%(text)s" is not an ISO 4217 currency code; use %(code)s')
            % {"text": code, "code": _CURRENCY_MISTAKES[code]}
        )
    raise ValueError(
        _('"%(text)s" is not an ISO 4217 currency code (such as CNY, USD or EUR)')
        % {"text": text.strip()[:_TEXT_LIMIT]}
    )


def round_money(amount: Decimal, currency: str, *, rounding: str = ROUND_HALF_UP) -> Decimal:
    """``amount`` rounded to ``currency``'s minor unit: half-up (ties away from zero) unless told otherwise.

    ``rounding`` is one of the ``decimal`` module's modes, for the rare caller
    that must round one way (a unit price rounded up so that a derived
    discount is never negative). Raises TypeError for a float (it has already
    lost the decimal the person meant) and ValueError for NaN, infinity or a
    malformed currency code.
    """
    amount = _as_decimal(amount)
    step = quantum(currency)
    rounded = amount.quantize(step, rounding=rounding)
    # -0.004 rounds to -0.00; money has no negative zero.
    return rounded if rounded else abs(rounded)


def format_money(
    amount: Decimal | int | str | None, currency: str, *, code: bool = True, locale: str | None = None
) -> str:
    """``amount`` as a person reads it: the currency's decimals, thousands grouped, the code after.

    ``format_money(Decimal("1234.5"), "USD")`` gives "1,234.50 USD"; JPY shows no
    decimals. A minus sign for a negative amount; never "-0.00". Empty for
    None; the text as it is when it is not a number, or the currency is not a code.

    Grouping and the decimal mark follow ``locale`` (a Django language code such as
    "en" or "zh-hans", or a Babel locale such as "de_DE"), else the active language
    (English when none is active): "1.234,50 EUR" in German. The digits, the decimals
    and the code after the number stay the same in every language.
    """
    if amount is None or amount == "":
        return ""
    try:
        value = round_money(Decimal(str(amount)), currency)
    except (ValueError, TypeError, InvalidOperation):
        return f"{amount} {currency}".strip() if code else str(amount)
    places = minor_unit(currency)
    language = locale or translation.get_language() or "en"
    text = _decimal_pattern(language, places).apply(abs(value), _babel_locale(language))
    if value < 0:
        text = "−" + text  # the minus sign, not a hyphen
    return f"{text} {currency.upper()}" if code else text


@functools.lru_cache(maxsize=64)
def _babel_locale(language: str) -> Locale:
    """The Babel locale of a Django language code ("zh-hans" → zh_Hans); English for one Babel does not know."""
    try:
        return Locale.parse(translation.to_locale(language))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


@functools.lru_cache(maxsize=64)
def _decimal_pattern(language: str, places: int) -> NumberPattern:
    """The language's own number pattern (its grouping) with exactly ``places`` decimals, digits in Latin script."""
    pattern = copy.copy(_babel_locale(language).decimal_formats[None])
    pattern.frac_prec = (places, places)
    return pattern


def parse_money(text: str | int | Decimal, currency: str) -> Decimal:
    """An amount of ``currency`` from text, an int or a Decimal, with the currency's decimals.

    Text may carry surrounding whitespace, a sign, thousands separators in
    groups of three ("1,234.50") and one leading currency symbol that can stand
    for ``currency`` ("¥12.30" for CNY, "US$5" or "$5" for USD) or the code
    itself ("CNY 12.30"). ``parse_money("12.3", "USD")`` is ``Decimal("12.30")``.

    Raises ValueError for a float, a bool, empty text, anything that is not a
    plain decimal number, and an amount with more decimals than the currency
    allows ("12.345" USD, "12.5" JPY) — those are refused, never rounded.
    """
    places = minor_unit(currency)
    code = _code(currency)
    if isinstance(text, str):
        amount = _parse_text(text, code=code)
    elif isinstance(text, bool) or not isinstance(text, int | Decimal):
        # bool is an int; a float has already lost the decimal the person wrote.
        raise ValueError(f"{text!r} is not an amount; pass text, an int or a Decimal")
    else:
        amount = Decimal(text)
        if not amount.is_finite():
            raise ValueError(f"{text!r} is not an amount")
    step = Decimal(1).scaleb(-places)
    exact = amount.quantize(step) if amount.adjusted() < 28 - places else None
    if exact is None or exact != amount:
        shown = text.strip()[:_TEXT_LIMIT] if isinstance(text, str) else str(text)
        if exact is None:
            raise ValueError(_('"%(text)s" is too large an amount') % {"text": shown})
        raise ValueError(
            _('"%(text)s" has more decimals than %(currency)s allows (%(places)s)')
            % {"text": shown, "currency": code, "places": places}
        )
    return exact if exact else abs(exact)


def _parse_text(text: str, *, code: str) -> Decimal:
    cleaned = text.strip()
    shown = cleaned[:_TEXT_LIMIT]
    if not cleaned:
        raise ValueError(_("an amount is required"))
    sign, cleaned = _take_sign(cleaned)
    cleaned, symbol = _take_symbol(cleaned, code=code)
    if symbol and not sign:
        # "$-5" as well as "-$5".
        sign, cleaned = _take_sign(cleaned)
    if symbol and symbol != code and code not in _SYMBOLS[symbol]:
        raise ValueError(
            _('"%(text)s" is marked %(symbol)s, which is not a %(currency)s symbol')
            % {"text": shown, "symbol": symbol, "currency": code}
        )
    match = _NUMBER.fullmatch(cleaned)
    if match is None:
        raise ValueError(_('"%(text)s" is not an amount') % {"text": shown})
    digits = match["int"].replace(",", "") + ("." + match["frac"] if match["frac"] else "")
    try:
        amount = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise ValueError(_('"%(text)s" is not an amount') % {"text": shown}) from None
    return -amount if sign == "-" else amount


def _take_sign(text: str) -> tuple[str, str]:
    if text[:1] in ("-", "+", "−"):
        return ("+" if text[0] == "+" else "-"), text[1:].lstrip()
    return "", text


def _take_symbol(text: str, *, code: str) -> tuple[str, str]:
    if text[:3].upper() == code:
        return text[3:].lstrip(), code
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix) :].lstrip(), prefix
    return text, ""


def _as_decimal(amount: Decimal) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValueError(f"{amount} is not an amount")
    return amount
