"""Apportionment: order discounts and shipping spread over lines to the cent, parts summing to the whole."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import minor_unit, quantum
from orders.apportionment import LineApportionment, apportion, apportion_order

D = Decimal
CURRENCIES = ["USD", "JPY", "KWD"]


def money(currency: str, *, max_units: int = 10**7, min_units: int = 0):
    """Amounts that are whole numbers of the currency's minor unit."""
    places = minor_unit(currency)
    return st.integers(min_value=min_units, max_value=max_units).map(lambda units: D(units).scaleb(-places))


@st.composite
def split_cases(draw, *, currency=None, allow_zero_weights=True):
    currency = currency or draw(st.sampled_from(CURRENCIES))
    weights = draw(st.lists(money(currency, min_units=0 if allow_zero_weights else 1), min_size=1, max_size=12))
    amount = draw(money(currency, min_units=-(10**7)))
    return currency, weights, amount


def exact_share(amount: Decimal, weights: list[Decimal], index: int) -> Fraction:
    total = sum(weights, D(0))
    if total == 0:
        return Fraction(amount) / len(weights)
    return Fraction(amount) * Fraction(weights[index]) / Fraction(total)


# ------------------------------------------------------------------ examples, checked by hand


def test_ten_dollars_over_three_equal_lines_gives_the_odd_cent_to_the_first():
    # given three equal lines

    # when 10.00 is spread over them
    parts = apportion(line_amounts=[D("5.00")] * 3, amount=D("10.00"), currency="USD")

    # then the parts are 3.34, 3.33, 3.33
    assert parts == [D("3.34"), D("3.33"), D("3.33")]


def test_parts_follow_the_weights():
    # given lines of 10.00 and 15.00

    # when 3.00 is spread over them
    parts = apportion(line_amounts=[D("10.00"), D("15.00")], amount=D("3.00"), currency="USD")

    # then 2:3 of it, exactly
    assert parts == [D("1.20"), D("1.80")]


def test_the_leftover_cent_goes_to_the_largest_remainder():
    # given lines of 1, 2 and 3 (exact shares of 1.00: 0.1666…, 0.3333…, 0.5)

    # when 1.00 is spread
    parts = apportion(line_amounts=[D(1), D(2), D(3)], amount=D("1.00"), currency="USD")

    # then floors are 0.16, 0.33, 0.50 and the one cent left goes to the remainder .666… (the first line)
    assert parts == [D("0.17"), D("0.33"), D("0.50")]


def test_equal_remainders_go_to_the_larger_weight():
    # given weights 1 and 3: exact shares of 0.02 are 0.005 and 0.015, remainders both half a cent

    # when 0.02 is spread
    parts = apportion(line_amounts=[D(1), D(3)], amount=D("0.02"), currency="USD")

    # then the larger line takes the cent left over
    assert parts == [D("0.00"), D("0.02")]


def test_when_every_weight_is_zero_the_amount_is_split_evenly_earlier_lines_first():
    # given three lines of nothing (free gifts)

    # when 0.05 of shipping is spread
    parts = apportion(line_amounts=[D(0), D(0), D(0)], amount=D("0.05"), currency="USD")

    # then evenly, earlier lines taking the odd cents
    assert parts == [D("0.02"), D("0.02"), D("0.01")]


def test_a_negative_amount_is_the_mirror_of_the_positive_one():
    # given three equal lines

    # when -10.00 is spread
    parts = apportion(line_amounts=[D(1)] * 3, amount=D("-10.00"), currency="USD")

    # then the parts are the negatives of the positive split
    assert parts == [D("-3.34"), D("-3.33"), D("-3.33")]


def test_yen_are_split_in_whole_yen():
    # given three equal lines priced in yen

    # when 100 yen are spread
    parts = apportion(line_amounts=[D(500)] * 3, amount=D(100), currency="JPY")

    # then in whole yen
    assert parts == [D(34), D(33), D(33)]
    assert all(part.as_tuple().exponent == 0 for part in parts)


def test_dinar_are_split_in_fils():
    # given three equal lines priced in Kuwaiti dinar

    # when 1.000 KWD is spread
    parts = apportion(line_amounts=[D("1.000")] * 3, amount=D("1.000"), currency="KWD")

    # then in thousandths
    assert parts == [D("0.334"), D("0.333"), D("0.333")]


def test_no_lines_and_nothing_to_spread_is_no_parts():
    # given no lines

    # when zero is spread
    parts = apportion(line_amounts=[], amount=D("0.00"), currency="USD")

    # then there are no parts
    assert parts == []


