"""The sandbox shop's buyers: who they are, where they live, and how often they come back."""

from __future__ import annotations

import random
from collections.abc import Callable

from channels.sandbox.regions import EMAIL_DOMAINS, REGIONS, Place, Region
from channels.sandbox.shop import iso

# A share of orders come from a recent buyer, so merge windows get exercised.
RETURNING_SHARE = 0.18
RETURNING_POOL = 20


def street(rng: random.Random, region: Region, place: Place) -> dict[str, str]:
    """A made-up street address in ``place``: address1 and address2 as the country writes them."""
    numbers = {
        "n": rng.randint(1, 299),
        "a": rng.randint(1, 9),
        "b": rng.randint(1, 30),
        "c": rng.randint(1, 20),
        "u": rng.choice((101, 202, 305, 502, 801, 1203, 1806, 2101)),
        "letter": rng.choice("ABCD"),
    }
    line = rng.choice(place.streets).format(**numbers)
    unit = rng.choice(region.units).format(**numbers) if rng.random() < 0.45 else ""
    if "|" in line:  # Chinese addresses: the district leads the street, or sits alone on line 2
        district, road = line.split("|")
        if rng.random() < 0.3:
            return {"address1": f"{road} {unit}".strip(), "address2": district}
        return {"address1": f"{district}{road}", "address2": unit}
    return {"address1": line, "address2": unit}


def customer_for_order(
    *, rng: random.Random, pool: list[dict], new_id: Callable[[], int], currency: str, created: int
) -> tuple[dict, bool]:
    """A returning buyer now and then (a recent one), else a new one added to ``pool``; and whether returning."""
    if pool and rng.random() < RETURNING_SHARE:
        return rng.choice(pool[-RETURNING_POOL:]), True
    region = rng.choices(REGIONS, weights=[r.weight for r in REGIONS])[0]
    place = rng.choice(region.places)
    first, first_ascii = rng.choice(region.first_names)
    last, last_ascii = rng.choice(region.last_names)
    digits = "".join(rng.choice("0123456789") for _ in range(region.phone_digits))
    phone = f"{place.phone_prefix}{digits}"
    email = f"{first_ascii}.{last_ascii}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}".lower()
    customer_id = new_id()
    address = {
        "first_name": first,
        "last_name": last,
        "name": f"{first} {last}",  # Shopify joins first and last name this way, whatever the script
        "company": None,
        **street(rng, region, place),
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
        "currency": currency,
        "created_at": iso(created),
        "updated_at": iso(created),
        "default_address": {"id": new_id(), "customer_id": customer_id, **address, "default": True},
    }
    pool.append(customer)
    return customer, False
