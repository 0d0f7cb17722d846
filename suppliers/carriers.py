"""The carriers a supplier ships with, and whether a tracking number is one the carrier could have issued.

Each carrier has a code (stored on a parcel), its names in English and
Chinese, the names people type in uploads, the tracking-company string the
channel knows it by (Shopify's list) and a tracking-page template.

Checking a number: for carriers whose numbering rules are published (UPS,
FedEx, USPS, DHL Express, and the UPU S10 standard used by EMS / China Post,
Royal Mail and international post) the rules come from the ``tracking-numbers``
package, a generated Python port of jkeen/tracking_number_data: formats,
check digits (mod 10, mod 7, weighted mod 11, S10) and service codes. Chinese
express carriers publish no check digit; for them a documented format rule,
loose enough for every form of number they issue, catches typing slips and
numbers pasted into the wrong column. "other" accepts any 4 to 40 letters and
digits, with a warning.

The tracking companies Shopify recognises (FulfillmentTrackingInfo.company,
"Supported tracking companies" in the Admin API reference) include SF
Express, China Post, UPS, FedEx, USPS, DHL Express and Royal Mail, but no
ZTO, YTO, STO, Yunda, JD Logistics, J&T Express or Cainiao: for those the
company is sent by its English name and the push must send our tracking URL
(``Carrier.shopify_known`` is False).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple
from urllib.parse import quote

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy
from tracking_numbers import DEFINITIONS
from tracking_numbers.definition import TrackingNumberDefinition

_ = gettext_lazy

__all__ = [
    "CARRIERS",
    "Carrier",
    "carrier_choices",
    "carrier_lookup",
    "normalise_number",
    "tracking_problem",
    "tracking_url",
    "tracking_warning",
]


@dataclass(frozen=True)
class Carrier:
    """One carrier of the registry; ``tracking_url`` is a template with ``{number}`` ("" when there is none)."""

    code: str
    name: Promise
    name_zh: str
    shopify_company: str
    tracking_url: str
    aliases: tuple[str, ...]
    # What a valid number looks like, in words; the start of every refusal.
    number_format: Promise
    # Whether shopify_company is on Shopify's supported list (Shopify then builds the link itself).
    shopify_known: bool = True


_KUAIDI100 = "https://www.kuaidi100.com/chaxun?com={company}&nu={{number}}"

CARRIERS: tuple[Carrier, ...] = (
    Carrier(
        code="sf",
        name=_("SF Express"),
        name_zh="顺丰速运",
        shopify_company="SF Express",
        tracking_url="https://www.sf-express.com/we/ow/chn/sc/waybill/waybill-detail/{number}",
        aliases=("sf", "sf express", "sfexpress", "shunfeng", "顺丰", "顺丰速运", "顺丰快递"),
        number_format=_("An SF Express waybill number is SF followed by 12 or 13 digits, or 12 digits"),
    ),
    Carrier(
        code="zto",
        name=_("ZTO Express"),
        name_zh="中通快递",
        shopify_company="ZTO Express",
        tracking_url=_KUAIDI100.format(company="zhongtong"),
        aliases=("zto", "zto express", "zhongtong", "中通", "中通快递", "中通速递"),
        number_format=_("A ZTO Express waybill number has 12 to 15 digits"),
        shopify_known=False,
    ),
    Carrier(
        code="yto",
        name=_("YTO Express"),
        name_zh="圆通速递",
        shopify_company="YTO Express",
        tracking_url=_KUAIDI100.format(company="yuantong"),
        aliases=("yto", "yto express", "yuantong", "圆通", "圆通速递", "圆通快递"),
        number_format=_("A YTO Express waybill number is YT followed by 13 digits, or 10, 12, 13 or 18 digits"),
        shopify_known=False,
    ),
    Carrier(
        code="sto",
        name=_("STO Express"),
        name_zh="申通快递",
        shopify_company="STO Express",
        tracking_url=_KUAIDI100.format(company="shentong"),
        aliases=("sto", "sto express", "shentong", "申通", "申通快递"),
        number_format=_("An STO Express waybill number has 12 to 15 digits, or is STO followed by 10 digits"),
        shopify_known=False,
    ),
    Carrier(
        code="yunda",
        name=_("Yunda Express"),
        name_zh="韵达快递",
        shopify_company="Yunda Express",
        tracking_url=_KUAIDI100.format(company="yunda"),
        aliases=("yunda", "yunda express", "yd", "韵达", "韵达快递", "韵达速递"),
        number_format=_("A Yunda Express waybill number has 13 or 15 digits"),
        shopify_known=False,
    ),
    Carrier(
        code="jd",
        name=_("JD Logistics"),
        name_zh="京东物流",
        shopify_company="JD Logistics",
        tracking_url=_KUAIDI100.format(company="jd"),
        aliases=("jd", "jdl", "jd logistics", "jd express", "jingdong", "京东", "京东物流", "京东快递"),
        number_format=_("A JD Logistics waybill number is JD, up to two letters and 11 to 15 digits"),
        shopify_known=False,
    ),
    Carrier(
        code="ems",
        name=_("EMS / China Post"),
        name_zh="中国邮政 EMS",
        shopify_company="China Post",
        tracking_url=_KUAIDI100.format(company="ems"),
        aliases=(
            "ems",
            "china post",
            "chinapost",
            "china ems",
            "china post ems",
            "epacket",
            "中国邮政",
            "邮政",
            "中国邮政ems",
            "邮政ems",
            "邮政快递包裹",
            "中国邮政速递物流",
            "e邮宝",
        ),
        number_format=_(
            "An EMS / China Post number is 2 letters, 9 digits and CN (such as EE123456785CN), "
            "or 13 digits for domestic mail"
        ),
    ),
    Carrier(
        code="jtexpress",
        name=_("J&T Express"),
        name_zh="极兔速递",
        shopify_company="J&T Express",
        tracking_url=_KUAIDI100.format(company="jtexpress"),
        aliases=("j&t", "j&t express", "jt", "jt express", "jtexpress", "jitu", "极兔", "极兔速递", "极兔快递"),
        number_format=_("A J&T Express waybill number is JT followed by 13 digits"),
        shopify_known=False,
    ),
    Carrier(
        code="cainiao",
        name=_("Cainiao"),
        name_zh="菜鸟",
        shopify_company="Cainiao",
        tracking_url="https://global.cainiao.com/detail.htm?mailNoList={number}",
        aliases=("cainiao", "aliexpress standard shipping", "菜鸟", "菜鸟裹裹", "菜鸟国际"),
        number_format=_(
            "A Cainiao number is LP followed by digits, CN followed by 12 or more letters and digits, "
            "or a postal number such as RB123456785CN"
        ),
        shopify_known=False,
    ),
    Carrier(
        code="ups",
        name=_("UPS"),
        name_zh="UPS",
        shopify_company="UPS",
        tracking_url="https://www.ups.com/track?tracknum={number}",
        aliases=("ups", "united parcel service", "ups快递"),
        number_format=_("A UPS tracking number is 1Z followed by 16 letters and digits"),
    ),
    Carrier(
        code="fedex",
        name=_("FedEx"),
        name_zh="联邦快递",
        shopify_company="FedEx",
        tracking_url="https://www.fedex.com/fedextrack/?trknbr={number}",
        aliases=("fedex", "fed ex", "federal express", "联邦快递", "联邦"),
        number_format=_("A FedEx tracking number has 12, 15, 18, 20, 22 or 34 digits"),
    ),
    Carrier(
        code="usps",
        name=_("USPS"),
        name_zh="美国邮政",
        shopify_company="USPS",
        tracking_url="https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
        aliases=("usps", "united states postal service", "us postal service", "美国邮政"),
        number_format=_("A USPS tracking number has 20 to 34 digits, or is 2 letters, 9 digits and US"),
    ),
    Carrier(
        code="dhl",
        name=_("DHL Express"),
        name_zh="DHL 国际快递",
        shopify_company="DHL Express",
        tracking_url="https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}",
        aliases=("dhl", "dhl express", "dhl快递", "dhl国际快递", "敦豪"),
        number_format=_("A DHL Express waybill number has 10 or 11 digits"),
    ),
    Carrier(
        code="royalmail",
        name=_("Royal Mail"),
        name_zh="英国皇家邮政",
        shopify_company="Royal Mail",
        tracking_url="https://www.royalmail.com/track-your-item#/tracking-results/{number}",
        aliases=("royal mail", "royalmail", "皇家邮政", "英国皇家邮政", "英国邮政"),
        number_format=_("A Royal Mail tracking number is 2 letters, 9 digits and GB (such as RB123456785GB)"),
    ),
    Carrier(
        code="other",
        name=_("Other"),
        name_zh="其他",
        shopify_company="Other",
        tracking_url="",
        aliases=("other", "others", "其他", "其它"),
        number_format=_("A tracking number is 4 to 40 letters and digits"),
        shopify_known=False,
    ),
)

_BY_CODE: dict[str, Carrier] = {carrier.code: carrier for carrier in CARRIERS}

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_SEPARATORS = re.compile(rf"[\s{re.escape(_DASHES)}]+")


def normalise_number(text: str) -> str:
    """The tracking number as stored and compared: full-width characters folded, spaces and dashes gone, upper case."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or "")).upper()


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