@pytest.mark.parametrize(
    ("line_amounts", "amount", "currency", "message"),
    [
        ([], D("1.00"), "USD", "over no lines"),
        ([D(1)], D("0.005"), "USD", "more decimals"),
        ([D(1)], D("0.5"), "JPY", "more decimals"),
        ([D(1), D(-1)], D("1.00"), "USD", "non-negative"),
        ([D("NaN")], D("1.00"), "USD", "non-negative"),
        ([1.5], D("1.00"), "USD", "must be a Decimal"),
        ([D(1)], 1.0, "USD", "must be a Decimal"),
    ],
)
def test_apportion_refuses_what_cannot_be_split(line_amounts, amount, currency, message):
    # given an impossible split

    # when / then
    with pytest.raises(ValueError, match=message):
        apportion(line_amounts=line_amounts, amount=amount, currency=currency)


def test_apportion_order_spreads_discount_and_shipping_by_goods_after_line_discounts():
    # given a tee (2 × 10.00, 5.00 off on the line) and a mug (1 × 15.00)
    lines = [(D("20.00"), D("5.00")), (D("15.00"), D("0.00"))]

    # when a 3.00 order discount and 10.00 shipping are apportioned
    shares = apportion_order(lines=lines, order_discount=D("3.00"), shipping=D("10.00"), currency="USD")

    # then both follow the goods after line discounts, 15.00 : 15.00
    assert shares == [
        LineApportionment(
            gross=D("20.00"),
            line_discount=D("5.00"),
            order_discount_share=D("1.50"),
            shipping_share=D("5.00"),
            net=D("18.50"),
        ),
        LineApportionment(
            gross=D("15.00"),
            line_discount=D("0.00"),
            order_discount_share=D("1.50"),
            shipping_share=D("5.00"),
            net=D("18.50"),
        ),
    ]


def test_apportion_order_nets_sum_to_the_order_total():
    # given three lines that do not divide evenly
    lines = [(D("9.99"), D("0")), (D("19.99"), D("1.00")), (D("4.01"), D("0"))]

    # when discount and shipping are apportioned
    shares = apportion_order(lines=lines, order_discount=D("3.33"), shipping=D("7.77"), currency="USD")

    # then the nets sum to goods - discounts + shipping, to the cent
    assert sum(share.net for share in shares) == D("9.99") + D("19.99") + D("4.01") - D("1.00") - D("3.33") + D("7.77")
    # exact discount shares 1.0083…, 1.9168…, 0.4047…: two cents left after the floors go to .83 and .68
    assert [share.order_discount_share for share in shares] == [D("1.01"), D("1.92"), D("0.40")]
    # exact shipping shares 2.3529…, 4.4726…, 0.9444…: the one cent left goes to .44
    assert [share.shipping_share for share in shares] == [D("2.35"), D("4.47"), D("0.95")]


def test_an_order_discount_may_take_the_goods_to_zero():
    # given one line of 10.00

    # when the whole 10.00 is discounted at order level
    shares = apportion_order(lines=[(D("10.00"), D(0))], order_discount=D("10.00"), shipping=D(0), currency="USD")

    # then the line's net is zero, not negative
    assert shares[0].net == D("0.00")


@pytest.mark.parametrize(
    ("lines", "order_discount", "shipping", "message"),
    [
        ([(D("10.00"), D("2.00"))], D("8.01"), D(0), "order discount 8.01 USD is more than the goods"),
        ([(D("10.00"), D("10.01"))], D(0), D(0), "more than the line's gross"),
        ([(D("10.00"), D(0))], D("-1.00"), D(0), "must not be negative"),
        ([(D("10.00"), D(0))], D(0), D("-1.00"), "must not be negative"),
        ([(D("10.00"), D(0))], D("0.001"), D(0), "more decimals"),
        ([(D("-10.00"), D(0))], D(0), D(0), "must not be negative"),
        ([], D(0), D("5.00"), "over no lines"),
    ],
)
def test_apportion_order_refuses_impossible_orders(lines, order_discount, shipping, message):
    # given an order whose amounts cannot be spread

    # when / then
    with pytest.raises(ValueError, match=message):
        apportion_order(lines=lines, order_discount=order_discount, shipping=shipping, currency="USD")


# ------------------------------------------------------------------ properties


@given(split_cases())
def test_parts_sum_exactly_to_the_amount(case):
    # given any weights and amount
    currency, weights, amount = case

    # when the amount is spread
    parts = apportion(line_amounts=weights, amount=amount, currency=currency)

    # then the parts add up to it exactly, one per line
    assert len(parts) == len(weights)
    assert sum(parts, D(0)) == amount


@given(split_cases())
def test_every_part_is_a_whole_number_of_minor_units(case):
    # given any weights and amount
    currency, weights, amount = case

    # when the amount is spread
    parts = apportion(line_amounts=weights, amount=amount, currency=currency)

    # then each part is a multiple of the quantum, written with the currency's decimals
    for part in parts:
        assert part % quantum(currency) == 0
        assert part.as_tuple().exponent == -minor_unit(currency)


