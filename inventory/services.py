"""Writes of the catalog: products, listing mappings, source paths and stock.

Every function validates what it is given and raises ``ValidationError``
(keyed by field where one field is at fault) before it writes anything.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.countries import COUNTRIES
from core.money import parse_currency
from core.tasks import enqueue_named
from inventory.models import COST, Listing, ListingComponent, Product, Source, Stock

logger = logging.getLogger(__name__)

_UNSET: object = object()
_MAX_COST = Decimal(10) ** (COST["max_digits"] - COST["decimal_places"])
_COST_STEP = Decimal(1).scaleb(-COST["decimal_places"])
_REGION_SEPARATORS = re.compile(r"[;；\n]+")
# The task (orders/routing/jobs.py, a layer above) that re-routes held orders after a mapping changed.
REROUTE_HELD_FOR_LISTINGS = "orders.reroute_held_for_listings"


# ------------------------------------------------------------------ cleaning


def clean_sku(value: str, *, field: str = "sku") -> str:
    sku = (value or "").strip()
    if not sku:
        raise ValidationError({field: _("A SKU is required.")})
    if len(sku) > 120:
        raise ValidationError({field: _("The SKU is longer than 120 characters.")})
    return sku


def clean_cost(value: object, *, field: str = "cost_price") -> Decimal:
    """A cost price: a Decimal (or its text), not negative, at most 4 decimals; floats refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationError({field: _("The cost price must be given as a decimal, not a float.")})
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: _("“%(value)s” is not an amount.") % {"value": str(value)[:40]}}) from None
    if not amount.is_finite():
        raise ValidationError({field: _("“%(value)s” is not an amount.") % {"value": str(value)[:40]}})
    if amount < 0:
        raise ValidationError({field: _("The cost price must not be negative.")})
    if amount >= _MAX_COST:
        raise ValidationError({field: _("The cost price is too large.")})
    if amount != amount.quantize(_COST_STEP):
        raise ValidationError({field: _("The cost price has more than 4 decimals.")})
    return amount.quantize(_COST_STEP)


def clean_currency(value: str, *, field: str = "currency") -> str:
    try:
        return parse_currency((value or "").strip())
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from None


def parse_regions(text: str, *, field: str = "regions") -> list[dict[str, str]]:
    """ "CN:Zhejiang;CN:Shanghai;US" → [{"country": "CN", "province": "Zhejiang"}, …, {"country": "US"}].

    Blank text is [] (serves everywhere). Raises ValidationError for an unknown country code.
    """
    regions: list[dict[str, str]] = []
    for raw in _REGION_SEPARATORS.split(text or ""):
        part = raw.strip().replace("：", ":")
        if not part:
            continue
        country, _sep, province = part.partition(":")
        regions.append({"country": country.strip(), "province": province.strip()})
    return clean_regions(regions, field=field)


def clean_regions(regions: object, *, field: str = "regions") -> list[dict[str, str]]:
    """Regions as stored: a list of {"country": ISO code, "province"?: name}; duplicates dropped, order kept."""
    if regions in (None, ""):
        return []
    if not isinstance(regions, list | tuple):
        raise ValidationError({field: _("Regions must be a list of countries and provinces.")})
    cleaned: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for region in regions:
        if isinstance(region, str):
            country, province = region, ""
        elif isinstance(region, dict):
            country, province = str(region.get("country") or ""), str(region.get("province") or "")
        else:
            raise ValidationError({field: _("Regions must be a list of countries and provinces.")})
        country, province = country.strip().upper(), province.strip()
        if country not in COUNTRIES:
            raise ValidationError(
                {
                    field: _("“%(value)s” is not a two-letter ISO country code (such as CN or US).")
                    % {"value": country[:40]}
                }
            )
        if len(province) > 100:
            raise ValidationError({field: _("A province name is longer than 100 characters.")})
        key = (country, province.casefold())
        if key in seen:
            continue
        seen.add(key)
        cleaned.append({"country": country, "province": province} if province else {"country": country})
    return cleaned


def regions_text(regions: Iterable[dict[str, str]]) -> str:
    """The inverse of ``parse_regions``: "CN:Zhejiang;US"."""
    return ";".join(f"{r['country']}:{r['province']}" if r.get("province") else r["country"] for r in regions)


