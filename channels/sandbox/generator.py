"""The sandbox shop's orders: made up deterministically, shaped exactly like Shopify's REST Order resource.

One ``SandboxShop`` is one store. Its currency is the shop currency (USD by
default): every top-level amount and every ``shop_money`` is in it, while the
buyer pays in their ``presentment_currency`` (EUR, GBP, CNY, JPY, AUD or the
shop currency), as Shopify Markets does. Amounts are made in the buyer's
currency first and each part is converted on its own, so in both currencies

    total_price = total_line_items_price - total_discounts + total_shipping + total_tax

holds to the minor unit, and every aggregate is the sum of its parts.

Everything random comes from one seeded ``random.Random`` whose state is
persisted, so a shop with the same seed and the same calls makes the same
orders, across restarts too. Time comes from an injectable clock.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STATE_FORMAT = "relay-sandbox-shop/1"
DEFAULT_LIMIT = 50
MAX_LIMIT = 250  # Shopify's maximum page size
SHOP_NAME = "Relay Sandbox Shop"
SHOP_ID = 61_432_790_017
LOCATION_ID = 71_038_466_113
# A cross-border seller in Hangzhou: Shopify stamps every time in the shop's zone.
# A fixed offset (China has no daylight saving) keeps us free of the tz database.
SHOP_TIMEZONE = dt.timezone(dt.timedelta(hours=8), "CST")
SHOP_IANA_TIMEZONE = "Asia/Shanghai"
FIRST_ORDER_NUMBER = 1001
FIRST_ID = 5_820_114_000_000  # Shopify ids are 13-digit integers
# Orders become candidates for a later change only after this long, so a buyer
# never cancels an order in the same tick that created it.
MUTATION_MIN_AGE = 60
# Changes are drawn among the most recent orders only, as in a real shop.
MUTATION_WINDOW = 500
# After a long stop, a restart does not make hours of orders at once.
MAX_CATCH_UP_SECONDS = 300.0

# Units of each currency per US dollar; fixed so that amounts are reproducible.
RATES: Mapping[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "CNY": Decimal("7.20"),
    "JPY": Decimal("150"),
    "AUD": Decimal("1.52"),
}
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})

ORDER_STATUSES = frozenset({"open", "closed", "cancelled", "any"})
FINANCIAL_STATUS_FILTERS = frozenset(
    {"any", "authorized", "pending", "paid", "partially_paid", "refunded", "voided", "partially_refunded", "unpaid"}
)
FULFILLMENT_STATUS_FILTERS = frozenset({"any", "shipped", "partial", "unshipped", "unfulfilled"})


class ShopError(Exception):
    """A request the shop refuses; ``status`` and ``errors`` are what Shopify would answer with."""

    def __init__(self, status: int, errors: Any):
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors


# ---------------------------------------------------------------------- money


def minor_digits(currency: str) -> int:
    return 0 if currency in _ZERO_DECIMAL_CURRENCIES else 2


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_digits(currency)), rounding=ROUND_HALF_UP)


def money_text(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


@dataclass(frozen=True)
class _Pair:
    """One amount in the shop's money and in the buyer's."""

    shop: Decimal
    presentment: Decimal

    def __add__(self, other: _Pair) -> _Pair:
        return _Pair(self.shop + other.shop, self.presentment + other.presentment)

    def __sub__(self, other: _Pair) -> _Pair:
        return _Pair(self.shop - other.shop, self.presentment - other.presentment)

    def __mul__(self, factor: int) -> _Pair:
        return _Pair(self.shop * factor, self.presentment * factor)


_ZERO = _Pair(Decimal(0), Decimal(0))


def _total(pairs: Iterable[_Pair]) -> _Pair:
    result = _ZERO
    for pair in pairs:
        result = result + pair
    return result


@dataclass(frozen=True)
class _Money:
    shop_currency: str
    presentment_currency: str

    def pair(self, presentment: Decimal) -> _Pair:
        """The amount in the buyer's currency with its shop-currency counterpart, each rounded on its own."""
        presentment = quantize(presentment, self.presentment_currency)
        shop = presentment / RATES[self.presentment_currency] * RATES[self.shop_currency]
        return _Pair(quantize(shop, self.shop_currency), presentment)

    def text(self, pair: _Pair) -> str:
        return money_text(pair.shop, self.shop_currency)

    def set(self, pair: _Pair) -> dict[str, dict[str, str]]:
        return {
            "shop_money": {"amount": money_text(pair.shop, self.shop_currency), "currency_code": self.shop_currency},
            "presentment_money": {
                "amount": money_text(pair.presentment, self.presentment_currency),
                "currency_code": self.presentment_currency,
            },
        }

    @staticmethod
    def read(price_set: Mapping[str, Any]) -> _Pair:
        return _Pair(Decimal(price_set["shop_money"]["amount"]), Decimal(price_set["presentment_money"]["amount"]))


def _spread(total: Decimal, weights: list[Decimal], currency: str) -> list[Decimal]:
    """``total`` split in proportion to ``weights`` to the minor unit; the parts always sum to the total."""
    unit = Decimal(1).scaleb(-minor_digits(currency))
    whole = sum(weights, Decimal(0))
    raw = [total * weight / whole for weight in weights]
    parts = [share.quantize(unit, rounding=ROUND_DOWN) for share in raw]
    left = int((total - sum(parts, Decimal(0))) / unit)
    # Largest remainders first; ties go to the earlier line so the result is reproducible.
    for index in sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], i))[:left]:
        parts[index] += unit
    return parts


# ---------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class Product:
    """One variant the shop sells; ``sku`` is what Relay maps to its own product."""

    sku: str
    title: str
    variant_title: str | None
    vendor: str
    product_id: int
    variant_id: int
    grams: int
    prices: Mapping[str, Decimal]  # by presentment currency

    @property
    def name(self) -> str:
        return f"{self.title} - {self.variant_title}" if self.variant_title else self.title


def _local_price(usd: Decimal, currency: str) -> Decimal:
    """A shelf price as a merchant would set it per market (9.99, 179, 3480), not a raw conversion."""
    value = usd * RATES[currency]
    if currency == "USD":
        return usd
    if currency == "JPY":
        return Decimal(math.ceil(value / 100) * 100 - 20)
    if currency == "CNY":
        return Decimal(math.ceil(value / 10) * 10 - 1).quantize(Decimal("0.01"))
    return Decimal(math.ceil(value)) - Decimal("0.01")


# sku, title, variant, vendor, USD price, grams
_CATALOGUE_ROWS: tuple[tuple[str, str, str | None, str, str, int], ...] = (
    ("TEE-BLK-S", "Organic Cotton Tee", "Black / S", "Hangzhou Textile", "24.99", 180),
    ("TEE-BLK-M", "Organic Cotton Tee", "Black / M", "Hangzhou Textile", "24.99", 190),
    ("TEE-BLK-L", "Organic Cotton Tee", "Black / L", "Hangzhou Textile", "24.99", 200),
    ("TEE-WHT-M", "Organic Cotton Tee", "White / M", "Hangzhou Textile", "24.99", 190),
    ("TEE-WHT-L", "Organic Cotton Tee", "White / L", "Hangzhou Textile", "24.99", 200),
    ("HOODIE-GRY-M", "Heavyweight Hoodie", "Heather Grey / M", "Hangzhou Textile", "59.00", 620),
    ("HOODIE-GRY-L", "Heavyweight Hoodie", "Heather Grey / L", "Hangzhou Textile", "59.00", 650),
    ("SCARF-WOOL-GRY", "羊毛围巾 灰色", None, "Hangzhou Textile", "42.00", 210),
    ("PILLOW-SILK-STD", "桑蚕丝枕套", "Standard 51×76 cm", "Hangzhou Textile", "48.00", 160),
    ("SILK-EYEMASK", "真丝眼罩", None, "Hangzhou Textile", "19.90", 40),
    ("SOCK-MERINO-M", "Merino Socks", "M (EU 39–42)", "Hangzhou Textile", "16.00", 80),
    ("SOCK-MERINO-L", "Merino Socks", "L (EU 43–46)", "Hangzhou Textile", "16.00", 90),
    ("CAP-NAVY", "Baseball Cap", "Navy", "Hangzhou Textile", "21.00", 110),
    ("BAG-CANVAS-NAT", "Canvas Tote Bag", "Natural", "Hangzhou Textile", "19.00", 240),
    ("TOWEL-LINEN", "Linen Towel", "Sage", "Hangzhou Textile", "26.00", 300),
    ("MUG-CER-350", "陶瓷马克杯 350ml", None, "Jingdezhen Ceramics", "16.50", 380),
    ("MUG-CER-500", "陶瓷马克杯 500ml", None, "Jingdezhen Ceramics", "19.50", 450),
    ("TEA-SET-4", "手工茶杯套装（4只）", None, "Jingdezhen Ceramics", "45.00", 900),
    ("PLANT-POT-12", "Ceramic Plant Pot", "12 cm", "Jingdezhen Ceramics", "18.00", 700),
    ("PLANT-POT-18", "Ceramic Plant Pot", "18 cm", "Jingdezhen Ceramics", "28.00", 1300),
    ("TEA-LONGJING-100", "西湖龙井 明前 100g", None, "West Lake Tea", "38.00", 150),
    ("TEA-OOLONG-100", "Tieguanyin Oolong Tea 100g", None, "West Lake Tea", "29.00", 150),
    ("FAN-HAND-PAINTED", "手绘折扇", None, "West Lake Tea", "15.00", 90),
    ("BOARD-BAMBOO-L", "竹制砧板 大号", None, "Anji Bamboo Works", "29.00", 1100),
    ("CHOPSTICKS-5", "Ebony Chopsticks (5 pairs)", None, "Anji Bamboo Works", "18.00", 120),
    ("BOTTLE-STL-750", "Insulated Steel Bottle", "750 ml / Matte Black", "Yongkang Metalware", "27.00", 390),
    ("BOTTLE-STL-500", "Insulated Steel Bottle", "500 ml / Sand", "Yongkang Metalware", "23.00", 320),
    ("PEN-BRASS", "Brass Ballpoint Pen", None, "Yongkang Metalware", "32.00", 45),
    ("NOTEBOOK-A5-DOT", "A5 Dot Grid Notebook", None, "Yiwu Paper Co.", "14.00", 260),
    ("PUZZLE-1000", "Jigsaw Puzzle 1000 pcs", "West Lake", "Yiwu Paper Co.", "24.00", 650),
    ("CANDLE-SOY-CEDAR", "Soy Candle", "Cedar", "Yiwu Paper Co.", "22.00", 310),
    ("CANDLE-SOY-TEA", "Soy Candle", "Green Tea", "Yiwu Paper Co.", "22.00", 310),
    ("YOGA-MAT-6MM", "Yoga Mat 6 mm", "Moss", "Ningbo Outdoor", "39.00", 1200),
    ("LAMP-DESK-LED", "LED Desk Lamp", None, "Shenzhen Brightway", "49.00", 850),
    ("CABLE-USBC-1M", "USB-C Cable 1 m", None, "Shenzhen Brightway", "12.00", 40),
    ("CHARGER-65W", "65W GaN Charger", None, "Shenzhen Brightway", "45.00", 130),
    ("EARBUDS-WL", "Wireless Earbuds", "White", "Shenzhen Brightway", "79.00", 60),
    ("CASE-IP15-CLR", "Phone Case", "iPhone 15 / Clear", "Shenzhen Brightway", "25.00", 35),
    ("CASE-IP16-CLR", "Phone Case", "iPhone 16 / Clear", "Shenzhen Brightway", "25.00", 35),
    ("POWERBANK-10K", "充电宝 10000mAh", None, "Shenzhen Brightway", "35.00", 210),
)


