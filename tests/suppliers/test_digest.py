"""The daily digest per supplier: dispatches new since the last digest and those overdue, e-mailed to the supplier's
active users and its contact once a day after DIGEST_HOUR in the tenant's time zone, through the periodic dispatcher."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.utils import translation

from erp.tasks import PERIODIC_TENANT_TASKS
from suppliers.digest import DIGEST_HOUR, digest_run_claim
from suppliers.members import supplier_user_create, supplier_user_set_active
from suppliers.models import Dispatch
from suppliers.services import supplier_set_active
from suppliers.tasks import send_due_digests
from tenants.accounts.models import Profile
from tests.conftest import PASSWORD, in_tenant
from tests.orders.routing_factories import make_supplier

D = Dispatch.Status
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
# 20 November, half an hour after the digest hour in Shanghai (tenant A's time zone)
MORNING = dt.datetime(2026, 11, 20, DIGEST_HOUR, 30, tzinfo=SHANGHAI)
CUTOFF = dt.datetime(2026, 11, 20, DIGEST_HOUR, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The digest's claims live in the cache (the test Redis), which no test transaction rolls back.
    cache.clear()
    yield
    cache.clear()


def dispatch(supplier, *, created, status=D.PENDING, accept_within=24, ship_within=72):
    row = Dispatch.objects.create(number=f"T{Dispatch.objects.count()}-{supplier.pk}", supplier=supplier, status=status)
    Dispatch.objects.filter(pk=row.pk).update(
        number=f"D{row.pk:08d}",
        created=created,
        accept_by=created + accept_within * H,
        ship_by=created + ship_within * H,
    )
    row.refresh_from_db()
    return row


@pytest.fixture
def acme(in_a):
    supplier = make_supplier("Acme")
    supplier.contact_email = "office@acme.cn"
    supplier.save()
    supplier_user_create(supplier=supplier, email="li@acme.cn", password=PASSWORD)
    gone = supplier_user_create(supplier=supplier, email="gone@acme.cn", password=PASSWORD)
    supplier_user_set_active(supplier=supplier, user=gone, active=False)
    return supplier


def run_digests(run_enqueued, at: dt.datetime = MORNING) -> int:
    """The dispatcher's minute at ``at``: the periodic task, then the tasks it sent, as a worker runs them."""
    with time_machine.travel(at, tick=False), run_enqueued():
        return send_due_digests.run()


def test_the_digest_lists_new_and_overdue_dispatches_to_active_users_and_the_contact(acme, run_enqueued):
    new = dispatch(acme, created=CUTOFF - 10 * H)
    overdue = dispatch(acme, created=CUTOFF - 5 * 24 * H, status=D.ACCEPTED)  # ship-by passed days ago
    dispatch(acme, created=CUTOFF - 20 * H, status=D.SHIPPED)  # done: not listed
    dispatch(acme, created=CUTOFF - 30 * H, status=D.REJECTED)  # done: not listed
    later = dispatch(acme, created=CUTOFF + 10 * dt.timedelta(minutes=1))  # after today's cut-off: tomorrow's

    assert run_digests(run_enqueued) == 1

    assert sorted(m.to[0] for m in mail.outbox) == ["li@acme.cn", "office@acme.cn"]  # one address per message
    message = mail.outbox[0]
    assert acme.name in message.subject and "1 new, 1 overdue" in message.subject
    assert new.number in message.body
    assert overdue.number in message.body and "not shipped" in message.body
    assert later.number not in message.body
    assert "http://alpha.localhost:8000/portal/dispatches/" in message.body
    assert "Asia/Shanghai" in message.body


def test_an_accept_overdue_dispatch_says_so(acme, run_enqueued):
    late = dispatch(acme, created=CUTOFF - 30 * H, accept_within=2)

    run_digests(run_enqueued)

    assert late.number in mail.outbox[0].body and "not accepted" in mail.outbox[0].body


def test_nothing_new_and_nothing_overdue_sends_no_email(acme, run_enqueued):
    dispatch(acme, created=CUTOFF - 3 * 24 * H, status=D.SHIPPED)

    assert run_digests(run_enqueued) == 1  # the supplier's task ran …

    assert mail.outbox == []  # … and had nothing to say


def test_before_the_digest_hour_nothing_is_sent(acme, run_enqueued):
    dispatch(acme, created=CUTOFF - 10 * H)

    assert run_digests(run_enqueued, at=CUTOFF - dt.timedelta(minutes=1)) == 0

    assert mail.outbox == []


def test_once_a_day_and_the_next_day_lists_only_what_came_since(acme, run_enqueued):
    first = dispatch(acme, created=CUTOFF - 10 * H, accept_within=48, ship_within=96)  # not overdue tomorrow either
    run_digests(run_enqueued)
    assert run_digests(run_enqueued, at=MORNING + 2 * H) == 0  # the dispatcher runs every minute
    assert len(mail.outbox) == 2
    second = dispatch(acme, created=CUTOFF + 5 * H)
    mail.outbox.clear()

    run_digests(run_enqueued, at=MORNING + 24 * H)

    body = mail.outbox[0].body
    assert second.number in body
    assert first.number not in body


def test_a_deactivated_supplier_gets_no_digest(acme, run_enqueued):
    dispatch(acme, created=CUTOFF - 10 * H)
    supplier_set_active(supplier=acme, active=False)

    assert run_digests(run_enqueued) == 0

    assert mail.outbox == []


def test_the_digest_is_part_of_the_periodic_work_of_every_tenant():
    assert "suppliers.send_due_digests" in PERIODIC_TENANT_TASKS
    assert send_due_digests.name == "suppliers.send_due_digests"


def test_each_tenant_has_its_own_digest(acme, tenant_a, tenant_b, run_enqueued):
    with in_tenant(tenant_b):
        beta = make_supplier("Beta")
        beta.contact_email = "office@beta.cn"
        beta.save()
        dispatch(beta, created=CUTOFF - 10 * H)
    dispatch(acme, created=CUTOFF - 10 * H)

    run_digests(run_enqueued)

    # tenant A's digest went to Acme only
    assert "office@beta.cn" not in [m.to[0] for m in mail.outbox]
    assert all("Beta" not in m.body for m in mail.outbox)
    # and tenant A's run did not use up tenant B's
    with in_tenant(tenant_b):
        run = digest_run_claim(now=MORNING, tz=SHANGHAI)
    assert run is not None and run.supplier_ids == [beta.pk]


def test_each_reader_gets_the_digest_in_the_language_they_chose(acme, run_enqueued):
    chinese = User.objects.get(email="li@acme.cn")
    Profile.objects.filter(user=chinese).update(language="zh-hans")
    dispatch(acme, created=CUTOFF - 10 * H)

    assert run_digests(run_enqueued) == 1

    by_reader = {m.to[0]: m for m in mail.outbox}
    assert re.search(r"[\u4e00-\u9fff]", by_reader["li@acme.cn"].body)
    assert not re.search(r"[\u4e00-\u9fff]", by_reader["office@acme.cn"].body.replace(acme.name, ""))
    assert translation.get_language() == "en"
