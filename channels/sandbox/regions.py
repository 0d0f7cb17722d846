"""Where the sandbox shop's buyers live, what they are called, and what shipping and discounts they get.

Pure data: six countries weighted as a cross-border seller's sales are, with
places, streets, names, phone prefixes, tax rates, shipping prices and
discount codes per currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Place:
    province: str | None
    province_code: str | None
    city: str
    zips: tuple[str, ...]
    streets: tuple[str, ...]  # str.format templates; "district|street" where a district comes first
    phone_prefix: str
    tax_rate: Decimal | None = None  # where it differs from the country's (US sales tax by state)


@dataclass(frozen=True)
class Region:
    country: str
    country_code: str
    currency: str
    locale: str
    weight: int
    tax_title: str
    tax_rate: Decimal
    tax_shipping: bool
    places: tuple[Place, ...]
    first_names: tuple[tuple[str, str], ...]  # (as written, ASCII for the e-mail address)
    last_names: tuple[tuple[str, str], ...]
    phone_digits: int
    units: tuple[str, ...]  # address2 templates
    notes: tuple[str, ...]


def _ascii_names(*names: str) -> tuple[tuple[str, str], ...]:
    fold = str.maketrans({"ü": "ue", "ö": "oe", "ä": "ae", "ß": "ss", "Ü": "Ue", "Ö": "Oe", "Ä": "Ae"})
    return tuple((name, name.translate(fold)) for name in names)


_ENGLISH_FIRST = _ascii_names(
    "Emma", "Olivia", "Liam", "Noah", "Ava", "Sophia", "James", "Lucas", "Mia", "Ethan", "Grace", "Jack", "Chloe",
    "Oliver", "Amelia", "Henry",
)  # fmt: skip
_ENGLISH_LAST = _ascii_names(
    "Smith", "Johnson", "Brown", "Williams", "Taylor", "Wilson", "Martin", "Anderson", "Thompson", "Walker",
    "Clarke", "Harris", "Nguyen", "Patel", "Kelly", "Murphy",
)  # fmt: skip
_ENGLISH_NOTES = (
    "Please leave the parcel with the concierge.",
    "It's a gift, please don't include the receipt.",
    "Ring the bell twice, please.",
    "Deliver after 6 pm if possible.",
)

REGIONS: tuple[Region, ...] = (
    Region(
        country="United States", country_code="US", currency="USD", locale="en", weight=35,
        tax_title="Sales Tax", tax_rate=Decimal(0), tax_shipping=False,
        places=(
            Place("New York", "NY", "New York", ("10001", "10011", "10016"), ("{n} W 23rd St", "{n} Broadway"),
                   "+121255501", Decimal("0.08875")),
            Place("California", "CA", "San Francisco", ("94103", "94110"), ("{n} Valencia St", "{n} Market St"),
                   "+141555501", Decimal("0.08625")),
            Place("Texas", "TX", "Austin", ("78701", "78704"), ("{n} S Congress Ave", "{n} E 6th St"),
                   "+151255501", Decimal("0.0825")),
            Place("Washington", "WA", "Seattle", ("98101", "98122"), ("{n} Pike St", "{n} E Pine St"),
                   "+120655501", Decimal("0.1025")),
            Place("Illinois", "IL", "Chicago", ("60601", "60614"), ("{n} N Clark St", "{n} W Armitage Ave"),
                   "+131255501", Decimal("0.1025")),
            Place("Oregon", "OR", "Portland", ("97205", "97214"), ("{n} SW Alder St", "{n} SE Hawthorne Blvd"),
                   "+150355501", Decimal(0)),
        ),
        first_names=_ENGLISH_FIRST, last_names=_ENGLISH_LAST, phone_digits=2,
        units=("Apt {a}{letter}", "Suite {u}", "Unit {b}"), notes=_ENGLISH_NOTES,
    ),
    Region(
        country="China", country_code="CN", currency="CNY", locale="zh-CN", weight=20,
        tax_title="CN VAT", tax_rate=Decimal(0), tax_shipping=False,
        places=(
            Place("浙江省", "ZJ", "杭州市", ("310012", "310013"),
                   ("西湖区|文三路 {n} 号", "拱墅区|莫干山路 {n} 号", "滨江区|江南大道 {n} 号"), "+86138"),
            Place("广东省", "GD", "深圳市", ("518057", "518048"), ("南山区|科技南十二路 {n} 号", "福田区|深南大道 {n} 号"),
                   "+86139"),
            Place("上海市", "SH", "上海市", ("200120", "200030"), ("浦东新区|世纪大道 {n} 号", "徐汇区|漕溪北路 {n} 号"),
                   "+86136"),
            Place("北京市", "BJ", "北京市", ("100020", "100080"), ("朝阳区|建国路 {n} 号", "海淀区|中关村大街 {n} 号"),
                   "+86135"),
            Place("江苏省", "JS", "苏州市", ("215000", "215021"), ("姑苏区|人民路 {n} 号", "工业园区|星湖街 {n} 号"),
                   "+86158"),
            Place("四川省", "SC", "成都市", ("610041",), ("武侯区|人民南路四段 {n} 号", "锦江区|春熙路 {n} 号"), "+86186"),
        ),
        first_names=(("芳", "fang"), ("伟", "wei"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("磊", "lei"),
                     ("洋", "yang"), ("婷", "ting"), ("晓明", "xiaoming"), ("子涵", "zihan")),
        last_names=(("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
                    ("赵", "zhao"), ("黄", "huang")),
        phone_digits=8, units=("{b} 栋 {u} 室", "{b} 号楼 {a} 单元 {u}"),
        notes=("请放在门卫处，谢谢", "送人的礼物，请不要放发票", "周末送货", "配送前请电话联系"),
    ),
    Region(
        country="United Kingdom", country_code="GB", currency="GBP", locale="en-GB", weight=12,
        tax_title="GB VAT", tax_rate=Decimal("0.20"), tax_shipping=True,
        places=(
            Place(None, None, "London", ("EC1V 9HX", "SW1A 2AA", "N1 9GU"), ("{n} Old Street", "{n} Upper Street"),
                   "+442079460"),
            Place(None, None, "Manchester", ("M1 1AE", "M4 1HN"), ("{n} Deansgate", "{n} Oldham Street"),
                   "+441614960"),
            Place(None, None, "Edinburgh", ("EH1 1RE", "EH3 9DR"), ("{n} High Street", "{n} Lothian Road"),
                   "+441314960"),
            Place(None, None, "Bristol", ("BS1 5TR", "BS8 1QU"), ("{n} Park Street", "{n} Whiteladies Road"),
                   "+441174960"),
        ),
        first_names=_ENGLISH_FIRST, last_names=_ENGLISH_LAST, phone_digits=3,
        units=("Flat {a}", "Flat {b}{letter}"), notes=_ENGLISH_NOTES,
    ),
    Region(
        country="Germany", country_code="DE", currency="EUR", locale="de", weight=10,
        tax_title="DE MwSt", tax_rate=Decimal("0.19"), tax_shipping=True,
        places=(
            Place(None, None, "Berlin", ("10115", "10437", "10999"), ("Invalidenstraße {n}", "Kastanienallee {n}"),
                   "+4930"),
            Place(None, None, "München", ("80331", "80469"), ("Sendlinger Straße {n}", "Fraunhoferstraße {n}"),
                   "+4989"),
            Place(None, None, "Hamburg", ("20095", "22767"), ("Mönckebergstraße {n}", "Große Bergstraße {n}"),
                   "+4940"),
            Place(None, None, "Köln", ("50667", "50677"), ("Hohe Straße {n}", "Severinstraße {n}"), "+49221"),
        ),
        first_names=_ascii_names("Lukas", "Anna", "Felix", "Lena", "Jonas", "Marie", "Paul", "Sophie", "Leon", "Jürgen"),
        last_names=_ascii_names("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
                                "Hoffmann", "Schäfer"),
        phone_digits=7, units=("{a}. OG", "Hinterhaus, {a}. OG"),
        notes=("Bitte beim Nachbarn abgeben, falls niemand da ist.", "Bitte nicht klingeln, Baby schläft."),
    ),
    Region(
        country="Japan", country_code="JP", currency="JPY", locale="ja", weight=10,
        tax_title="JP CT", tax_rate=Decimal("0.10"), tax_shipping=True,
        places=(
            Place("Tokyo", "JP-13", "Shibuya-ku", ("150-0001", "150-0002"), ("Jingumae {a}-{b}-{c}",), "+8190"),
            Place("Tokyo", "JP-13", "渋谷区", ("150-0001",), ("神宮前{a}-{b}-{c}",), "+8180"),
            Place("Osaka", "JP-27", "大阪市北区", ("530-0001",), ("梅田{a}-{b}-{c}",), "+8170"),
            Place("Kyoto", "JP-26", "Kyoto-shi Nakagyo-ku", ("604-8005",), ("Kawaramachi {a}-{b}",), "+8190"),
            Place("Kanagawa", "JP-14", "Yokohama-shi Naka-ku", ("231-0023",), ("Yamashitacho {a}-{b}",), "+8180"),
        ),
        first_names=(("結衣", "yui"), ("陽翔", "haruto"), ("さくら", "sakura"), ("Ren", "ren"), ("Aoi", "aoi"),
                     ("Sota", "sota")),
        last_names=(("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("Tanaka", "tanaka"),
                    ("Watanabe", "watanabe"), ("Yamamoto", "yamamoto")),
        phone_digits=8, units=("Sunny Heights {u}", "メゾン青山 {u}号室"),
        notes=("置き配希望です。", "ギフト包装をお願いします。"),
    ),
    Region(
        country="Australia", country_code="AU", currency="AUD", locale="en-AU", weight=13,
        tax_title="AU GST", tax_rate=Decimal("0.10"), tax_shipping=True,
        places=(
            Place("New South Wales", "NSW", "Sydney", ("2000", "2010"), ("{n} George St", "{n} Crown St"),
                   "+6149157"),
            Place("Victoria", "VIC", "Melbourne", ("3000", "3065"), ("{n} Collins St", "{n} Brunswick St"),
                   "+6149157"),
            Place("Queensland", "QLD", "Brisbane", ("4000", "4101"), ("{n} Queen St", "{n} Boundary St"),
                   "+6149157"),
            Place("Western Australia", "WA", "Perth", ("6000",), ("{n} Hay St",), "+6149157"),
        ),
        first_names=_ENGLISH_FIRST, last_names=_ENGLISH_LAST, phone_digits=4,
        units=("Unit {a}", "Level {a}"), notes=_ENGLISH_NOTES,
    ),
)  # fmt: skip
REGIONS_BY_CODE = {region.country_code: region for region in REGIONS}
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # never a real inbox

# (standard, express, free shipping from) in the buyer's currency: domestic, then international.
SHIPPING: Mapping[str, tuple[str, str, str]] = {
    "USD": ("5.99", "14.99", "75"),
    "EUR": ("6.99", "16.99", "79"),
    "GBP": ("4.99", "12.99", "60"),
    "AUD": ("9.95", "24.95", "120"),
    "CNY": ("15", "30", "299"),
    "JPY": ("800", "1800", "10000"),
}
INTERNATIONAL_SHIPPING: Mapping[str, tuple[str, str, str]] = {
    "USD": ("14.99", "29.99", "150"),
    "EUR": ("13.99", "27.99", "140"),
    "GBP": ("11.99", "24.99", "120"),
    "AUD": ("21.95", "44.95", "230"),
    "CNY": ("99", "199", "999"),
    "JPY": ("2200", "4400", "22000"),
}
FIXED_DISCOUNTS: Mapping[str, tuple[int, ...]] = {
    "USD": (5, 10),
    "EUR": (5, 10),
    "GBP": (5, 10),
    "AUD": (10, 15),
    "CNY": (30, 50),
    "JPY": (500, 1000),
}
PERCENT_CODES = {10: "WELCOME10", 15: "SPRING15", 20: "VIP20"}