@cache
def _lookup_index() -> dict[str, Carrier]:
    # Built on first use, not at import: the English names are lazy translations.
    index: dict[str, Carrier] = {}
    with translation.override("en"):
        for carrier in CARRIERS:
            for name in (carrier.code, str(carrier.name), carrier.name_zh, carrier.shopify_company, *carrier.aliases):
                index.setdefault(_key(name), carrier)
    return index


def carrier_lookup(text: str) -> Carrier | None:
    """The carrier ``text`` names, by code, English or Chinese name, Shopify company or alias; None if none.

    Case, width and spaces do not matter: "SF", "顺丰", "Royal Mail" and "royalmail" all resolve.
    """
    return _lookup_index().get(_key(text))


def carrier_choices() -> list[tuple[str, str]]:
    """(code, name) for every carrier, in registry order, named in the active language (Chinese names in zh)."""
    chinese = (translation.get_language() or "").lower().startswith("zh")
    return [(carrier.code, carrier.name_zh if chinese else str(carrier.name)) for carrier in CARRIERS]


def tracking_url(carrier_code: str, number: str) -> str:
    """The public tracking page of ``number`` at the carrier; "" for "other" or an unknown carrier."""
    carrier = _BY_CODE.get(carrier_code)
    if carrier is None or not carrier.tracking_url:
        return ""
    return carrier.tracking_url.format(number=quote(normalise_number(number), safe=""))


