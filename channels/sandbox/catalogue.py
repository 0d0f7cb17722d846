"""What the sandbox shop sells: forty variants from Chinese makers, each with a shelf price per market."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from channels.sandbox.amounts import RATES
from core.money import round_money


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


def local_price(usd: Decimal, currency: str) -> Decimal:
    """A shelf price as a merchant would set it per market (9.99, 179, 3480), not a raw conversion."""
    value = usd * RATES[currency]
    if currency == "USD":
        return usd
    if currency == "JPY":
        return Decimal(math.ceil(value / 100) * 100 - 20)
    if currency == "CNY":
        return round_money(Decimal(math.ceil(value / 10) * 10 - 1), currency)
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
        prices = {currency: local_price(Decimal(usd), currency) for currency in RATES}
        variant_id = 44_381_905_000_000 + 1_297 * position
        products.append(Product(sku, title, variant, vendor, product_id, variant_id, grams, prices))
    return tuple(products)


CATALOGUE: tuple[Product, ...] = _build_catalogue()
PRODUCTS_BY_SKU: Mapping[str, Product] = {product.sku: product for product in CATALOGUE}