@given(split_cases())
def test_every_part_is_within_one_unit_of_its_exact_share(case):
    # given any weights and amount
    currency, weights, amount = case

    # when the amount is spread
    parts = apportion(line_amounts=weights, amount=amount, currency=currency)

    # then no part strays a whole minor unit from its exact proportional value
    step = Fraction(quantum(currency))
    for index, part in enumerate(parts):
        assert abs(Fraction(part) - exact_share(amount, weights, index)) < step


@given(split_cases())
def test_the_same_input_always_gives_the_same_parts(case):
    # given any weights and amount
    currency, weights, amount = case

    # when the amount is spread twice
    first = apportion(line_amounts=weights, amount=amount, currency=currency)
    second = apportion(line_amounts=list(weights), amount=amount, currency=currency)

    # then the parts are identical
    assert first == second


@given(split_cases(), st.randoms(use_true_random=False))
def test_reordering_lines_does_not_change_what_a_weight_gets(case, random):
    # given any weights and the same lines in another order
    currency, weights, amount = case
    shuffled = list(weights)
    random.shuffle(shuffled)

    # when the amount is spread over both
    parts = apportion(line_amounts=weights, amount=amount, currency=currency)
    shuffled_parts = apportion(line_amounts=shuffled, amount=amount, currency=currency)

    # then each weight gets the same parts, whatever its position (equal weights may trade their odd unit)
    assert sorted(zip(weights, parts, strict=True)) == sorted(zip(shuffled, shuffled_parts, strict=True))


@given(split_cases(allow_zero_weights=False))
def test_a_larger_weight_never_gets_a_smaller_part(case):
    # given any positive weights and amount
    currency, weights, amount = case

    # when the amount is spread
    parts = apportion(line_amounts=weights, amount=amount, currency=currency)

    # then parts are ordered as the weights are (mirrored for a negative amount)
    sign = -1 if amount < 0 else 1
    for i in range(len(weights)):
        for j in range(len(weights)):
            if weights[i] > weights[j]:
                assert sign * parts[i] >= sign * parts[j]


@given(split_cases())
def test_a_negative_amount_mirrors_the_positive_split(case):
    # given any weights and amount
    currency, weights, amount = case

    # when the amount and its negative are spread
    parts = apportion(line_amounts=weights, amount=amount, currency=currency)
    mirrored = apportion(line_amounts=weights, amount=-amount, currency=currency)

    # then one is the negative of the other
    assert mirrored == [-part for part in parts]


@given(
    currency=st.sampled_from(CURRENCIES),
    count=st.integers(min_value=1, max_value=12),
    units=st.integers(min_value=0, max_value=10**6),
)
def test_zero_weights_split_evenly_with_earlier_lines_first(currency, count, units):
    # given lines that all weigh nothing
    amount = D(units).scaleb(-minor_unit(currency))

    # when the amount is spread
    parts = apportion(line_amounts=[D(0)] * count, amount=amount, currency=currency)

    # then parts differ by at most one unit, and never grow down the list
    assert max(parts) - min(parts) <= quantum(currency)
    assert parts == sorted(parts, reverse=True)
    assert sum(parts, D(0)) == amount


@st.composite
def orders(draw):
    currency = draw(st.sampled_from(CURRENCIES))
    lines = []
    for gross in draw(st.lists(money(currency, max_units=10**6), min_size=1, max_size=10)):
        line_discount = draw(money(currency, max_units=int(gross.scaleb(minor_unit(currency)))))
        lines.append((gross, line_discount))
    goods_units = int(sum((gross - discount for gross, discount in lines), D(0)).scaleb(minor_unit(currency)))
    order_discount = draw(money(currency, max_units=goods_units))
    shipping = draw(money(currency, max_units=10**5))
    return currency, lines, order_discount, shipping


@given(orders())
def test_order_nets_sum_exactly_and_no_line_goes_below_zero(order):
    # given any order whose order discount is at most its goods
    currency, lines, order_discount, shipping = order

    # when discount and shipping are apportioned
    shares = apportion_order(lines=lines, order_discount=order_discount, shipping=shipping, currency=currency)

    # then the nets sum to the order exactly
    goods = sum((gross - discount for gross, discount in lines), D(0))
    assert sum(share.net for share in shares) == goods - order_discount + shipping
    assert sum(share.order_discount_share for share in shares) == order_discount
    assert sum(share.shipping_share for share in shares) == shipping
    for share, (gross, line_discount) in zip(shares, lines, strict=True):
        # and a share is at most its own line's goods (ceil(D·w/W) <= w when D <= W and w is whole units)
        assert 0 <= share.order_discount_share <= gross - line_discount
        assert share.net == gross - line_discount - share.order_discount_share + share.shipping_share
        assert share.net >= 0
