"""Catalog writes: products, listing mappings (bundles), source paths, stock never below reserved, re-route hook."""

from decimal import Decimal

import pytest
from celery import current_app
from django.core.exceptions import ValidationError
from django.db import connection

from inventory import services
from inventory.models import Listing, ListingComponent, Product, Source, Stock
from orders.models import Order
from orders.routing import jobs


def test_product_create_trims_and_refuses_taken_or_blank_sku(make_product):
    product = services.product_create(sku="  TEE-M ", name=" Tee ", weight_grams=180)
    assert (product.sku, product.name, product.weight_grams) == ("TEE-M", "Tee", 180)

    with pytest.raises(ValidationError) as taken:
        services.product_create(sku="TEE-M", name="Again")
    with pytest.raises(ValidationError) as blank:
        services.product_create(sku=" ", name="Blank")

    assert "already exists" in taken.value.message_dict["sku"][0]
    assert blank.value.message_dict["sku"] == ["A SKU is required."]
    assert Product.objects.count() == 1


def test_product_update_changes_only_given_fields(make_product):
    product = make_product("A-1", name="Old", weight_grams=100)
    other = make_product("A-2")

    services.product_update(product=product, name="New", active=False)
    with pytest.raises(ValidationError):
        services.product_update(product=product, sku=other.sku)

    product.refresh_from_db()
    assert (product.sku, product.name, product.weight_grams, product.active) == ("A-1", "New", 100, False)


def test_product_create_with_sources_is_all_or_nothing(in_a):
    with pytest.raises(ValidationError) as exc:
        services.product_create(
            sku="X",
            name="X",
            sources=[
                {"cost_price": Decimal("1.00"), "currency": "CNY"},
                {"cost_price": Decimal("-1"), "currency": "CNY"},
            ],
        )
    assert "sources[1].cost_price" in exc.value.message_dict
    assert not Product.objects.filter(sku="X").exists()
    assert Source.objects.count() == 0


def test_map_to_one_product_then_replace_with_a_bundle(make_product):
    tee, mug = make_product("TEE"), make_product("MUG")

    services.listing_map(listing_sku="SHOP-TEE", components=[(tee, 1)])
    listing = services.listing_map(listing_sku="SHOP-TEE", components=[(tee, 2), (mug, 1)])

    assert Listing.objects.count() == 1
    assert sorted(listing.components.values_list("product__sku", "quantity")) == [("MUG", 1), ("TEE", 2)]


def test_mapping_refuses_no_product_a_product_twice_and_zero_quantity(make_product):
    tee = make_product("TEE")
    for components in ([], [(tee, 1), (tee, 2)], [(tee, 0)]):
        with pytest.raises(ValidationError):
            services.listing_map(listing_sku="L-1", components=components)
    assert not Listing.objects.exists()
    assert not ListingComponent.objects.exists()


def test_unmap_removes_listing_and_components(make_product):
    listing = services.listing_map(listing_sku="L", components=[(make_product(), 1)])
    services.listing_unmap(listing=listing)
    assert not Listing.objects.exists()
    assert not ListingComponent.objects.exists()


def _sent_to_broker(monkeypatch) -> list[tuple[str, dict, str]]:
    """Tasks sent by name, recorded instead of reaching the broker (the outside world here)."""
    sent: list[tuple[str, dict, str]] = []

    def send_task(name, args=None, kwargs=None, headers=None, **_options):
        sent.append((name, kwargs or {}, (headers or {}).get("_schema_name", "")))

    monkeypatch.setattr(current_app, "send_task", send_task)
    return sent


def test_mapping_sends_the_reroute_task_after_commit_and_only_when_it_changed(
    make_product, monkeypatch, django_capture_on_commit_callbacks, operator
):
    sent = _sent_to_broker(monkeypatch)
    tee = make_product("TEE")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.listing_map(listing_sku="SHOP-TEE", components=[(tee, 1)], actor=operator)
        assert sent == []  # not before the commit
    assert len(callbacks) == 1
    assert sent == [
        (
            services.REROUTE_HELD_FOR_LISTINGS,
            {"listing_skus": ["SHOP-TEE"], "actor_id": operator.pk},
            connection.schema_name,
        )
    ]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.listing_map(listing_sku="SHOP-TEE", components=[(tee, 1)], actor=operator)
    assert callbacks == []  # nothing changed, nothing to re-route


