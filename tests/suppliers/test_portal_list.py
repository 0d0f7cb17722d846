"""The portal's home and dispatch list: counts, filters, search, sort and keyset pages, by page and API."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from suppliers.models import Dispatch
from suppliers.portal import selectors
from suppliers.portal.selectors import DispatchFilters, portal_dispatches, portal_dispatches_page
from tests.suppliers.portal_factories import make_dispatch, new_order

NOW = timezone.now()
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def numbers(dispatches) -> list[str]:
    return [d.number for d in dispatches]


def listed(portal, query: str = "") -> list[str]:
    response = portal.get(f"/portal/dispatches/?{query}")
    assert response.status_code == 200
    return numbers(response.context["page"].dispatches)


# ---------------------------------------------------------------- home


def test_home_counts_link_into_the_list(portal, portal_api, acme, bolt):
    make_dispatch(acme, status="pending", created=NOW - HOUR)  # awaiting, not overdue
    late_accept = make_dispatch(acme, status="pending", created=NOW - 2 * DAY)  # accept-by passed
    make_dispatch(acme, status="accepted", created=NOW - HOUR)  # to ship
    late_ship = make_dispatch(acme, status="accepted", created=NOW - 4 * DAY)  # ship-by passed
    make_dispatch(acme, status="shipped", created=NOW - 4 * DAY, shipped_at=NOW - HOUR)  # shipped this month
    make_dispatch(acme, status="shipped", created=NOW - 90 * DAY, shipped_at=NOW - 60 * DAY)  # an earlier month
    make_dispatch(acme, status="rejected", created=NOW - 4 * DAY)  # past its deadlines, but closed
    make_dispatch(bolt, status="pending", created=NOW - 5 * DAY)  # another supplier's

    response = portal.get("/portal/")
    summary = portal_api.get("/api/v1/portal/summary/").json()

    assert response.status_code == 200
    counts = response.context["summary"]
    assert (counts.awaiting, counts.overdue, counts.to_ship, counts.shipped_this_month) == (2, 2, 2, 1)
    assert summary == {
        "awaiting": 2, "overdue": 2, "to_ship": 2, "shipped_this_month": 1,
        "month_start": counts.month_start.isoformat(),
    }  # fmt: skip
    assert numbers(response.context["overdue"]) == [late_accept.number, late_ship.number]
    html = response.content.decode()
    for query in ("state=pending", "overdue=1", "state=to_ship", "state=shipped&amp;shipped_from="):
        assert f"/portal/dispatches/?{query}" in html
    assert len(listed(portal, "overdue=1")) == 2
    assert len(listed(portal, "state=to_ship")) == 2
    assert len(listed(portal, f"state=shipped&shipped_from={counts.month_start.isoformat()}")) == 1


def test_the_month_is_the_tenants(in_a, acme):
    # Half past midnight on 1 April in Shanghai is still 31 March in UTC.
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    now = dt.datetime(2026, 4, 1, 0, 30, tzinfo=shanghai)  # 2026-03-31 16:30 UTC
    make_dispatch(acme, status="shipped", shipped_at=dt.datetime(2026, 3, 31, 23, 0, tzinfo=shanghai))
    make_dispatch(acme, status="shipped", shipped_at=dt.datetime(2026, 4, 1, 0, 10, tzinfo=shanghai))

    in_shanghai = selectors.portal_summary(supplier=acme, tz=shanghai, now=now)
    in_utc = selectors.portal_summary(supplier=acme, tz=dt.UTC, now=now)

    assert (in_shanghai.month_start, in_shanghai.shipped_this_month) == (dt.date(2026, 4, 1), 1)
    assert (in_utc.month_start, in_utc.shipped_this_month) == (dt.date(2026, 3, 1), 2)


# ---------------------------------------------------------------- filters


def test_state_filters(portal, acme):
    made = {
        status: make_dispatch(acme, status=status)
        for status in ("pending", "accepted", "shipped", "rejected", "cancelled")
    }

    for state in ("pending", "accepted", "shipped", "rejected", "cancelled"):
        assert listed(portal, f"state={state}") == [made[state].number]
    assert listed(portal, "state=to_ship") == [made["accepted"].number]
    assert len(listed(portal)) == 5


def test_date_range_is_in_the_tenants_time_zone(in_a, acme):
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    late_on_the_1st = make_dispatch(acme, created=dt.datetime(2026, 3, 1, 23, 30, tzinfo=shanghai))
    early_on_the_2nd = make_dispatch(acme, created=dt.datetime(2026, 3, 2, 0, 30, tzinfo=shanghai))

    def between(start, end, tz=shanghai):
        filters = DispatchFilters(created_from=start, created_to=end)
        return numbers(portal_dispatches_page(supplier=acme, filters=filters, tz=tz).dispatches)

    assert between(dt.date(2026, 3, 1), dt.date(2026, 3, 1)) == [late_on_the_1st.number]
    assert between(dt.date(2026, 3, 2), None) == [early_on_the_2nd.number]
    # In UTC both were made on the 1st (15:30 and 16:30).
    assert between(dt.date(2026, 3, 1), dt.date(2026, 3, 1), tz=dt.UTC) == numbers([early_on_the_2nd, late_on_the_1st])


def test_overdue_filter_follows_overdue_at(portal, acme):
    late_accept = make_dispatch(acme, status="pending", created=NOW - 2 * DAY)
    late_ship = make_dispatch(acme, status="accepted", created=NOW - 4 * DAY)
    make_dispatch(acme, status="pending", created=NOW - HOUR)
    make_dispatch(acme, status="accepted", created=NOW - DAY)
    make_dispatch(acme, status="shipped", created=NOW - 9 * DAY)
    make_dispatch(acme, status="cancelled", created=NOW - 9 * DAY)

    response = portal.get("/portal/dispatches/?overdue=1")

    assert numbers(response.context["page"].dispatches) == [late_accept.number, late_ship.number]
    assert [row.overdue_kind for row in response.context["rows"]] == ["accept", "ship"]
    html = response.content.decode()
    assert html.count('class="overdue"') == 2
    assert listed(portal, "overdue=0") == listed(portal)
    assert len(listed(portal)) == 6
    for dispatch in Dispatch.objects.filter(supplier=acme):
        assert bool(dispatch.overdue_at(timezone.now())) == (dispatch.pk in (late_accept.pk, late_ship.pk))


def test_bad_filters_are_said_and_the_list_unfiltered(portal, portal_api, acme):
    make_dispatch(acme)

    response = portal.get("/portal/dispatches/?created_from=2026-05-02&created_to=2026-05-01")
    api = portal_api.get("/api/v1/portal/dispatches/?created_from=yesterday")

    assert "must not be after" in response.content.decode()
    assert len(response.context["page"].dispatches) == 1
    assert api.status_code == 400
    assert "created_from" in api.json()["errors"]


# ---------------------------------------------------------------- search


@pytest.fixture
def searchable(acme):
    """Three dispatches with different orders, SKUs and buyers."""
    return {
        "mug": make_dispatch(acme, order=new_order(("MUG-01", 1), number="#100123"), lines=(("MUG-01", 1, "4.00"),),
                             buyer_name="Ada Lovelace"),
        "tee": make_dispatch(acme, order=new_order(("TEE-RED", 1), number="#100200"), lines=(("TEE-RED", 2, "3.00"),),
                             buyer_name="Grace Hopper", listing_prefix="SHOP-"),
        "cap": make_dispatch(acme, order=new_order(("CAP", 1), number="200999"), lines=(("CAP", 1, "2.00"),),
                             buyer_name="Alan Turing"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "q, expected",
    [
        ("#1001", ["mug"]),  # order number prefix
        ("100", ["tee", "mug"]),  # order number prefix, "#" implied
        ("2009", ["cap"]),  # order number without "#"
        ("MUG", ["mug"]),  # product SKU prefix
        ("tee-r", ["tee"]),  # SKU typed in lower case
        ("SHOP-TEE", ["tee"]),  # listing SKU prefix
        ("L-CA", ["cap"]),  # listing SKU prefix
        ("grace", ["tee"]),  # buyer name prefix, any case
        ("AL", ["cap"]),  # "Alan", not "Ada Lovelace" (no match inside the name)
        ("nothing-like-it", []),
    ],
)
def test_search_paths(q, expected, portal, searchable):
    assert listed(portal, f"q={q.replace('#', '%23')}") == [searchable[key].number for key in expected]


def test_search_by_dispatch_number_exact_and_prefix(portal, acme, searchable):
    mug = searchable["mug"]

    assert listed(portal, f"q={mug.number}") == [mug.number]
    assert listed(portal, f"q={mug.number.lower()}") == [mug.number]
    assert set(listed(portal, f"q={mug.number[:-1]}")) >= {mug.number}
    assert listed(portal, "q=D9") == []


def test_broad_search_paths_walk_the_list_with_the_same_answers(portal, searchable, monkeypatch):
    # A path matching more than SEARCH_NARROW dispatches in the tenant walks the supplier's list instead.
    narrow = {q: listed(portal, f"q={q}") for q in ("100", "MUG", "a", "D0", "SHOP")}
    monkeypatch.setattr(selectors, "SEARCH_NARROW", 0)

    assert {q: listed(portal, f"q={q}") for q in narrow} == narrow


def test_search_with_other_filters(portal, acme, searchable):
    Dispatch.objects.filter(pk=searchable["tee"].pk).update(status="accepted")

    assert listed(portal, "q=100&state=pending") == [searchable["mug"].number]
    assert listed(portal, "q=100&state=to_ship") == [searchable["tee"].number]


# ---------------------------------------------------------------- sort and pages


@pytest.fixture
def many(acme, bolt):
    """57 dispatches of Acme over ten days, some sharing a creation time, and a few of Bolt's in between."""
    order = new_order(("MUG", 1))
    base = NOW - 10 * DAY
    made = []
    for i in range(57):
        created = base + (i // 3) * 4 * HOUR  # three at each moment: the id breaks the tie
        made.append(
            make_dispatch(acme, order=order, lines=(("MUG", 1, "4.00"),), created=created,
                          accept_by=created + ((i * 7) % 13) * HOUR, ship_by=created + ((i * 5) % 11) * DAY,
                          status="pending" if i % 4 else "accepted")
        )  # fmt: skip
        if i % 10 == 0:
            make_dispatch(bolt, order=order, lines=(("MUG", 1, "4.00"),), created=created)
    return made


def _expected(made, sort):
    keys = {
        "newest": lambda d: (-d.created.timestamp(), -d.pk),
        "oldest": lambda d: (d.created, d.pk),
        "accept_by": lambda d: (d.accept_by, d.pk),
        "ship_by": lambda d: (d.ship_by, d.pk),
    }
    return numbers(sorted(made, key=keys[sort]))


def _walk(supplier, filters, size):
    seen, cursor, pages = [], "", 0
    while True:
        page = portal_dispatches_page(supplier=supplier, filters=filters, after=cursor, size=size)
        seen += numbers(page.dispatches)
        pages += 1
        if not page.next_cursor:
            return seen, pages
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", ["newest", "oldest", "accept_by", "ship_by"])
def test_keyset_pages_have_no_gaps_or_repeats(sort, acme, many, monkeypatch):
    seen, pages = _walk(acme, DispatchFilters(sort=sort), size=10)

    assert seen == _expected(many, sort)
    assert pages == 6


@pytest.mark.parametrize("narrow", [2000, 0])
def test_searched_pages_have_no_gaps_or_repeats(narrow, acme, many, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_NARROW", narrow)
    everything = set(
        portal_dispatches(supplier=acme, filters=DispatchFilters(q="MUG")).values_list("number", flat=True)
    )

    seen, _pages = _walk(acme, DispatchFilters(q="MUG", sort="newest"), size=7)

    assert seen == _expected(many, "newest")
    assert set(seen) == everything


def test_pages_go_back_with_the_before_cursor(acme, many):
    filters = DispatchFilters(sort="oldest")
    first = portal_dispatches_page(supplier=acme, filters=filters, size=20)
    second = portal_dispatches_page(supplier=acme, filters=filters, size=20, after=first.next_cursor)

    back = portal_dispatches_page(supplier=acme, filters=filters, size=20, before=second.prev_cursor)

    assert numbers(back.dispatches) == numbers(first.dispatches)
    assert back.prev_cursor is None


def test_list_page_links_keep_the_filters(portal, acme, many):
    first = portal.get("/portal/dispatches/?state=pending&sort=oldest")
    older = first.context["next_query"]

    assert len(first.context["page"].dispatches) == 42  # 57 less the 15 accepted: one page of 50
    assert older == ""
    first = portal.get("/portal/dispatches/")
    assert len(first.context["page"].dispatches) == 50
    query = parse_qs(first.context["next_query"])
    second = portal.get("/portal/dispatches/?" + first.context["next_query"])
    assert set(query) == {"after"}
    assert len(second.context["page"].dispatches) == 7
    assert "Newer" in second.content.decode()
    filtered = portal.get("/portal/dispatches/?sort=ship_by&state=to_ship&q=M")
    assert filtered.context["next_query"] == ""
    assert [d.status for d in filtered.context["page"].dispatches] == ["accepted"] * 15


def test_list_page_reads_a_constant_number_of_queries(portal, acme, many, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        assert portal.get("/portal/dispatches/").status_code == 200
    with django_assert_max_num_queries(18):
        assert portal.get("/portal/dispatches/?q=MUG").status_code == 200


def test_api_list_reads_a_constant_number_of_queries(portal_api, acme, many, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        assert len(portal_api.get("/api/v1/portal/dispatches/").json()["results"]) == 50


def test_api_list_follows_next_to_the_end(portal_api, acme, many):
    url, seen = "/api/v1/portal/dispatches/?sort=oldest&state=pending", []
    while url:
        body = portal_api.get(url).json()
        seen += [row["number"] for row in body["results"]]
        url = body["next"]
        if url:
            parsed = urlparse(url)
            assert parse_qs(parsed.query)["state"] == ["pending"]
            url = f"{parsed.path}?{parsed.query}"

    assert seen == _expected([d for d in many if d.status == "pending"], "oldest")
    row = portal_api.get("/api/v1/portal/dispatches/?q=MUG").json()["results"][0]
    assert set(row) >= {
        "id",
        "number",
        "status",
        "accept_by",
        "ship_by",
        "overdue",
        "ship_to",
        "order_numbers",
        "units",
    }
    assert row["buyer_email"] == ""