def tracking_warning(carrier_code: str, number: str) -> str | None:
    """What to tell the user about an accepted number, or None: numbers for "other" go unchecked and unlinked."""
    if carrier_code == "other":
        return gettext("Carrier 'other': the number cannot be checked and no tracking link is sent.")
    return None


# -- Checking numbers -------------------------------------------------------------------------------------------


class _Failure(NamedTuple):
    """Why a number fails one rule. Kinds, most telling first: check_digit, service, country, format."""

    kind: str
    detail: str = ""


_RANK = {"check_digit": 0, "service": 1, "country": 2, "format": 3}
_Rule = Callable[[str], "_Failure | None"]


def _best(failures: Iterable[_Failure]) -> _Failure:
    # A number that has a carrier's form but the wrong check digit says more than one that has no form at all.
    return min(failures, key=lambda failure: _RANK[failure.kind], default=_Failure("format"))


def _pattern(regex: str) -> _Rule:
    compiled = re.compile(regex, re.ASCII)

    def check(number: str) -> _Failure | None:
        return None if compiled.fullmatch(number) else _Failure("format")

    return check


def _definitions(courier: str) -> tuple[TrackingNumberDefinition, ...]:
    found = tuple(definition for definition in DEFINITIONS if definition.courier.code == courier)
    if not found:  # a release of the data set renamed its couriers: fail at import, not on the first upload
        raise RuntimeError(f"tracking-numbers has no definitions for courier {courier!r}")
    return found


def _definition_failure(
    definition: TrackingNumberDefinition, number: str, *, ignore: frozenset[str]
) -> _Failure | None:
    """How ``number`` fails one definition of the data set; None when it passes."""
    try:
        parsed = definition.test(number)
    except ValueError:
        # The data set lets a UPS check "digit" be a letter, then cannot compute with it: never valid.
        return _Failure("check_digit")
    if parsed is None:
        return _Failure("format")
    failures = []
    for name, _message in parsed.validation_errors:
        if name in ignore:
            continue
        if name == "checksum":
            failures.append(_Failure("check_digit"))
        elif name == "Courier":  # S10: the last two letters name no UPU member's post
            failures.append(_Failure("country", number[-2:]))
        else:  # "Service Type" (UPS, USPS, S10), "Container Type" (FedEx SSCC)
            failures.append(_Failure("service", _service_code(definition, number)))
    return _best(failures) if failures else None


def _service_code(definition: TrackingNumberDefinition, number: str) -> str:
    match = definition.number_regex.fullmatch(number)
    groups = match.groupdict() if match else {}
    return groups.get("ServiceType") or groups.get("ShippingContainerType") or ""


def _data_set(courier: str) -> _Rule:
    """The published rules of ``courier`` in tracking-numbers: valid when any of its formats accepts the number."""
    definitions = _definitions(courier)

    def check(number: str) -> _Failure | None:
        failures = []
        for definition in definitions:
            failure = _definition_failure(definition, number, ignore=frozenset())
            if failure is None:
                return None
            failures.append(failure)
        return _best(failures)

    return check


def _s10(*, country: str | None = None, any_service: bool = False) -> _Rule:
    """UPU S10 (2 letters, 8 digits, check digit, country): its mod 11 check digit and UPU country list.

    ``country``: only this post's numbers. ``any_service``: accept service letters the UPU leaves to
    domestic use (Royal Mail's inland services) instead of only the indicators S10 assigns.
    """
    (definition,) = _definitions("s10")
    ignore = frozenset({"Service Type"}) if any_service else frozenset()

    def check(number: str) -> _Failure | None:
        failure = _definition_failure(definition, number, ignore=ignore)
        if failure is None and country and number[-2:] != country:
            return _Failure("country", number[-2:])
        return failure

    return check


