"""The supplier portal's home: its own queue by state and its on-time rate by month, from its own dispatches only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from suppliers.portal import dashboard
from tests.suppliers.factories import SupplierFactory
from tests.suppliers.portal_factories import make_dispatch

HOSTILE = "<script>alert(1)</script> & Co"


def _rows(chart) -> list[tuple[str, str]]:
    return [(row[0].text, row[1].text) for row in chart.table.rows]


def _this_month(in_a) -> dt.datetime:
    """Noon on the 1st of the current month in the tenant's zone: every deadline below falls in the month."""
    today = timezone.localtime(timezone.now(), timezone=in_a.tz).date()
    return dt.datetime.combine(today.replace(day=1), dt.time(12), tzinfo=in_a.tz)


def test_the_queue_by_state_counts_only_the_suppliers_own_dispatches(in_a, acme, bolt, portal):
    for status, n in (("pending", 2), ("accepted", 1), ("shipped", 3)):
        for _ in range(n):
            make_dispatch(acme, status=status)
    for _ in range(5):
        make_dispatch(bolt, status="pending")  # another supplier's: never counted

    response = portal.get("/portal/")

    assert response.status_code == 200
    chart = response.context["queue_chart"]
    assert _rows(chart) == [
        ("Waiting for the supplier", "2"),
        ("Accepted", "1"),
        ("Shipped", "3"),
        ("Rejected", "0"),
        ("Cancelled", "0"),
    ]
    assert chart.table.rows[1][0].href == "/portal/dispatches/?state=to_ship"
    html = response.content.decode()
    assert "<svg" in html and "Show as table" in html
    assert (
        '<th scope="row"><a href="/portal/dispatches/?state=pending">Waiting for the supplier</a></th><td class="num">2</td>'
        in html
    )


def test_the_on_time_rate_by_month(in_a, acme, bolt, portal):
    start = _this_month(in_a)
    ship_by = start + dt.timedelta(days=2)
    for shipped_at in (ship_by - dt.timedelta(hours=1), ship_by, ship_by + dt.timedelta(hours=1)):
        make_dispatch(acme, status="shipped", created=start, ship_by=ship_by, shipped_at=shipped_at)
    make_dispatch(acme, status="accepted", created=start, ship_by=ship_by)  # not shipped: not in the rate
    for _ in range(3):  # Bolt ships late every time; Acme's rate must not see it
        make_dispatch(bolt, status="shipped", created=start, ship_by=ship_by, shipped_at=ship_by + dt.timedelta(days=1))

    response = portal.get("/portal/")

    chart = response.context["on_time_chart"]
    rows = _rows(chart)
    assert len(rows) == 6
    assert rows[-1] == (start.strftime("%Y-%m"), "66.7%")  # 2 of 3 at or before the deadline
    assert all(value == "—" for _month, value in rows[:-1])  # nothing shipped then: no rate, not 0%


def test_a_supplier_without_dispatches_gets_empty_states(in_a, acme, portal):
    html = portal.get("/portal/").content.decode()

    assert "No dispatch yet." in html
    assert "Nothing shipped against a deadline in the last six months." in html
    assert "<svg" not in html


def test_the_selectors_take_the_supplier(in_a, acme, bolt):
    make_dispatch(bolt, status="rejected")

    assert sum(row.count for row in dashboard.queue_by_state(supplier=acme)) == 0
    assert [row.count for row in dashboard.queue_by_state(supplier=bolt)] == [0, 0, 0, 1, 0]


def test_the_supplier_name_is_escaped(in_a, make_user, client_for):
    hostile = SupplierFactory(name=HOSTILE)
    make_dispatch(hostile, status="pending")
    user = make_user(in_a, "supplier", supplier=hostile)

    html = client_for(in_a, user).get("/portal/").content.decode()

    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_other_roles_do_not_get_the_portal_home(in_a, make_user, client_for, role):
    response = client_for(in_a, make_user(in_a, role)).get("/portal/")

    assert response.status_code in (302, 403)
    assert "queue_chart" not in (response.context or {})


def test_the_home_stays_within_its_queries(in_a, acme, portal, django_assert_max_num_queries):
    for status in ("pending", "accepted", "shipped", "shipped", "rejected"):
        make_dispatch(acme, status=status)

    with django_assert_max_num_queries(14):
        assert portal.get("/portal/").status_code == 200