def _build_catalogue() -> tuple[Product, ...]:
    product_ids: dict[str, int] = {}
    products = []
    for position, (sku, title, variant, vendor, usd, grams) in enumerate(_CATALOGUE_ROWS):
        product_id = product_ids.setdefault(title, 8_104_220_000_000 + 7_919 * len(product_ids))
        prices = {currency: _local_price(Decimal(usd), currency) for currency in RATES}
        variant_id = 44_381_905_000_000 + 1_297 * position
        products.append(Product(sku, title, variant, vendor, product_id, variant_id, grams, prices))
    return tuple(products)


CATALOGUE: tuple[Product, ...] = _build_catalogue()
PRODUCTS_BY_SKU: Mapping[str, Product] = {product.sku: product for product in CATALOGUE}


# ---------------------------------------------------------------------- where buyers live


@dataclass(frozen=True)
class _Place:
    province: str | None
    province_code: str | None
    city: str
    zips: tuple[str, ...]
    streets: tuple[str, ...]  # str.format templates; "district|street" where a district comes first
    phone_prefix: str
    tax_rate: Decimal | None = None  # where it differs from the country's (US sales tax by state)


@dataclass(frozen=True)
class _Region:
    country: str
    country_code: str
    currency: str
    locale: str
    weight: int
    tax_title: str
    tax_rate: Decimal
    tax_shipping: bool
    places: tuple[_Place, ...]
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

