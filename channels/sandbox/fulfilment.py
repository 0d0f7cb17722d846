"""Fulfilment in the sandbox shop: fulfillment orders, and fulfillments made from them as Shopify's API does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from channels.sandbox.shop import LOCATION_ID, SHOP_ID, ShopError, iso


def fulfillment_request(
    fulfillment: Mapping[str, Any], *, orders: Mapping[int, dict], owners: Mapping[int, int], known: Mapping[int, dict]
) -> tuple[dict, dict[int, int]]:
    """The one order being fulfilled and quantity per order line item; ShopError 422 for bad input.

    ``owners`` maps a fulfillment order id to its order's id, ``known`` an
    order id to its fulfillment order (see ``fulfillment_order_resource``).
    """
    groups = fulfillment.get("line_items_by_fulfillment_order")
    if not isinstance(groups, list) or not groups:
        raise ShopError(422, ["line_items_by_fulfillment_order must list at least one fulfillment order."])
    order: dict | None = None
    quantities: dict[int, int] = {}
    for group in groups:
        fo_id = group.get("fulfillment_order_id") if isinstance(group, Mapping) else None
        fo_id = as_id(fo_id)
        owner = owners.get(fo_id) if fo_id is not None else None
        if owner is None:
            raise ShopError(422, [f"Fulfillment order {fo_id} does not exist."])
        if order is not None and order["id"] != owner:
            raise ShopError(422, ["All fulfillment orders must belong to the same order."])
        order = orders[owner]
        resource = fulfillment_order_resource(order, known=known[owner])
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
            fo_line_id = as_id(entry.get("id")) if isinstance(entry, Mapping) else None
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


def tracking_info(info: Any) -> dict[str, str | None]:
    """The tracking a fulfillment request carries: company, number, url (None when not given)."""
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


def record_fulfillment(
    order: dict,
    quantities: dict[int, int],
    tracking: dict[str, str | None],
    *,
    notify: bool,
    now: int,
    new_id: Callable[[], int],
) -> dict:
    """Ship ``quantities`` (by line item id) of ``order`` and return the fulfillment; the caller stamps updated_at."""
    fulfillment_id = new_id()
    lines = []
    for line in order["line_items"]:
        quantity = quantities.get(line["id"], 0)
        if not quantity:
            continue
        line["fulfillable_quantity"] -= quantity
        line["fulfillment_status"] = "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
        lines.append({**line_summary(line), "quantity": quantity})
    record = {
        "id": fulfillment_id,
        "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
        "order_id": order["id"],
        "name": f"{order['name']}.{len(order['fulfillments']) + 1}",
        "status": "success",
        "service": "manual",
        "location_id": LOCATION_ID,
        "created_at": iso(now),
        "updated_at": iso(now),
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
    refresh_fulfillment_status(order)
    return record


def fulfilled_quantity(order: Mapping[str, Any], line_id: int) -> int:
    return sum(
        item["quantity"]
        for fulfillment in order["fulfillments"]
        if fulfillment["status"] == "success"
        for item in fulfillment["line_items"]
        if item["id"] == line_id
    )


def refresh_fulfillment_status(order: dict) -> None:
    fulfilled_any = bool(order["fulfillments"])
    left = sum(line["fulfillable_quantity"] for line in order["line_items"])
    if not fulfilled_any:
        order["fulfillment_status"] = None
    else:
        order["fulfillment_status"] = "fulfilled" if left == 0 else "partial"


def fulfillment_order_resource(order: Mapping[str, Any], *, known: Mapping[str, Any]) -> dict:
    """The order's one fulfillment order as Shopify shows it; ``known`` is its id, creation time and line ids."""
    items = []
    fulfilled_total = 0
    for line in order["line_items"]:
        fulfilled = fulfilled_quantity(order, line["id"])
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


def as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def line_summary(line: Mapping[str, Any]) -> dict:
    keys = ("id", "variant_id", "product_id", "sku", "title", "variant_title", "name", "quantity", "price", "price_set")
    return {key: line[key] for key in keys} | {"fulfillment_status": line["fulfillment_status"]}