def _any_of(*rules: _Rule) -> _Rule:
    def check(number: str) -> _Failure | None:
        failures = []
        for rule in rules:
            failure = rule(number)
            if failure is None:
                return None
            failures.append(failure)
        return _best(failures)

    return check


# The Chinese express carriers publish no check digit and no formal numbering rule; these formats follow
# the numbers the carriers' own sites, open platforms and order exports show (sources per carrier), kept
# loose enough for every series in use. A match says "could be this carrier's", not "was issued".
_RULES: dict[str, _Rule] = {
    # SF open platform (sfapi) waybills: SF + 13 digits (SF7444400048449); older paper waybills 12 digits.
    "sf": _pattern(r"SF[0-9]{12,13}|[0-9]{12}"),
    # ZTO electronic waybills: 12 digits (2008…, 5711…, 7x…), 14 (7310…) and 15 (4325…) digits.
    "zto": _pattern(r"[0-9]{12,15}"),
    # YTO: YT + 13 digits (YT7460266600081) since its electronic waybills; older 10/12/13 digits, 18 digits (6-9…).
    "yto": _pattern(r"YT[0-9]{13}|[0-9]{10}|[0-9]{12,13}|[6-9][0-9]{17}"),
    # STO: 12 to 15 digits (268…, 773… series; 77316523125896), legacy STO + 10 digits.
    "sto": _pattern(r"[0-9]{12,15}|STO[0-9]{10}"),
    # Yunda: 13 digits (older), 15 digits (current, 4625…, 3130…).
    "yunda": _pattern(r"[0-9]{13}|[0-9]{15}"),
    # JD: JD + series letters (JDVA, JDX, JDK…) + digits (JDVA11408814483, JDX000…); a "-1-1-" parcel suffix
    # is a dash-separated box count and survives normalisation as digits.
    "jd": _pattern(r"JD[A-Z]{0,2}[0-9]{11,15}"),
    # J&T Express (极兔) China: JT + 13 digits (JT0006968326954).
    "jtexpress": _pattern(r"JT[0-9]{13}"),
    # EMS / China Post: international S10 numbers end in CN; domestic EMS and parcel numbers are 13 digits.
    "ems": _any_of(_s10(country="CN"), _pattern(r"[0-9]{13}")),
    # Cainiao: LP + 14 digits (AliExpress Standard, LP00139185155139), LP numbers with a country suffix
    # (LP00582910482CN), CN-prefixed consolidation numbers, and the S10 numbers of the posts it hands over to
    # (LP194594073SG is one: 13 characters are checked as S10).
    "cainiao": _any_of(_s10(), _pattern(r"LP[0-9]{12,20}|LP[0-9]{11,18}[A-Z]{2}|CN[A-Z0-9]{12,28}")),
    "ups": _data_set("ups"),
    "fedex": _data_set("fedex"),
    # USPS domestic (IMpb, 20 to 34 digits) and its international S10 numbers (…US).
    "usps": _any_of(_data_set("usps"), _s10(country="US")),
    "dhl": _data_set("dhl"),
    # Royal Mail numbers are S10 with GB, inland services included (their service letters are Royal Mail's own).
    "royalmail": _s10(country="GB", any_service=True),
    "other": _pattern(r"[A-Z0-9]{4,40}"),
}
if set(_RULES) != set(_BY_CODE):
    raise RuntimeError("every carrier needs a number rule")


def tracking_problem(carrier_code: str, number: str) -> str | None:
    """None when ``number`` (normalised first) can be a tracking number of the carrier ``carrier_code``;
    otherwise a short reason in the active language, saying what such a number looks like."""
    carrier = _BY_CODE.get(carrier_code)
    if carrier is None:
        return gettext("Unknown carrier “%(carrier)s”.") % {"carrier": carrier_code}
    number = normalise_number(number)
    if not number:
        return gettext("Enter a tracking number.")
    failure = _RULES[carrier_code](number)
    if failure is None:
        return None
    values = {"rule": carrier.number_format, "number": number, "code": failure.detail, "carrier": carrier.name}
    return _REASONS[failure.kind]() % values


# Each kind of failure, worded after the carrier's number_format (gettext at call time: the active language).
_REASONS: dict[str, Callable[[], str]] = {
    "check_digit": lambda: gettext("%(rule)s; the check digit of %(number)s does not match."),
    "service": lambda: gettext("%(rule)s; %(carrier)s issues no numbers with service code %(code)s."),
    "country": lambda: gettext("%(rule)s; %(number)s ends in %(code)s."),
    "format": lambda: gettext("%(rule)s; %(number)s does not have that form."),
}