REGIONS: tuple[_Region, ...] = (
    _Region(
        country="United States", country_code="US", currency="USD", locale="en", weight=35,
        tax_title="Sales Tax", tax_rate=Decimal(0), tax_shipping=False,
        places=(
            _Place("New York", "NY", "New York", ("10001", "10011", "10016"), ("{n} W 23rd St", "{n} Broadway"),
                   "+121255501", Decimal("0.08875")),
            _Place("California", "CA", "San Francisco", ("94103", "94110"), ("{n} Valencia St", "{n} Market St"),
                   "+141555501", Decimal("0.08625")),
            _Place("Texas", "TX", "Austin", ("78701", "78704"), ("{n} S Congress Ave", "{n} E 6th St"),
                   "+151255501", Decimal("0.0825")),
            _Place("Washington", "WA", "Seattle", ("98101", "98122"), ("{n} Pike St", "{n} E Pine St"),
                   "+120655501", Decimal("0.1025")),
            _Place("Illinois", "IL", "Chicago", ("60601", "60614"), ("{n} N Clark St", "{n} W Armitage Ave"),
                   "+131255501", Decimal("0.1025")),
            _Place("Oregon", "OR", "Portland", ("97205", "97214"), ("{n} SW Alder St", "{n} SE Hawthorne Blvd"),
                   "+150355501", Decimal(0)),
        ),
        first_names=_ENGLISH_FIRST, last_names=_ENGLISH_LAST, phone_digits=2,
        units=("Apt {a}{letter}", "Suite {u}", "Unit {b}"), notes=_ENGLISH_NOTES,
    ),
    _Region(
        country="China", country_code="CN", currency="CNY", locale="zh-CN", weight=20,
        tax_title="CN VAT", tax_rate=Decimal(0), tax_shipping=False,
        places=(
            _Place("浙江省", "ZJ", "杭州市", ("310012", "310013"),
                   ("西湖区|文三路 {n} 号", "拱墅区|莫干山路 {n} 号", "滨江区|江南大道 {n} 号"), "+86138"),
            _Place("广东省", "GD", "深圳市", ("518057", "518048"), ("南山区|科技南十二路 {n} 号", "福田区|深南大道 {n} 号"),
                   "+86139"),
            _Place("上海市", "SH", "上海市", ("200120", "200030"), ("浦东新区|世纪大道 {n} 号", "徐汇区|漕溪北路 {n} 号"),
                   "+86136"),
            _Place("北京市", "BJ", "北京市", ("100020", "100080"), ("朝阳区|建国路 {n} 号", "海淀区|中关村大街 {n} 号"),
                   "+86135"),
            _Place("江苏省", "JS", "苏州市", ("215000", "215021"), ("姑苏区|人民路 {n} 号", "工业园区|星湖街 {n} 号"),
                   "+86158"),
            _Place("四川省", "SC", "成都市", ("610041",), ("武侯区|人民南路四段 {n} 号", "锦江区|春熙路 {n} 号"), "+86186"),
        ),
        first_names=(("芳", "fang"), ("伟", "wei"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("磊", "lei"),
                     ("洋", "yang"), ("婷", "ting"), ("晓明", "xiaoming"), ("子涵", "zihan")),
        last_names=(("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
                    ("赵", "zhao"), ("黄", "huang")),
        phone_digits=8, units=("{b} 栋 {u} 室", "{b} 号楼 {a} 单元 {u}"),
        notes=("请放在门卫处，谢谢", "送人的礼物，请不要放发票", "周末送货", "配送前请电话联系"),
    ),
    _Region(
        country="United Kingdom", country_code="GB", currency="GBP", locale="en-GB", weight=12,
        tax_title="GB VAT", tax_rate=Decimal("0.20"), tax_shipping=True,
        places=(
            _Place(None, None, "London", ("EC1V 9HX", "SW1A 2AA", "N1 9GU"), ("{n} Old Street", "{n} Upper Street"),
                   "+442079460"),
            _Place(None, None, "Manchester", ("M1 1AE", "M4 1HN"), ("{n} Deansgate", "{n} Oldham Street"),
                   "+441614960"),
            _Place(None, None, "Edinburgh", ("EH1 1RE", "EH3 9DR"), ("{n} High Street", "{n} Lothian Road"),
                   "+441314960"),
            _Place(None, None, "Bristol", ("BS1 5TR", "BS8 1QU"), ("{n} Park Street", "{n} Whiteladies Road"),
                   "+441174960"),
        ),
        first_names=_ENGLISH_FIRST, last_names=_ENGLISH_LAST, phone_digits=3,
        units=("Flat {a}", "Flat {b}{letter}"), notes=_ENGLISH_NOTES,
    ),
    _Region(
        country="Germany", country_code="DE", currency="EUR", locale="de", weight=10,
        tax_title="DE MwSt", tax_rate=Decimal("0.19"), tax_shipping=True,
        places=(
            _Place(None, None, "Berlin", ("10115", "10437", "10999"), ("Invalidenstraße {n}", "Kastanienallee {n}"),
                   "+4930"),
            _Place(None, None, "München", ("80331", "80469"), ("Sendlinger Straße {n}", "Fraunhoferstraße {n}"),
                   "+4989"),
            _Place(None, None, "Hamburg", ("20095", "22767"), ("Mönckebergstraße {n}", "Große Bergstraße {n}"),
                   "+4940"),
            _Place(None, None, "Köln", ("50667", "50677"), ("Hohe Straße {n}", "Severinstraße {n}"), "+49221"),
        ),
        first_names=_ascii_names("Lukas", "Anna", "Felix", "Lena", "Jonas", "Marie", "Paul", "Sophie", "Leon", "Jürgen"),
        last_names=_ascii_names("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
                                "Hoffmann", "Schäfer"),
        phone_digits=7, units=("{a}. OG", "Hinterhaus, {a}. OG"),
        notes=("Bitte beim Nachbarn abgeben, falls niemand da ist.", "Bitte nicht klingeln, Baby schläft."),
    ),
    _Region(
        country="Japan", country_code="JP", currency="JPY", locale="ja", weight=10,
        tax_title="JP CT", tax_rate=Decimal("0.10"), tax_shipping=True,
        places=(
            _Place("Tokyo", "JP-13", "Shibuya-ku", ("150-0001", "150-0002"), ("Jingumae {a}-{b}-{c}",), "+8190"),
            _Place("Tokyo", "JP-13", "渋谷区", ("150-0001",), ("神宮前{a}-{b}-{c}",), "+8180"),
            _Place("Osaka", "JP-27", "大阪市北区", ("530-0001",), ("梅田{a}-{b}-{c}",), "+8170"),
            _Place("Kyoto", "JP-26", "Kyoto-shi Nakagyo-ku", ("604-8005",), ("Kawaramachi {a}-{b}",), "+8190"),
            _Place("Kanagawa", "JP-14", "Yokohama-shi Naka-ku", ("231-0023",), ("Yamashitacho {a}-{b}",), "+8180"),
        ),
        first_names=(("結衣", "yui"), ("陽翔", "haruto"), ("さくら", "sakura"), ("Ren", "ren"), ("Aoi", "aoi"),
                     ("Sota", "sota")),
        last_names=(("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("Tanaka", "tanaka"),
                    ("Watanabe", "watanabe"), ("Yamamoto", "yamamoto")),
        phone_digits=8, units=("Sunny Heights {u}", "メゾン青山 {u}号室"),
        notes=("置き配希望です。", "ギフト包装をお願いします。"),
    ),
    _Region(
        country="Australia", country_code="AU", currency="AUD", locale="en-AU", weight=13,
        tax_title="AU GST", tax_rate=Decimal("0.10"), tax_shipping=True,
        places=(
            _Place("New South Wales", "NSW", "Sydney", ("2000", "2010"), ("{n} George St", "{n} Crown St"),
                   "+6149157"),
            _Place("Victoria", "VIC", "Melbourne", ("3000", "3065"), ("{n} Collins St", "{n} Brunswick St"),
                   "+6149157"),
            _Place("Queensland", "QLD", "Brisbane", ("4000", "4101"), ("{n} Queen St", "{n} Boundary St"),
                   "+6149157"),
            _Place("Western Australia", "WA", "Perth", ("6000",), ("{n} Hay St",), "+6149157"),
        ),
        first_names=_ENGLISH_FIRST, last_names=_ENGLISH_LAST, phone_digits=4,
        units=("Unit {a}", "Level {a}"), notes=_ENGLISH_NOTES,
    ),
)  # fmt: skip
_REGIONS_BY_CODE = {region.country_code: region for region in REGIONS}
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # never a real inbox

# (standard, express, free shipping from) in the buyer's currency: domestic, then international.
_SHIPPING: Mapping[str, tuple[str, str, str]] = {
    "USD": ("5.99", "14.99", "75"),
    "EUR": ("6.99", "16.99", "79"),
    "GBP": ("4.99", "12.99", "60"),
    "AUD": ("9.95", "24.95", "120"),
    "CNY": ("15", "30", "299"),
    "JPY": ("800", "1800", "10000"),
}
_INTERNATIONAL_SHIPPING: Mapping[str, tuple[str, str, str]] = {
    "USD": ("14.99", "29.99", "150"),
    "EUR": ("13.99", "27.99", "140"),
    "GBP": ("11.99", "24.99", "120"),
    "AUD": ("21.95", "44.95", "230"),
    "CNY": ("99", "199", "999"),
    "JPY": ("2200", "4400", "22000"),
}
_FIXED_DISCOUNTS: Mapping[str, tuple[int, ...]] = {
    "USD": (5, 10),
    "EUR": (5, 10),
    "GBP": (5, 10),
    "AUD": (10, 15),
    "CNY": (30, 50),
    "JPY": (500, 1000),
}
_PERCENT_CODES = {10: "WELCOME10", 15: "SPRING15", 20: "VIP20"}


def _iso(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, SHOP_TIMEZONE).isoformat()


def _epoch(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp())


def _aware_epoch(moment: dt.datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("filter times must be aware datetimes")
    return moment.timestamp()


# ---------------------------------------------------------------------- queries


@dataclass(frozen=True)
class OrderFilter:
    """The filters Shopify's orders.json and orders/count.json take (bounds are inclusive, as Shopify's)."""

    status: str = "any"
    updated_at_min: dt.datetime | None = None
    updated_at_max: dt.datetime | None = None
    created_at_min: dt.datetime | None = None
    created_at_max: dt.datetime | None = None
    since_id: int | None = None
    ids: tuple[int, ...] | None = None
    financial_status: str = "any"
    fulfillment_status: str = "any"

    def __post_init__(self) -> None:
        if self.status not in ORDER_STATUSES:
            raise ValueError(f"status must be one of {sorted(ORDER_STATUSES)}")
        if self.financial_status not in FINANCIAL_STATUS_FILTERS:
            raise ValueError(f"financial_status must be one of {sorted(FINANCIAL_STATUS_FILTERS)}")
        if self.fulfillment_status not in FULFILLMENT_STATUS_FILTERS:
            raise ValueError(f"fulfillment_status must be one of {sorted(FULFILLMENT_STATUS_FILTERS)}")
        for moment in (self.updated_at_min, self.updated_at_max, self.created_at_min, self.created_at_max):
            if moment is not None:
                _aware_epoch(moment)

    def matches(self, order: Mapping[str, Any], *, updated: int, created: int) -> bool:
        bounds = (
            (self.updated_at_min, updated, 1),
            (self.updated_at_max, updated, -1),
            (self.created_at_min, created, 1),
            (self.created_at_max, created, -1),
        )
        for bound, value, sign in bounds:
            if bound is not None and (value - bound.timestamp()) * sign < 0:
                return False
        if self.since_id is not None and order["id"] <= self.since_id:
            return False
        if self.ids is not None and order["id"] not in self.ids:
            return False
        return self._status_matches(order) and self._money_matches(order) and self._shipping_matches(order)

    def _status_matches(self, order: Mapping[str, Any]) -> bool:
        if self.status == "open":
            return order["cancelled_at"] is None and order["closed_at"] is None
        if self.status == "closed":
            return order["closed_at"] is not None
        if self.status == "cancelled":
            return order["cancelled_at"] is not None
        return True

    def _money_matches(self, order: Mapping[str, Any]) -> bool:
        if self.financial_status == "any":
            return True
        if self.financial_status == "unpaid":
            return order["financial_status"] in ("pending", "authorized", "partially_paid")
        return order["financial_status"] == self.financial_status

    def _shipping_matches(self, order: Mapping[str, Any]) -> bool:
        status = order["fulfillment_status"]
        return {
            "any": True,
            "shipped": status == "fulfilled",
            "partial": status == "partial",
            "unshipped": status is None,
            "unfulfilled": status in (None, "partial"),
        }[self.fulfillment_status]


@dataclass(frozen=True)
class OrderPage:
    """One page of orders in (updated_at, id) order, and whether there are more on either side."""

    orders: list[dict]
    has_next: bool
    has_previous: bool


@dataclass(frozen=True)
class TickReport:
    """What one tick did, by order id."""

    created: tuple[int, ...] = ()
    cancelled: tuple[int, ...] = ()
    refunded: tuple[int, ...] = ()
    readdressed: tuple[int, ...] = ()
    paid: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return any((self.created, self.cancelled, self.refunded, self.readdressed, self.paid))


@dataclass(frozen=True)
class _DiscountCode:
    kind: str  # percentage, fixed_amount or shipping (Shopify's discount_codes[].type)
    code: str
    value: str  # as discount_applications[].value shows it
    allocations: list[Decimal]  # per line, in the buyer's currency


@dataclass(frozen=True)
class _Basket:
    """The amounts of one order, part by part in both currencies, before they are written out as Shopify JSON."""

    money: _Money
    products: list[Product]
    quantities: list[int]
    unit_prices: list[_Pair]
    allocations: list[_Pair]  # the discount code's share of each line
    line_taxes: list[_Pair]
    code: _DiscountCode | None
    shipping_title: str
    shipping_code: str
    shipping: _Pair
    shipping_discount: _Pair
    shipping_tax: _Pair
    tax_title: str
    tax_rate: Decimal
    tax_shipping: bool

    @property
    def items(self) -> _Pair:
        return _total(unit * qty for unit, qty in zip(self.unit_prices, self.quantities, strict=True))

    @property
    def line_discounts(self) -> _Pair:
        return _total(self.allocations)

    @property
    def discounts(self) -> _Pair:
        return self.line_discounts + self.shipping_discount

    @property
    def tax(self) -> _Pair:
        return _total(self.line_taxes) + self.shipping_tax

    @property
    def total(self) -> _Pair:
        return self.items - self.discounts + self.shipping + self.tax

    def tax_lines(self, pair: _Pair) -> list[dict]:
        if self.tax_rate == 0:
            return []
        return [
            {
                "title": self.tax_title,
                "price": self.money.text(pair),
                "rate": float(self.tax_rate),
                "price_set": self.money.set(pair),
                "channel_liable": False,
            }
        ]


@dataclass
class _State:
    """Everything that must survive a restart, apart from the orders themselves."""

    seed: int
    currency: str
    last_id: int = FIRST_ID
    next_order_number: int = FIRST_ORDER_NUMBER
    last_tick: float = 0.0
    order_credit: float = 0.0  # fractions of an order owed by the rate, carried between ticks
    customers: list[dict] = field(default_factory=list)
    # order id -> {"id": fulfillment order id, "created_at": ..., "line_ids": {line item id: its FO line id}}
    fulfillment_orders: dict[int, dict] = field(default_factory=dict)


# ---------------------------------------------------------------------- the shop


class SandboxShop:
    """A Shopify store's orders: made up, changed over time, queried and fulfilled like the real thing.

    Thread-safe: every public method holds the shop's lock. Dicts handed out
    are copies. With ``state_path`` set, the shop loads its state from that
    JSON file when it exists and writes it back (atomically) after every change.
    """

    def __init__(
        self,
        *,
        seed: int = 2026,
        rate_per_minute: float = 6.0,
        clock: Callable[[], float] = time.time,
        state_path: str | os.PathLike[str] | None = None,
        currency: str = "USD",
        cancel_rate: float = 0.03,
        refund_rate: float = 0.03,
        address_change_rate: float = 0.02,
        payment_rate: float = 0.06,
        line_count_weights: tuple[int, int, int, int, int] = (45, 25, 15, 10, 5),
    ):
        if rate_per_minute < 0:
            raise ValueError("rate_per_minute must not be negative")
        if currency not in RATES:
            raise ValueError(f"currency must be one of {sorted(RATES)}")
        self.rate_per_minute = rate_per_minute
        # Shares of new orders that bring a change to an older order with them (see tick()).
        self.cancel_rate = cancel_rate
        self.refund_rate = refund_rate
        self.address_change_rate = address_change_rate
        self.payment_rate = payment_rate
        # How often an order has 1, 2, 3, 4 or 5 lines (the default averages about 2).
        self.line_count_weights = line_count_weights
        self._clock = clock
        self._path = Path(state_path) if state_path is not None else None
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self._state = _State(seed=seed, currency=currency, last_tick=clock())
        self._orders: dict[int, dict] = {}
        self._updated: dict[int, int] = {}  # order id -> updated_at as epoch seconds, for sorting and filters
        self._created: dict[int, int] = {}
        self._fulfillment_order_owner: dict[int, int] = {}  # fulfillment order id -> order id
        if self._path is not None and self._path.exists():
            self._load(seed=seed, currency=currency)

    # -------------------------------------------------------------- properties

    @property
    def currency(self) -> str:
        return self._state.currency

    @property
    def seed(self) -> int:
        return self._state.seed

    def __len__(self) -> int:
        with self._lock:
            return len(self._orders)

    def shop_resource(self, *, domain: str) -> dict:
        """The shop.json resource, with ``domain`` as the host the caller reached us on."""
        return {
            "id": SHOP_ID,
            "name": SHOP_NAME,
            "email": "owner@sandbox-shop.example.com",
            "domain": domain,
            "myshopify_domain": "relay-sandbox.myshopify.com",
            "shop_owner": "Relay Sandbox",
            "country": "CN",
            "country_code": "CN",
            "country_name": "China",
            "province": "Zhejiang",
            "province_code": "ZJ",
            "city": "Hangzhou",
            "address1": "西湖区文三路 90 号",
            "zip": "310012",
            "phone": "+8657188880000",
            "currency": self.currency,
            "enabled_presentment_currencies": sorted(RATES),
            "money_format": "${{amount}}" if self.currency == "USD" else "{{amount}}",
            "iana_timezone": SHOP_IANA_TIMEZONE,
            "timezone": "(GMT+08:00) Asia/Shanghai",
            "primary_locale": "en",
            "taxes_included": False,
            "tax_shipping": None,
            "plan_name": "partner_test",
            "plan_display_name": "Developer Preview",
            "has_storefront": True,
            "multi_location_enabled": False,
            "primary_location_id": LOCATION_ID,
            "created_at": "2024-03-01T09:00:00+08:00",
            "updated_at": "2024-03-01T09:00:00+08:00",
        }

    # -------------------------------------------------------------- making orders

    def generate(self, n: int, *, spread_seconds: float = 0.0) -> list[dict]:
        """Make ``n`` new orders and return copies of them.

        They are placed now, or spread over the ``spread_seconds`` before now
        (oldest first, so ids grow with time) to give a fresh shop a history.
        """
        if n < 0:
            raise ValueError("n must not be negative")
        with self._lock:
            now = self._now()
            if spread_seconds > 0:
                moments = sorted(now - int(self._rng.uniform(0, spread_seconds)) for _ in range(n))
            else:
                moments = [now] * n
            made = [self._add_order(moment) for moment in moments]
            if made:
                self._save()
            return copy.deepcopy(made)

    def tick(self) -> TickReport:
        """Advance the shop to now: new orders at ``rate_per_minute`` and changes to some older ones.

        Each new order brings, with the configured shares, a change to an older
        one: a cancellation, a one-line refund, an address change before
        fulfilment, or a pending payment captured. Every change bumps updated_at.
        """
        with self._lock:
            now_float = self._clock()
            elapsed = min(max(0.0, now_float - self._state.last_tick), MAX_CATCH_UP_SECONDS)
            self._state.last_tick = now_float
            credit = self._state.order_credit + elapsed * self.rate_per_minute / 60.0
            due = math.floor(credit)
            self._state.order_credit = credit - due
            now = self._now()
            changes: dict[str, list[int]] = {"cancelled": [], "refunded": [], "readdressed": [], "paid": []}
            for _ in range(due):
                self._maybe_change_one(now, changes)
            created = [self._add_order(now)["id"] for _ in range(due)]
            report = TickReport(created=tuple(created), **{kind: tuple(ids) for kind, ids in changes.items()})
            if report:
                self._save()
            return report

    def _maybe_change_one(self, now: int, changes: dict[str, list[int]]) -> None:
        roll = self._rng.random()
        for kind, share, change in (
            ("cancelled", self.cancel_rate, self._cancel),
            ("refunded", self.refund_rate, self._refund),
            ("readdressed", self.address_change_rate, self._readdress),
            ("paid", self.payment_rate, self._capture),
        ):
            if roll < share:
                candidates = [order for order in self._recent_orders(now) if self._can(kind, order)]
                if candidates:
                    order = self._rng.choice(candidates)
                    change(order, now)
                    changes[kind].append(order["id"])
                return
            roll -= share

    def _recent_orders(self, now: int) -> list[dict]:
        recent = sorted(self._orders)[-MUTATION_WINDOW:]
        return [self._orders[i] for i in recent if now - self._created[i] >= MUTATION_MIN_AGE]

    @staticmethod
    def _can(kind: str, order: Mapping[str, Any]) -> bool:
        if order["cancelled_at"] is not None:
            return False
        if kind in ("cancelled", "readdressed"):
            return not order["fulfillments"]
        if kind == "refunded":
            active = any(line["current_quantity"] > 0 for line in order["line_items"])
            return active and order["financial_status"] in ("paid", "partially_refunded")
        return order["financial_status"] == "pending"

    # -------------------------------------------------------------- changing orders

    def cancel_order(self, order_id: int, *, reason: str = "customer") -> dict:
        """Cancel an unfulfilled order the way a merchant does for a buyer: refund what was paid, restock."""
        with self._lock:
            order = self._order_or_404(order_id)
            if order["cancelled_at"] is not None:
                raise ShopError(422, ["Order has already been cancelled."])
            if order["fulfillments"]:
                raise ShopError(422, ["Order has been fulfilled and cannot be cancelled."])
            self._cancel(order, self._now(), reason=reason)
            self._save()
            return copy.deepcopy(order)

    def refund_line(self, order_id: int, *, line_item_id: int | None = None) -> dict:
        """Refund one whole line (the first one not yet refunded unless ``line_item_id`` says which)."""
        return self._change(
            order_id,
            "refunded",
            "Order has nothing left to refund.",
            lambda order, now: self._refund(order, now, line_item_id=line_item_id),
        )

    def change_shipping_address(self, order_id: int) -> dict:
        """The buyer moves their delivery to another street in the same city, before anything shipped."""
        return self._change(
            order_id, "readdressed", "The shipping address can only change before fulfillment.", self._readdress
        )

    def mark_paid(self, order_id: int) -> dict:
        """A pending payment (bank transfer, cash on delivery) arrives."""
        return self._change(order_id, "paid", "Only a pending order can be marked as paid.", self._capture)

    def _change(self, order_id: int, event: str, refusal: str, apply: Callable[[dict, int], None]) -> dict:
        """Apply one change to an order if it can take it (else a 422 with ``refusal``), save, return a copy."""
        with self._lock:
            order = self._order_or_404(order_id)
            if not self._can(event, order):
                raise ShopError(422, [refusal])
            apply(order, self._now())
            self._save()
            return copy.deepcopy(order)

    def _cancel(self, order: dict, now: int, *, reason: str = "customer") -> None:
        paid = order["financial_status"] in ("paid", "partially_refunded")
        if paid:
            active = [line for line in order["line_items"] if line["current_quantity"] > 0]
            order["refunds"].append(self._refund_record(order, active, now, with_shipping=True, note="Order cancelled"))
            order["financial_status"] = "refunded"
        else:
            order["financial_status"] = "voided"
        for line in order["line_items"]:
            line["current_quantity"] = 0
            line["fulfillable_quantity"] = 0
        order["cancelled_at"] = _iso(now)
        order["cancel_reason"] = reason
        order["closed_at"] = _iso(now)  # Shopify archives a cancelled order
        order["total_outstanding"] = money_text(Decimal(0), order["currency"])
        self._refresh_current_totals(order)
        self._touch(order, now)

    def _refund(self, order: dict, now: int, *, line_item_id: int | None = None) -> None:
        active = [line for line in order["line_items"] if line["current_quantity"] > 0]
        if line_item_id is None:
            line = active[0] if len(active) == 1 else self._rng.choice(active)
        else:
            chosen = [line for line in active if line["id"] == line_item_id]
            if not chosen:
                raise ShopError(422, [f"Line item {line_item_id} has nothing left to refund."])
            line = chosen[0]
        fulfilled = self._fulfilled_quantity(order, line["id"])
        order["refunds"].append(
            self._refund_record(
                order, [line], now, with_shipping=False, note="Returned by the buyer" if fulfilled else "Out of stock"
            )
        )
        line["current_quantity"] = 0
        line["fulfillable_quantity"] = 0
        self._refresh_current_totals(order)
        fully = Decimal(order["current_total_price"]) == 0
        order["financial_status"] = "refunded" if fully else "partially_refunded"
        self._refresh_fulfillment_status(order)
        self._touch(order, now)

    def _readdress(self, order: dict, now: int) -> None:
        region = _REGIONS_BY_CODE[order["shipping_address"]["country_code"]]
        place = next((p for p in region.places if p.city == order["shipping_address"]["city"]), region.places[0])
        address = order["shipping_address"]
        current = {"address1": address["address1"], "address2": address["address2"]}
        street = self._street(region, place)
        while street == current:  # a change of address must change something
            street = self._street(region, place)
        address.update(street)
        self._touch(order, now)

    def _capture(self, order: dict, now: int) -> None:
        order["financial_status"] = "paid"
        order["total_outstanding"] = money_text(Decimal(0), order["currency"])
        self._touch(order, now)

    def _touch(self, order: dict, now: int) -> None:
        # Strictly later than before, so a pull from the previous updated_at always sees the change.
        stamp = max(now, self._updated[order["id"]] + 1)
        self._updated[order["id"]] = stamp
        order["updated_at"] = _iso(stamp)

    # -------------------------------------------------------------- reading

    def get_order(self, order_id: int) -> dict | None:
        with self._lock:
            order = self._orders.get(order_id)
            return copy.deepcopy(order) if order is not None else None

    def list_orders(
        self,
        *,
        status: str = "any",
        updated_at_min: dt.datetime | None = None,
        updated_at_max: dt.datetime | None = None,
        created_at_min: dt.datetime | None = None,
        created_at_max: dt.datetime | None = None,
        since_id: int | None = None,
        limit: int = DEFAULT_LIMIT,
        after: tuple[dt.datetime, int] | None = None,
        before: tuple[dt.datetime, int] | None = None,
    ) -> list[dict]:
        """Orders sorted by (updated_at, id) ascending, at most ``limit`` (capped at 250).

        ``after``/``before`` are (updated_at, id) cursors: only orders strictly after
        (before) them. Raises ValueError for a bad status or naive datetimes.
        """
        flt = OrderFilter(
            status=status,
            updated_at_min=updated_at_min,
            updated_at_max=updated_at_max,
            created_at_min=created_at_min,
            created_at_max=created_at_max,
            since_id=since_id,
        )
        return self.page_orders(flt, limit=limit, after=after, before=before).orders

    def count_orders(
        self,
        *,
        status: str = "any",
        updated_at_min: dt.datetime | None = None,
        updated_at_max: dt.datetime | None = None,
        created_at_min: dt.datetime | None = None,
        created_at_max: dt.datetime | None = None,
        since_id: int | None = None,
    ) -> int:
        flt = OrderFilter(
            status=status,
            updated_at_min=updated_at_min,
            updated_at_max=updated_at_max,
            created_at_min=created_at_min,
            created_at_max=created_at_max,
            since_id=since_id,
        )
        return self.count(flt)

    def count(self, flt: OrderFilter) -> int:
        with self._lock:
            return len(self._matching_keys(flt))

    def page_orders(
        self,
        flt: OrderFilter,
        *,
        limit: int = DEFAULT_LIMIT,
        after: tuple[dt.datetime, int] | None = None,
        before: tuple[dt.datetime, int] | None = None,
    ) -> OrderPage:
        """One page in (updated_at, id) order; see list_orders. ``has_next``/``has_previous`` are exact."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if after is not None and before is not None:
            raise ValueError("give after or before, not both")
        limit = min(limit, MAX_LIMIT)
        with self._lock:
            keys = self._matching_keys(flt)
            if before is not None:
                edge = (_aware_epoch(before[0]), before[1])
                earlier = [key for key in keys if key < edge]
                chosen = earlier[-limit:]
                has_previous = len(earlier) > limit
                has_next = len(earlier) < len(keys)
            else:
                edge = (_aware_epoch(after[0]), after[1]) if after is not None else None
                later = [key for key in keys if edge is None or key > edge]
                chosen = later[:limit]
                has_next = len(later) > limit
                has_previous = len(later) < len(keys)
            orders = [copy.deepcopy(self._orders[order_id]) for _updated, order_id in chosen]
            return OrderPage(orders=orders, has_next=has_next, has_previous=has_previous)

    def _matching_keys(self, flt: OrderFilter) -> list[tuple[int, int]]:
        return sorted(
            (self._updated[order_id], order_id)
            for order_id, order in self._orders.items()
            if flt.matches(order, updated=self._updated[order_id], created=self._created[order_id])
        )

    # -------------------------------------------------------------- fulfilment

    def fulfillment_orders(self, order_id: int) -> list[dict] | None:
        """The order's fulfillment orders (one, at the shop's single location); None for an unknown order."""
        with self._lock:
            order = self._orders.get(order_id)
            if order is None:
                return None
            return [self._fulfillment_order_resource(order)]

    def fulfillments(self, order_id: int) -> list[dict] | None:
        with self._lock:
            order = self._orders.get(order_id)
            return copy.deepcopy(order["fulfillments"]) if order is not None else None

    def create_fulfillment(self, body: Mapping[str, Any]) -> dict:
        """Fulfil fulfillment order line items as POST /fulfillments.json does; returns the fulfillment.

        ``body`` is the request JSON ({"fulfillment": {...}}). Lines of a
        fulfillment order listed without ``fulfillment_order_line_items`` are
        fulfilled in full. Raises ShopError 400 when the root key is missing and
        422 for anything that cannot be fulfilled; then nothing changes.
        """
        fulfillment = body.get("fulfillment") if isinstance(body, Mapping) else None
        if not isinstance(fulfillment, Mapping):
            raise ShopError(400, {"fulfillment": "Required parameter missing or invalid"})
        with self._lock:
            order, quantities = self._fulfillment_request(fulfillment)
            tracking = self._tracking(fulfillment.get("tracking_info"))
            notify = fulfillment.get("notify_customer", False)
            if not isinstance(notify, bool):
                raise ShopError(422, ["notify_customer must be true or false."])
            now = self._now()
            record = self._record_fulfillment(order, quantities, tracking, notify=notify, now=now)
            self._save()
            return copy.deepcopy(record)

    def _fulfillment_request(self, fulfillment: Mapping[str, Any]) -> tuple[dict, dict[int, int]]:
        """The one order being fulfilled and quantity per order line item; ShopError 422 for bad input."""
        groups = fulfillment.get("line_items_by_fulfillment_order")
        if not isinstance(groups, list) or not groups:
            raise ShopError(422, ["line_items_by_fulfillment_order must list at least one fulfillment order."])
        order: dict | None = None
        quantities: dict[int, int] = {}
        for group in groups:
            fo_id = group.get("fulfillment_order_id") if isinstance(group, Mapping) else None
            fo_id = _as_id(fo_id)
            owner = self._fulfillment_order_owner.get(fo_id) if fo_id is not None else None
            if owner is None:
                raise ShopError(422, [f"Fulfillment order {fo_id} does not exist."])
            if order is not None and order["id"] != owner:
                raise ShopError(422, ["All fulfillment orders must belong to the same order."])
            order = self._orders[owner]
            resource = self._fulfillment_order_resource(order)
            if resource["status"] not in ("open", "in_progress"):
                raise ShopError(422, [f"Fulfillment order {fo_id} has an unfulfillable status= {resource['status']}."])
            by_fo_line = {item["id"]: item for item in resource["line_items"]}
            requested = group.get("fulfillment_order_line_items")
            if requested is None:
                requested = [
                    {"id": item["id"], "quantity": item["fulfillable_quantity"]}
                    for item in resource["line_items"]
                    if item["fulfillable_quantity"] > 0
                ]
            if not isinstance(requested, list):
                raise ShopError(422, ["fulfillment_order_line_items must be a list."])
            for entry in requested:
                fo_line_id = _as_id(entry.get("id")) if isinstance(entry, Mapping) else None
                quantity = entry.get("quantity") if isinstance(entry, Mapping) else None
                if fo_line_id not in by_fo_line:
                    raise ShopError(422, [f"Fulfillment order line item {fo_line_id} does not exist."])
                if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                    raise ShopError(422, ["Quantity must be a whole number greater than 0."])
                item = by_fo_line[fo_line_id]
                line_id = item["line_item_id"]
                quantities[line_id] = quantities.get(line_id, 0) + quantity
                if quantities[line_id] > item["fulfillable_quantity"]:
                    raise ShopError(422, ["Invalid fulfillment order line item quantity requested."])
        assert order is not None  # groups is non-empty and every group found its order
        if not quantities:
            raise ShopError(422, ["Nothing left to fulfil on these fulfillment orders."])
        return order, quantities

    @staticmethod
    def _tracking(info: Any) -> dict[str, str | None]:
        if info is None:
            info = {}
        if not isinstance(info, Mapping):
            raise ShopError(422, ["tracking_info must be an object."])
        tracking: dict[str, str | None] = {}
        for key in ("company", "number", "url"):
            value = info.get(key)
            if value is not None and not isinstance(value, str):
                raise ShopError(422, [f"tracking_info.{key} must be a string."])
            tracking[key] = value or None
        return tracking

    def _record_fulfillment(
        self, order: dict, quantities: dict[int, int], tracking: dict[str, str | None], *, notify: bool, now: int
    ) -> dict:
        fulfillment_id = self._new_id()
        lines = []
        for line in order["line_items"]:
            quantity = quantities.get(line["id"], 0)
            if not quantity:
                continue
            line["fulfillable_quantity"] -= quantity
            line["fulfillment_status"] = "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
            lines.append({**_line_summary(line), "quantity": quantity})
        record = {
            "id": fulfillment_id,
            "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
            "order_id": order["id"],
            "name": f"{order['name']}.{len(order['fulfillments']) + 1}",
            "status": "success",
            "service": "manual",
            "location_id": LOCATION_ID,
            "created_at": _iso(now),
            "updated_at": _iso(now),
            "notify_customer": notify,
            "shipment_status": None,
            "tracking_company": tracking["company"],
            "tracking_number": tracking["number"],
            "tracking_numbers": [tracking["number"]] if tracking["number"] else [],
            "tracking_url": tracking["url"],
            "tracking_urls": [tracking["url"]] if tracking["url"] else [],
            "origin_address": {},
            "receipt": {},
            "line_items": lines,
        }
        order["fulfillments"].append(record)
        self._refresh_fulfillment_status(order)
        self._touch(order, now)
        return record

    def _fulfilled_quantity(self, order: Mapping[str, Any], line_id: int) -> int:
        return sum(
            item["quantity"]
            for fulfillment in order["fulfillments"]
            if fulfillment["status"] == "success"
            for item in fulfillment["line_items"]
            if item["id"] == line_id
        )

    def _refresh_fulfillment_status(self, order: dict) -> None:
        fulfilled_any = bool(order["fulfillments"])
        left = sum(line["fulfillable_quantity"] for line in order["line_items"])
        if not fulfilled_any:
            order["fulfillment_status"] = None
        else:
            order["fulfillment_status"] = "fulfilled" if left == 0 else "partial"

    def _fulfillment_order_resource(self, order: Mapping[str, Any]) -> dict:
        known = self._state.fulfillment_orders[order["id"]]
        items = []
        fulfilled_total = 0
        for line in order["line_items"]:
            fulfilled = self._fulfilled_quantity(order, line["id"])
            fulfilled_total += fulfilled
            items.append(
                {
                    "id": known["line_ids"][str(line["id"])],
                    "shop_id": SHOP_ID,
                    "fulfillment_order_id": known["id"],
                    "line_item_id": line["id"],
                    "inventory_item_id": line["variant_id"] + 1,
                    "variant_id": line["variant_id"],
                    "total_quantity": line["quantity"],
                    "quantity": max(line["current_quantity"], fulfilled),
                    "fulfillable_quantity": line["fulfillable_quantity"],
                }
            )
        left = sum(item["fulfillable_quantity"] for item in items)
        if order["cancelled_at"] is not None or left == 0:
            status = "closed"
        elif fulfilled_total:
            status = "in_progress"
        else:
            status = "open"
        address = order["shipping_address"]
        return {
            "id": known["id"],
            "shop_id": SHOP_ID,
            "order_id": order["id"],
            "assigned_location_id": LOCATION_ID,
            "request_status": "unsubmitted",
            "status": status,
            "supported_actions": ["create_fulfillment", "move", "hold"] if status != "closed" else [],
            "destination": {
                key: address.get(key)
                for key in ("first_name", "last_name", "address1", "address2", "city", "province", "zip", "phone")
            }
            | {"country": address.get("country"), "email": order["email"], "company": None},
            "line_items": items,
            "fulfill_at": known["created_at"],
            "fulfill_by": None,
            "international_duties": None,
            "fulfillment_holds": [],
            "delivery_method": {"id": known["id"] + 1, "method_type": "shipping"},
            "assigned_location": {
                "name": "Sandbox Warehouse",
                "address1": "余杭区仓前街道 88 号",
                "city": "杭州市",
                "province": "浙江省",
                "zip": "311121",
                "country_code": "CN",
                "location_id": LOCATION_ID,
            },
            "merchant_requests": [],
            "created_at": known["created_at"],
            "updated_at": order["updated_at"],
        }

    # -------------------------------------------------------------- building one order

    def _now(self) -> int:
        return int(self._clock())

    def _new_id(self) -> int:
        self._state.last_id += self._rng.randint(1, 4_999)
        return self._state.last_id

    def _order_or_404(self, order_id: int) -> dict:
        order = self._orders.get(order_id)
        if order is None:
            raise ShopError(404, "Not Found")
        return order

    def _add_order(self, created: int) -> dict:
        order = self._build_order(created)
        order_id = order["id"]
        self._orders[order_id] = order
        self._created[order_id] = created
        self._updated[order_id] = created
        fo_id = self._new_id()
        self._state.fulfillment_orders[order_id] = {
            "id": fo_id,
            "created_at": order["created_at"],
            "line_ids": {str(line["id"]): self._new_id() for line in order["line_items"]},
        }
        self._fulfillment_order_owner[fo_id] = order_id
        return order

    def _customer(self, created: int) -> tuple[dict, bool]:
        """A returning buyer now and then (a recent one, so merge windows get exercised), else a new one.

        Also says whether the buyer is returning.
        """
        pool = self._state.customers
        if pool and self._rng.random() < 0.18:
            return self._rng.choice(pool[-20:]), True
        rng = self._rng
        region = rng.choices(REGIONS, weights=[r.weight for r in REGIONS])[0]
        place = rng.choice(region.places)
        first, first_ascii = rng.choice(region.first_names)
        last, last_ascii = rng.choice(region.last_names)
        digits = "".join(rng.choice("0123456789") for _ in range(region.phone_digits))
        phone = f"{place.phone_prefix}{digits}"
        email = f"{first_ascii}.{last_ascii}{rng.randint(1, 99)}@{rng.choice(_EMAIL_DOMAINS)}".lower()
        customer_id = self._new_id()
        address = {
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",  # Shopify joins first and last name this way, whatever the script
            "company": None,
            **self._street(region, place),
            "city": place.city,
            "province": place.province,
            "province_code": place.province_code,
            "country": region.country,
            "country_code": region.country_code,
            "zip": rng.choice(place.zips),
            "phone": phone,
        }
        customer = {
            "id": customer_id,
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "email": email,
            "first_name": first,
            "last_name": last,
            "phone": phone if rng.random() < 0.6 else None,
            "locale": region.locale,
            "state": "enabled",
            "verified_email": True,
            "tags": "",
            "currency": self.currency,
            "created_at": _iso(created),
            "updated_at": _iso(created),
            "default_address": {"id": self._new_id(), "customer_id": customer_id, **address, "default": True},
        }
        pool.append(customer)
        return customer, False

    def _street(self, region: _Region, place: _Place) -> dict[str, str]:
        rng = self._rng
        numbers = {
            "n": rng.randint(1, 299),
            "a": rng.randint(1, 9),
            "b": rng.randint(1, 30),
            "c": rng.randint(1, 20),
            "u": rng.choice((101, 202, 305, 502, 801, 1203, 1806, 2101)),
            "letter": rng.choice("ABCD"),
        }
        street = rng.choice(place.streets).format(**numbers)
        unit = rng.choice(region.units).format(**numbers) if rng.random() < 0.45 else ""
        if "|" in street:  # Chinese addresses: the district leads the street, or sits alone on line 2
            district, road = street.split("|")
            if rng.random() < 0.3:
                return {"address1": f"{road} {unit}".strip(), "address2": district}
            return {"address1": f"{district}{road}", "address2": unit}
        return {"address1": street, "address2": unit}

    def _build_order(self, created: int) -> dict:
        rng = self._rng
        customer, returning = self._customer(created)
        ship_to = {k: v for k, v in customer["default_address"].items() if k not in ("id", "customer_id", "default")}
        region = _REGIONS_BY_CODE[ship_to["country_code"]]
        place = next(p for p in region.places if p.city == ship_to["city"])
        presentment = region.currency if rng.random() < 0.8 else self.currency
        basket = self._basket(region, place, _Money(self.currency, presentment))
        money = basket.money

        order_id = self._new_id()
        number = self._state.next_order_number
        self._state.next_order_number += 1
        stamp = _iso(created)
        pending = rng.random() < 0.08
        if pending:
            gateways = ["Cash on Delivery (COD)"] if region.country_code == "CN" else ["bank_deposit"]
        else:
            gateways = [rng.choices(("shopify_payments", "paypal"), weights=(75, 25))[0]]
        tags = ["returning"] if returning else []
        if rng.random() < 0.12:
            tags.append(rng.choice(("vip", "gift", "wholesale", "influencer")))
        note = rng.choice(region.notes) if rng.random() < 0.15 else None
        token = f"{rng.getrandbits(128):032x}"
        billing = dict(ship_to) if rng.random() < 0.85 else {**ship_to, **self._street(region, place)}
        customer_keys = (
            "id", "admin_graphql_api_id", "email", "first_name", "last_name", "phone", "state", "verified_email",
            "tags", "currency", "created_at", "updated_at", "default_address",
        )  # fmt: skip

        order = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "number": number - 1000,
            "order_number": number,
            "token": token,
            "confirmation_number": token[:9].upper(),
            "email": customer["email"],
            "contact_email": customer["email"],
            "phone": customer["phone"] if rng.random() < 0.5 else None,
            "created_at": stamp,
            "updated_at": stamp,
            "processed_at": stamp,
            "closed_at": None,
            "cancelled_at": None,
            "cancel_reason": None,
            "confirmed": True,
            "test": False,
            "source_name": "web",
            "customer_locale": region.locale,
            "browser_ip": f"203.0.113.{rng.randint(1, 254)}",  # TEST-NET-3: never a real buyer's address
            "buyer_accepts_marketing": rng.random() < 0.4,
            "currency": self.currency,
            "presentment_currency": money.presentment_currency,
            "financial_status": "pending" if pending else "paid",
            "fulfillment_status": None,
            "payment_gateway_names": gateways,
            "gateway": gateways[0],
            "processing_method": "manual" if pending else "direct",
            "taxes_included": False,
            "estimated_taxes": False,
            **self._totals_json(basket, pending=pending),
            "total_weight": sum(p.grams * q for p, q in zip(basket.products, basket.quantities, strict=True)),
            "tax_lines": basket.tax_lines(basket.tax),
            **self._discounts_json(basket),
            "shipping_lines": [self._shipping_line_json(basket)],
            "line_items": self._line_items_json(basket),
            "note": note,
            "note_attributes": [],
            "tags": ", ".join(tags),
            "customer": {key: copy.deepcopy(customer[key]) for key in customer_keys},
            "shipping_address": ship_to,
            "billing_address": billing,
            "fulfillments": [],
            "refunds": [],
            "order_status_url": f"https://relay-sandbox.myshopify.com/{SHOP_ID}/orders/{token}/authenticate",
            "location_id": None,
            "user_id": None,
        }
        self._refresh_current_totals(order)
        return order

    def _basket(self, region: _Region, place: _Place, money: _Money) -> _Basket:
        """What the buyer takes and pays, part by part, in both currencies."""
        rng = self._rng
        presentment = money.presentment_currency
        count = rng.choices((1, 2, 3, 4, 5), weights=self.line_count_weights)[0]
        products = rng.sample(CATALOGUE, count)
        quantities = [rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0] for _ in products]
        unit_prices = [money.pair(product.prices[presentment]) for product in products]
        gross = [unit * qty for unit, qty in zip(unit_prices, quantities, strict=True)]

        domestic = presentment == region.currency
        standard, express, free_from = (_SHIPPING if domestic else _INTERNATIONAL_SHIPPING)[presentment]
        code = self._discount_code(money, gross, free_shipping_anyway=_total(gross).presentment >= Decimal(free_from))
        allocations = [money.pair(amount) for amount in code.allocations] if code else [_ZERO] * count

        left_to_pay = _total(gross) - _total(allocations)
        if left_to_pay.presentment >= Decimal(free_from):
            title, ship_code, price = "Free Shipping", "FREE", Decimal(0)
        elif rng.random() < 0.2:
            title, ship_code, price = "Express Shipping", "EXPRESS", Decimal(express)
        else:
            title, ship_code, price = "Standard Shipping", "STANDARD", Decimal(standard)
        if presentment == "CNY" and domestic:
            title = {"STANDARD": "普通快递", "EXPRESS": "顺丰速运"}.get(ship_code, "包邮")
        if not domestic and ship_code != "FREE":
            title, ship_code = f"International {title}", f"INTL-{ship_code}"
        shipping = money.pair(price)
        shipping_discount = shipping if code is not None and code.kind == "shipping" else _ZERO

        # Tax on what the buyer pays for each line, and for shipping where the country taxes it.
        rate = place.tax_rate if place.tax_rate is not None else region.tax_rate
        line_taxes = [
            money.pair((pair.presentment - allocation.presentment) * rate)
            for pair, allocation in zip(gross, allocations, strict=True)
        ]
        shipping_tax = money.pair((shipping - shipping_discount).presentment * rate) if region.tax_shipping else _ZERO
        return _Basket(
            money=money,
            products=products,
            quantities=quantities,
            unit_prices=unit_prices,
            allocations=allocations,
            line_taxes=line_taxes,
            code=code,
            shipping_title=title,
            shipping_code=ship_code,
            shipping=shipping,
            shipping_discount=shipping_discount,
            shipping_tax=shipping_tax,
            tax_title=f"{place.province_code} State Tax" if region.country_code == "US" else region.tax_title,
            tax_rate=rate,
            tax_shipping=region.tax_shipping,
        )

    def _discount_code(self, money: _Money, gross: list[_Pair], *, free_shipping_anyway: bool) -> _DiscountCode | None:
        """About 30% of buyers bring a code: a percentage, a fixed amount spread over the lines, or free shipping."""
        rng = self._rng
        if rng.random() >= 0.30:
            return None
        presentment = money.presentment_currency
        kind = rng.choices(("percentage", "fixed_amount", "shipping"), weights=(55, 30, 15))[0]
        if kind == "shipping" and free_shipping_anyway:
            kind = "percentage"
        if kind == "shipping":
            return _DiscountCode("shipping", "FREESHIP", "100.0", [Decimal(0)] * len(gross))
        if kind == "fixed_amount":
            value = Decimal(rng.choice(_FIXED_DISCOUNTS[presentment]))
            goods = _total(gross).presentment
            if value * 2 <= goods:  # a fixed code never takes more than half the basket
                shares = _spread(value, [pair.presentment for pair in gross], presentment)
                return _DiscountCode("fixed_amount", f"SAVE{value}", money_text(value, presentment), shares)
        percent = rng.choice(tuple(_PERCENT_CODES))
        shares = [quantize(pair.presentment * percent / 100, presentment) for pair in gross]
        return _DiscountCode("percentage", _PERCENT_CODES[percent], f"{percent}.0", shares)

    @staticmethod
    def _totals_json(basket: _Basket, *, pending: bool) -> dict[str, Any]:
        money = basket.money
        amounts = {
            "total_line_items_price": basket.items,
            "total_discounts": basket.discounts,
            "subtotal_price": basket.items - basket.line_discounts,
            "total_tax": basket.tax,
            "total_price": basket.total,
        }
        result: dict[str, Any] = {}
        for key, pair in amounts.items():
            result[key] = money.text(pair)
            result[f"{key}_set"] = money.set(pair)
        result["total_shipping_price_set"] = money.set(basket.shipping)
        result["total_outstanding"] = money.text(basket.total if pending else _ZERO)
        return result

    @staticmethod
    def _discounts_json(basket: _Basket) -> dict[str, list[dict]]:
        code = basket.code
        if code is None:
            return {"discount_applications": [], "discount_codes": []}
        application = {
            "type": "discount_code",
            "code": code.code,
            "value": code.value,
            "value_type": "fixed_amount" if code.kind == "fixed_amount" else "percentage",
            "allocation_method": "across",
            "target_selection": "all",
            "target_type": "shipping_line" if code.kind == "shipping" else "line_item",
        }
        used = {"code": code.code, "amount": basket.money.text(basket.discounts), "type": code.kind}
        return {"discount_applications": [application], "discount_codes": [used]}

    def _line_items_json(self, basket: _Basket) -> list[dict]:
        money = basket.money
        lines = []
        for product, qty, unit, allocation, line_tax in zip(
            basket.products, basket.quantities, basket.unit_prices, basket.allocations, basket.line_taxes, strict=True
        ):
            line_id = self._new_id()
            lines.append(
                {
                    "id": line_id,
                    "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                    "variant_id": product.variant_id,
                    "product_id": product.product_id,
                    "sku": product.sku,
                    "title": product.title,
                    "variant_title": product.variant_title,
                    "name": product.name,
                    "vendor": product.vendor,
                    "quantity": qty,
                    "current_quantity": qty,
                    "fulfillable_quantity": qty,
                    "fulfillment_service": "manual",
                    "fulfillment_status": None,
                    "grams": product.grams,
                    "price": money.text(unit),
                    "price_set": money.set(unit),
                    "total_discount": money.text(allocation),
                    "total_discount_set": money.set(allocation),
                    "discount_allocations": _allocations_json(money, allocation),
                    "requires_shipping": True,
                    "taxable": True,
                    "tax_lines": basket.tax_lines(line_tax),
                    "gift_card": False,
                    "product_exists": True,
                    "properties": [],
                    "duties": [],
                }
            )
        return lines

    def _shipping_line_json(self, basket: _Basket) -> dict:
        money = basket.money
        charged = basket.shipping - basket.shipping_discount
        return {
            "id": self._new_id(),
            "title": basket.shipping_title,
            "code": basket.shipping_code,
            "source": "shopify",
            "price": money.text(basket.shipping),
            "price_set": money.set(basket.shipping),
            "discounted_price": money.text(charged),
            "discounted_price_set": money.set(charged),
            "discount_allocations": _allocations_json(money, basket.shipping_discount),
            "tax_lines": basket.tax_lines(basket.shipping_tax) if basket.tax_shipping else [],
            "carrier_identifier": None,
            "requested_fulfillment_service_id": None,
            "is_removed": False,
            "phone": None,
        }

    # -------------------------------------------------------------- refunds and totals

    def _refund_record(self, order: dict, lines: list[dict], now: int, *, with_shipping: bool, note: str) -> dict:
        money = _Money(order["currency"], order["presentment_currency"])
        refund_id = self._new_id()
        refund_lines = []
        refunded = _ZERO
        for line in lines:
            subtotal = _Money.read(line["price_set"]) * line["current_quantity"] - _Money.read(
                line["total_discount_set"]
            )
            line_tax = _total(_Money.read(t["price_set"]) for t in line["tax_lines"])
            refunded = refunded + subtotal + line_tax
            fulfilled = self._fulfilled_quantity(order, line["id"])
            refund_lines.append(
                {
                    "id": self._new_id(),
                    "line_item_id": line["id"],
                    "location_id": LOCATION_ID,
                    "quantity": line["current_quantity"],
                    "restock_type": "return" if fulfilled else "cancel",
                    "subtotal": money.text(subtotal),
                    "subtotal_set": money.set(subtotal),
                    "total_tax": money.text(line_tax),
                    "total_tax_set": money.set(line_tax),
                    "line_item": _line_summary(line),
                }
            )
        adjustments = []
        if with_shipping:
            shipping_line = order["shipping_lines"][0]
            shipping = _Money.read(shipping_line["discounted_price_set"])
            shipping_tax = _total(_Money.read(t["price_set"]) for t in shipping_line["tax_lines"])
            if shipping.presentment > 0 or shipping_tax.presentment > 0:
                refunded = refunded + shipping + shipping_tax
                adjustments.append(
                    {
                        "id": self._new_id(),
                        "order_id": order["id"],
                        "refund_id": refund_id,
                        "kind": "shipping_refund",
                        "reason": "Shipping refund",
                        "amount": money.text(_ZERO - shipping),
                        "amount_set": money.set(_ZERO - shipping),
                        "tax_amount": money.text(_ZERO - shipping_tax),
                        "tax_amount_set": money.set(_ZERO - shipping_tax),
                    }
                )
        transaction_id = self._new_id()
        return {
            "id": refund_id,
            "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
            "order_id": order["id"],
            "created_at": _iso(now),
            "processed_at": _iso(now),
            "note": note,
            "restock": True,
            "user_id": None,
            "refund_line_items": refund_lines,
            "order_adjustments": adjustments,
            "transactions": [
                {
                    "id": transaction_id,
                    "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{transaction_id}",
                    "order_id": order["id"],
                    "kind": "refund",
                    "status": "success",
                    "gateway": order["gateway"],
                    # A transaction moves the buyer's money.
                    "amount": money_text(refunded.presentment, order["presentment_currency"]),
                    "currency": order["presentment_currency"],
                    "created_at": _iso(now),
                    "processed_at": _iso(now),
                    "parent_id": None,
                    "test": False,
                }
            ],
            "duties": [],
        }

    @staticmethod
    def _refresh_current_totals(order: dict) -> None:
        """current_* as Shopify keeps them: what remains after refunds and cancellation."""
        money = _Money(order["currency"], order["presentment_currency"])
        active = [line for line in order["line_items"] if line["current_quantity"] > 0]
        items = _total(_Money.read(line["price_set"]) * line["current_quantity"] for line in active)
        line_discounts = _total(_Money.read(line["total_discount_set"]) for line in active)
        line_tax = _total(_Money.read(t["price_set"]) for line in active for t in line["tax_lines"])
        shipping_refunded = any(
            adjustment["kind"] == "shipping_refund"
            for refund in order["refunds"]
            for adjustment in refund["order_adjustments"]
        )
        shipping_kept = order["cancelled_at"] is None and not shipping_refunded
        shipping_line = order["shipping_lines"][0]
        shipping = _Money.read(shipping_line["discounted_price_set"]) if shipping_kept else _ZERO
        shipping_discount = (
            _Money.read(shipping_line["price_set"]) - _Money.read(shipping_line["discounted_price_set"])
            if shipping_kept
            else _ZERO
        )
        shipping_tax = (
            _total(_Money.read(t["price_set"]) for t in shipping_line["tax_lines"]) if shipping_kept else _ZERO
        )
        subtotal = items - line_discounts
        tax = line_tax + shipping_tax
        values = {
            "current_subtotal_price": subtotal,
            "current_total_discounts": line_discounts + shipping_discount,
            "current_total_tax": tax,
            "current_total_price": subtotal + shipping + tax,
        }
        for key, pair in values.items():
            order[key] = money.text(pair)
            order[f"{key}_set"] = money.set(pair)

    # -------------------------------------------------------------- persistence

    def save(self) -> None:
        """Write the state file now (a no-op without ``state_path``)."""
        with self._lock:
            self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        state = self._state
        document = {
            "format": STATE_FORMAT,
            "seed": state.seed,
            "currency": state.currency,
            "rng": self._rng.getstate(),
            "last_id": state.last_id,
            "next_order_number": state.next_order_number,
            "last_tick": state.last_tick,
            "order_credit": state.order_credit,
            "customers": state.customers,
            "fulfillment_orders": {str(k): v for k, v in state.fulfillment_orders.items()},
            "orders": list(self._orders.values()),
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # A crash mid-write must leave the previous file whole: write aside, then rename over it.
        handle, temporary = tempfile.mkstemp(prefix=f".{self._path.name}.", suffix=".tmp", dir=self._path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(document, stream, ensure_ascii=False, separators=(",", ":"))
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self._path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _load(self, *, seed: int, currency: str) -> None:
        assert self._path is not None
        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
            if document.get("format") != STATE_FORMAT:
                raise ValueError(f"unknown format {document.get('format')!r}")
            version, internal, gauss = document["rng"]
            rng_state = (version, tuple(internal), gauss)
            orders = {order["id"]: order for order in document["orders"]}
            state = _State(
                seed=document["seed"],
                currency=document["currency"],
                last_id=document["last_id"],
                next_order_number=document["next_order_number"],
                last_tick=document["last_tick"],
                order_credit=document["order_credit"],
                customers=document["customers"],
                fulfillment_orders={int(k): v for k, v in document["fulfillment_orders"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            # Keep the unreadable file for a person to look at and start afresh rather than refuse to run.
            aside = self._path.with_name(f"{self._path.name}.unreadable-{int(time.time())}")
            logger.warning("sandbox shop state %s is unreadable (%s); moved to %s", self._path, error, aside)
            self._path.replace(aside)
            return
        if state.seed != seed or state.currency != currency:
            logger.info(
                "sandbox shop state %s was made with seed %s in %s; continuing it",
                self._path,
                state.seed,
                state.currency,
            )
        self._rng.setstate(rng_state)
        # The shop was closed while the server was down: no orders are owed for that time.
        state.last_tick = self._clock()
        self._state = state
        self._orders = orders
        for order_id, order in orders.items():
            self._created[order_id] = _epoch(order["created_at"])
            self._updated[order_id] = _epoch(order["updated_at"])
        self._fulfillment_order_owner = {known["id"]: order_id for order_id, known in state.fulfillment_orders.items()}


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _allocations_json(money: _Money, amount: _Pair) -> list[dict]:
    if amount.presentment == 0:
        return []
    return [{"amount": money.text(amount), "amount_set": money.set(amount), "discount_application_index": 0}]


def _line_summary(line: Mapping[str, Any]) -> dict:
    keys = ("id", "variant_id", "product_id", "sku", "title", "variant_title", "name", "quantity", "price", "price_set")
    return {key: line[key] for key in keys} | {"fulfillment_status": line["fulfillment_status"]}