def test_the_reroute_task_named_by_inventory_frees_the_held_order(
    make_product, order_in_status, monkeypatch, django_capture_on_commit_callbacks
):
    # given: an order held because its listing SKU maps to nothing
    held = order_in_status(Order.Status.HELD, [("SHOP-TEE", 1)])
    tee = make_product("TEE")
    services.source_create(product=tee, cost_price=Decimal("1"), currency="USD")
    sent = _sent_to_broker(monkeypatch)
    # when: the SKU is mapped and the task it names runs (as the worker would)
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_map(listing_sku="SHOP-TEE", components=[(tee, 1)])
    [(name, kwargs, _schema)] = sent
    assert name == jobs.reroute_after_mapping.name
    jobs.reroute_after_mapping.run(**kwargs)
    # then: the order left the hold
    held.refresh_from_db()
    assert held.status == Order.Status.ROUTED


def test_sources_append_to_the_path_and_reorder(make_product, make_source, make_supplier, tenant_a):
    product = make_product()
    supplier = make_supplier(tenant_a)
    a = make_source(product, supplier=supplier)
    b = make_source(product)
    c = make_source(product, regions=[{"country": "cn", "province": "Zhejiang"}, "US"])

    assert [s.position for s in (a, b, c)] == [1, 2, 3]
    assert c.regions == [{"country": "CN", "province": "Zhejiang"}, {"country": "US"}]

    services.source_reorder(product=product, source_ids=[c.pk, a.pk, b.pk])
    assert list(product.sources.order_by("position").values_list("pk", flat=True)) == [c.pk, a.pk, b.pk]

    services.source_move(source=a, offset=-1)
    assert list(product.sources.order_by("position").values_list("pk", flat=True)) == [a.pk, c.pk, b.pk]
    services.source_move(source=a, offset=-1)  # already first: nothing moves
    assert a.position == 1

    with pytest.raises(ValidationError):
        services.source_reorder(product=product, source_ids=[a.pk, b.pk])
    assert list(product.sources.order_by("position").values_list("pk", flat=True)) == [a.pk, c.pk, b.pk]


def test_source_validation(make_product, make_supplier, tenant_a):
    product = make_product()
    inactive = make_supplier(tenant_a)
    inactive.active = False
    inactive.save()
    cases = [
        ({"cost_price": "-1", "currency": "CNY"}, "cost_price"),
        ({"cost_price": "1.00001", "currency": "CNY"}, "cost_price"),
        ({"cost_price": 1.5, "currency": "CNY"}, "cost_price"),
        ({"cost_price": "1", "currency": "XYZ"}, "currency"),
        ({"cost_price": "1", "currency": "CNY", "regions": [{"country": "ZZ"}]}, "regions"),
        ({"cost_price": "1", "currency": "CNY", "lead_time_days": -1}, "lead_time_days"),
        ({"cost_price": "1", "currency": "CNY", "supplier": inactive}, "supplier"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as exc:
            services.source_create(product=product, **kwargs)
        assert field in exc.value.message_dict, kwargs
    assert not product.sources.exists()

    source = services.source_create(product=product, cost_price="1.2345", currency="cny")
    assert (source.cost_price, source.currency) == (Decimal("1.2345"), "CNY")


def test_parse_regions_text():
    assert services.parse_regions("CN:Zhejiang;cn：Shanghai；US\n") == [
        {"country": "CN", "province": "Zhejiang"},
        {"country": "CN", "province": "Shanghai"},
        {"country": "US"},
    ]
    assert services.parse_regions("  ") == []
    assert services.regions_text(services.parse_regions("CN:Zhejiang;US")) == "CN:Zhejiang;US"
    with pytest.raises(ValidationError):
        services.parse_regions("UK")


def test_source_delete_closes_the_gap(make_product, make_source):
    product = make_product()
    a, b, c = make_source(product), make_source(product), make_source(product)
    services.source_delete(source=b)
    assert list(product.sources.order_by("position").values_list("pk", "position")) == [(a.pk, 1), (c.pk, 2)]


def test_stock_set_starts_tracking_and_changes_on_hand(make_product, make_source, operator):
    source = make_source(make_product())

    stock = services.stock_set(source=source, on_hand=10, actor=operator)
    assert (stock.on_hand, stock.reserved, stock.updated_by) == (10, 0, operator.email)
    stock = services.stock_set(source=source, on_hand=4, actor="supplier")
    assert (stock.on_hand, stock.updated_by) == (4, "supplier")


def test_stock_never_below_reserved(make_product, make_source):
    source = make_source(make_product(), on_hand=10)
    Stock.objects.filter(source=source).update(reserved=6)

    with pytest.raises(ValidationError) as exc:
        services.stock_set(source=source, on_hand=5)

    assert exc.value.message_dict["on_hand"] == ["6 units are reserved for orders; on hand cannot be set below that."]
    assert Stock.objects.get(source=source).on_hand == 10
    assert services.stock_set(source=source, on_hand=6).available == 0
    with pytest.raises(ValidationError):
        services.stock_set(source=source, on_hand=-1)