def _clean_name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise ValidationError({"name": _("A name is required.")})
    if len(name) > 300:
        raise ValidationError({"name": _("The name is longer than 300 characters.")})
    return name


def _clean_weight(value: object) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2_147_483_647:
        raise ValidationError({"weight_grams": _("The weight must be a whole number of grams, not negative.")})
    return value


def _clean_lead_time(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 3650:
        raise ValidationError({"lead_time_days": _("The lead time must be a whole number of days from 0 to 3650.")})
    return value


def _clean_quantity(value: object, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2_147_483_647:
        raise ValidationError({field: _("Enter a whole number, 0 or more.")})
    return value


def actor_label(actor) -> str:
    if actor is None:
        return ""
    if isinstance(actor, str):
        return actor[:120]
    return (getattr(actor, "email", "") or str(actor))[:120]


# ------------------------------------------------------------------ products


def product_create(
    *,
    sku: str,
    name: str,
    weight_grams: int | None = None,
    attributes: dict | None = None,
    active: bool = True,
    sources: Sequence[dict] = (),
    actor=None,
) -> Product:
    """Create a product, with its source path when ``sources`` gives one (``source_create``'s arguments each).

    All or nothing. Raises ValidationError for a blank or taken SKU, a blank
    name, a bad weight, or a bad source (keyed "sources[i].field").
    """
    sku = clean_sku(sku)
    product = Product(
        sku=sku,
        name=_clean_name(name),
        weight_grams=_clean_weight(weight_grams),
        attributes=_clean_attributes(attributes),
        active=bool(active),
    )
    if Product.objects.filter(sku=sku).exists():
        raise ValidationError({"sku": _("A product with the SKU %(sku)s already exists.") % {"sku": sku}})
    try:
        with transaction.atomic():
            product.save()
            for index, source in enumerate(sources):
                try:
                    source_create(product=product, actor=actor, **source)
                except ValidationError as exc:
                    if not hasattr(exc, "error_dict"):
                        raise
                    raise ValidationError(
                        {f"sources[{index}].{key}": errors for key, errors in exc.error_dict.items()}
                    ) from None
    except IntegrityError:  # created by someone else since the check
        raise ValidationError({"sku": _("A product with the SKU %(sku)s already exists.") % {"sku": sku}}) from None
    return product


def product_update(
    *,
    product: Product,
    sku: str | object = _UNSET,
    name: str | object = _UNSET,
    weight_grams: int | object | None = _UNSET,
    attributes: dict | object = _UNSET,
    active: bool | object = _UNSET,
) -> Product:
    """Change the given fields of a product, with the checks of ``product_create``."""
    fields: list[str] = []
    if sku is not _UNSET:
        new_sku = clean_sku(sku)  # type: ignore[arg-type]
        if new_sku != product.sku and Product.objects.filter(sku=new_sku).exclude(pk=product.pk).exists():
            raise ValidationError({"sku": _("A product with the SKU %(sku)s already exists.") % {"sku": new_sku}})
        product.sku = new_sku
        fields.append("sku")
    if name is not _UNSET:
        product.name = _clean_name(name)  # type: ignore[arg-type]
        fields.append("name")
    if weight_grams is not _UNSET:
        product.weight_grams = _clean_weight(weight_grams)
        fields.append("weight_grams")
    if attributes is not _UNSET:
        product.attributes = _clean_attributes(attributes)
        fields.append("attributes")
    if active is not _UNSET:
        product.active = bool(active)
        fields.append("active")
    if fields:
        try:
            with transaction.atomic():
                product.save(update_fields=[*fields, "updated"])
        except IntegrityError:
            raise ValidationError(
                {"sku": _("A product with the SKU %(sku)s already exists.") % {"sku": product.sku}}
            ) from None
    return product


def product_delete(*, product: Product) -> None:
    """Delete a product and its source path. Refused (ValidationError) once a listing or a dispatch uses it."""
    if product.listing_components.exists():
        raise ValidationError(_("A listing is mapped to this product; unmap it first, or deactivate the product."))
    try:
        with transaction.atomic():
            product.delete()
    except ProtectedError:
        raise ValidationError(_("Orders were dispatched from this product; deactivate it instead.")) from None


def _clean_attributes(attributes: object) -> dict:
    if attributes in (None, ""):
        return {}
    if not isinstance(attributes, dict):
        raise ValidationError({"attributes": _("Attributes must be a set of names and values.")})
    return attributes


# ------------------------------------------------------------------ listings


def listing_map(
    *, listing_sku: str, components: Sequence[tuple[Product, int]], actor=None, auto: bool = False
) -> Listing:
    """Map a channel listing SKU to one product (one component of quantity 1) or a bundle.

    Creates the listing or replaces what it shipped before, in one
    transaction. Held orders waiting for these SKUs are re-routed after the
    commit. Raises ValidationError for a blank SKU, no components, a product
    twice or a quantity below 1.
    """
    listing_sku = clean_sku(listing_sku, field="listing_sku")
    if not components:
        raise ValidationError({"components": _("Choose at least one product.")})
    seen: set[int] = set()
    for product, quantity in components:
        if product.pk in seen:
            raise ValidationError(
                {
                    "components": _("The product %(sku)s is listed twice; give it once with the total quantity.")
                    % {"sku": product.sku}
                }
            )
        seen.add(product.pk)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValidationError({"components": _("Each quantity must be a whole number, 1 or more.")})
    with transaction.atomic():
        listing, created = Listing.objects.select_for_update().get_or_create(
            listing_sku=listing_sku, defaults={"auto_mapped": auto}
        )
        wanted = {product.pk: quantity for product, quantity in components}
        current = dict(listing.components.values_list("product_id", "quantity"))
        changed = created or current != wanted
        if not created and changed:
            listing.components.all().delete()
        if changed:
            ListingComponent.objects.bulk_create(
                ListingComponent(listing=listing, product_id=pk, quantity=quantity) for pk, quantity in wanted.items()
            )
        if not created and (changed or listing.auto_mapped != auto):
            listing.auto_mapped = auto
            listing.save(update_fields=["auto_mapped", "updated"])
        if changed:
            logger.info(
                "listing mapped",
                extra={"listing_sku": listing_sku, "components": len(wanted), "actor": actor_label(actor)},
            )
            _reroute_after_commit(listing_skus=[listing_sku], actor=actor)
    return listing


def listing_unmap(*, listing: Listing, actor=None) -> None:
    """Remove a listing's mapping; orders that arrive with that SKU afterwards are held as unmapped."""
    with transaction.atomic():
        listing.delete()
    logger.info("listing unmapped", extra={"listing_sku": listing.listing_sku, "actor": actor_label(actor)})


def _reroute_after_commit(*, listing_skus: list[str], actor) -> None:
    """After the commit, ask the order lifecycle (a layer above) to re-route held orders waiting for these SKUs."""
    enqueue_named(REROUTE_HELD_FOR_LISTINGS, listing_skus=sorted(listing_skus), actor_id=getattr(actor, "pk", None))


# ------------------------------------------------------------------ sources


def _clean_supplier(supplier):
    if supplier is not None and not supplier.active:
        raise ValidationError({"supplier": _("The supplier %(name)s is inactive.") % {"name": supplier.name}})
    return supplier


def source_create(
    *,
    product: Product,
    supplier=None,
    cost_price: Decimal | str,
    currency: str,
    regions: object = (),
    lead_time_days: int = 0,
    active: bool = True,
    on_hand: int | None = None,
    actor=None,
) -> Source:
    """Add a source at the end of the product's path (supplier None = own warehouse).

    With ``on_hand`` the source's stock is tracked from the start; without, it is not tracked.
    """
    source = Source(
        product=product,
        supplier=_clean_supplier(supplier),
        cost_price=clean_cost(cost_price),
        currency=clean_currency(currency),
        regions=clean_regions(list(regions) if isinstance(regions, tuple) else regions),
        lead_time_days=_clean_lead_time(lead_time_days),
        active=bool(active),
    )
    if on_hand is not None:
        _clean_quantity(on_hand, field="on_hand")
    with transaction.atomic():
        # The product row serialises concurrent additions to one path.
        Product.objects.select_for_update().filter(pk=product.pk).first()
        source.position = (product.sources.aggregate(last=Max("position"))["last"] or 0) + 1
        source.save()
        if on_hand is not None:
            Stock.objects.create(source=source, on_hand=on_hand, updated_by=actor_label(actor))
    return source


def source_update(
    *,
    source: Source,
    supplier: object = _UNSET,
    cost_price: object = _UNSET,
    currency: object = _UNSET,
    regions: object = _UNSET,
    lead_time_days: object = _UNSET,
    active: object = _UNSET,
) -> Source:
    """Change the given fields of a source; its place on the path is changed by ``source_reorder``."""
    fields: list[str] = []
    if supplier is not _UNSET:
        if supplier is None or getattr(supplier, "pk", None) != source.supplier_id:
            source.supplier = _clean_supplier(supplier)
        fields.append("supplier")
    if cost_price is not _UNSET:
        source.cost_price = clean_cost(cost_price)
        fields.append("cost_price")
    if currency is not _UNSET:
        source.currency = clean_currency(currency)  # type: ignore[arg-type]
        fields.append("currency")
    if regions is not _UNSET:
        source.regions = clean_regions(regions)
        fields.append("regions")
    if lead_time_days is not _UNSET:
        source.lead_time_days = _clean_lead_time(lead_time_days)
        fields.append("lead_time_days")
    if active is not _UNSET:
        source.active = bool(active)
        fields.append("active")
    if fields:
        source.save(update_fields=[*fields, "updated"])
    return source


def source_set_active(*, source: Source, active: bool) -> Source:
    """Routing skips an inactive source; the path keeps its place."""
    Source.objects.filter(pk=source.pk).update(active=active, updated=timezone.now())
    source.active = active
    return source


def source_reorder(*, product: Product, source_ids: Sequence[int]) -> list[Source]:
    """Put the product's sources in this order (positions 1, 2, …).

    ``source_ids`` must name every source of the product exactly once;
    otherwise ValidationError and nothing changes.
    """
    with transaction.atomic():
        sources = {s.pk: s for s in Source.objects.select_for_update().filter(product=product).order_by("pk")}
        if len(source_ids) != len(set(source_ids)) or set(source_ids) != set(sources):
            raise ValidationError({"order": _("Give every source of the product exactly once.")})
        changed = []
        for position, pk in enumerate(source_ids, start=1):
            source = sources[pk]
            if source.position != position:
                source.position = position
                changed.append(source)
        # The position constraint is deferred: swapped positions are checked at commit.
        Source.objects.bulk_update(changed, ["position"])
    return [sources[pk] for pk in source_ids]


def source_move(*, source: Source, offset: int) -> Source:
    """Move a source up (offset -1) or down (+1) its path; at either end nothing changes."""
    ids = list(
        Source.objects.filter(product_id=source.product_id).order_by("position", "pk").values_list("pk", flat=True)
    )
    index = ids.index(source.pk)
    target = index + offset
    if 0 <= target < len(ids):
        ids[index], ids[target] = ids[target], ids[index]
        source_reorder(product=source.product, source_ids=ids)
        source.refresh_from_db(fields=["position"])
    return source


def source_delete(*, source: Source) -> None:
    """Take a source off its path and close the gap. Refused once dispatches used it (deactivate it instead)."""
    with transaction.atomic():
        Product.objects.select_for_update().filter(pk=source.product_id).first()
        try:
            with transaction.atomic():
                source.delete()
        except ProtectedError:
            raise ValidationError(_("Orders were dispatched from this source; deactivate it instead.")) from None
        Source.objects.filter(product_id=source.product_id, position__gt=source.position).update(
            position=F("position") - 1
        )


# ------------------------------------------------------------------ stock


def stock_set(*, source: Source, on_hand: int, actor=None) -> Stock:
    """Set the units on hand at a source, starting to track its stock if it was not.

    Never below what routing has reserved: that raises ValidationError and
    nothing changes. The check and the write are one statement, so a
    reservation made meanwhile cannot slip under it.
    """
    _clean_quantity(on_hand, field="on_hand")
    label = actor_label(actor)
    with transaction.atomic():
        updated = Stock.objects.filter(source=source, reserved__lte=on_hand).update(
            on_hand=on_hand, updated_by=label, updated=timezone.now()
        )
        if not updated:
            stock, created = Stock.objects.get_or_create(
                source=source, defaults={"on_hand": on_hand, "updated_by": label}
            )
            if not created:
                raise ValidationError(
                    {
                        "on_hand": _("%(reserved)d units are reserved for orders; on hand cannot be set below that.")
                        % {"reserved": stock.reserved}
                    }
                )
            return stock
    stock = Stock.objects.get(source=source)
    logger.info("stock set", extra={"source": source.pk, "on_hand": on_hand, "actor": label})
    return stock
