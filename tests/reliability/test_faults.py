"""Faults injected into a running stack (real processes): every result complete, nothing lost, nothing doubled.

- the Celery worker's pool process SIGKILLed in the middle of a sync, a routing batch, a month close, an export;
- a PostgreSQL connection terminated (pg_terminate_backend) in the middle of a routing batch;
- Redis restarted in the middle of a sync;
- the channel answering 429, 500, 503 and dropped connections for a few seconds;
- the same webhook delivered 100 times at once.

"In the middle" is made certain, not timed: a proxy holds the channel's second page, or this test holds a
PostgreSQL table lock so that the task waits inside its own transaction; pg_stat_activity shows it waiting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from celery import Celery
from django.conf import settings

from channels.sandbox.generator import SandboxShop
from tests.reliability.conftest import SHOP_ORDERS, Faults, run_remote
from tests.reliability.harness import redis_client, wait_until
from tests.reliability.remote import WEBHOOK_SECRET

pytestmark = pytest.mark.worker

SYNC_TASK = "channels.sync_store"
CLOSE_TASK = "settlement.close_period"


# ---------------------------------------------------------------- checks


def orders_of(faults: Faults, shop: str) -> tuple[int, int]:
    """(orders, distinct channel ids) of the shop's store."""
    return faults.query(
        "SELECT count(*), count(DISTINCT external_id) FROM orders_order WHERE store_id = %s", (faults.stores[shop],)
    )[0]


def unrouted(faults: Faults, shop: str) -> int:
    return faults.scalar(
        "SELECT count(*) FROM orders_order WHERE store_id = %s AND status = 'new'", (faults.stores[shop],)
    )


def doubled_dispatches(faults: Faults) -> int:
    """Order lines sourced twice, plus (order, supplier) pairs with two live dispatches: both must be none."""
    lines = faults.scalar(
        """SELECT count(*) FROM (
             SELECT dl.order_line_id, dl.product_id, dl.source_id FROM suppliers_dispatchline dl
             JOIN suppliers_dispatch d ON d.id = dl.dispatch_id
             WHERE d.status NOT IN ('rejected', 'cancelled') AND dl.order_line_id IS NOT NULL AND NOT dl.is_gift
             GROUP BY 1, 2, 3 HAVING count(*) > 1) doubled"""
    )
    pairs = faults.scalar(
        """SELECT count(*) FROM (
             SELECT dl.order_id, d.supplier_id FROM suppliers_dispatchline dl
             JOIN suppliers_dispatch d ON d.id = dl.dispatch_id
             WHERE d.status NOT IN ('rejected', 'cancelled') AND d.supplier_id IS NOT NULL
             GROUP BY 1, 2 HAVING count(DISTINCT d.id) > 1) doubled"""
    )
    return lines + pairs


def assert_store_complete(faults: Faults, shop: str) -> None:
    """Every order of the shop once, every one routed, no line dispatched twice; counted into the figures."""
    wait_until(lambda: unrouted(faults, shop) == 0, timeout=60, what=f"the {shop} shop's orders routed",
               stack=faults.stack)  # fmt: skip
    faults.wait_idle()
    orders, distinct = orders_of(faults, shop)
    faults.figures["lost"] += max(0, SHOP_ORDERS - distinct)
    faults.figures["duplicated"] += orders - distinct + doubled_dispatches(faults)
    assert (orders, distinct) == (SHOP_ORDERS, SHOP_ORDERS)
    assert unrouted(faults, shop) == 0
    assert doubled_dispatches(faults) == 0
    faults.figures["survived"] += 1


def sync_runs(faults: Faults, shop: str) -> list[tuple[str, str]]:
    return faults.query(
        "SELECT status, message FROM channels_syncrun WHERE store_id = %s ORDER BY id", (faults.stores[shop],)
    )


def second_page(path: str) -> bool:
    return "orders.json" in path and "page_info=" in path


def wait_first_page_written(faults: Faults, shop: str) -> None:
    proxy = faults.proxies[shop]
    wait_until(lambda: proxy.held, timeout=60, what="the sync asks for its second page", stack=faults.stack)
    wait_until(lambda: orders_of(faults, shop)[0] >= 250, timeout=60, what="the first page is written")


# ---------------------------------------------------------------- the tests


def test_the_same_webhook_delivered_100_times_at_once_makes_one_order(faults: Faults):
    # given one signed Shopify delivery of a new order
    order = SandboxShop(seed=4242, rate_per_minute=0).generate(1)[0]
    body = json.dumps(order).encode()
    signature = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Host": f"demo.localhost:{faults.stack.web_port}",
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Event-Id": "fault-event-1",
    }
    url = f"http://127.0.0.1:{faults.stack.web_port}/webhooks/{faults.webhook_token}/"
    start = threading.Barrier(50)

    def deliver(_n: int) -> tuple[int, str]:
        start.wait(30)
        # runserver listens with a backlog of 5: a burst overflows it and some connections are reset before Django
        # sees them. Shopify delivers again what was not answered, so does this client (never a delivery answered).
        for _attempt in range(20):
            try:
                with httpx.Client(timeout=60) as client:
                    response = client.post(url, content=body, headers=headers)
                return response.status_code, response.json().get("outcome", "")
            except httpx.TransportError:
                continue
        return 0, "unreachable"

    # when it arrives 100 times, 50 at a time in flight
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(deliver, range(100)))
    faults.figures["injected"] += 1

    # then every delivery was answered 200, one made the order and 99 were recognised, and one order exists
    assert {status for status, _ in answers} == {200}, answers
    outcomes = sorted(outcome for _, outcome in answers)
    assert outcomes.count("created") == 1 and outcomes.count("duplicate") == 99, outcomes
    count = faults.scalar(
        "SELECT count(*) FROM orders_order WHERE store_id = %s AND external_id = %s",
        (faults.webhook_store, str(order["id"])),
    )
    assert count == 1
    faults.wait_idle()
    assert doubled_dispatches(faults) == 0
    faults.figures["survived"] += 1


def test_a_sync_whose_worker_is_killed_between_pages_completes(faults: Faults):
    # given a sync of 400 orders stopped at its second page (the first one written)
    proxy = faults.proxies["killed"]
    proxy.hold(second_page)
    faults.send(SYNC_TASK, faults.stores["killed"], "manual")
    wait_first_page_written(faults, "killed")

    # when the pool process running it is SIGKILLed, and the channel answers again
    faults.worker.kill_pool_process()
    faults.figures["injected"] += 1
    proxy.release()
    faults.wait_idle()  # the task came back (reject_on_worker_lost) and was taken again

    # then the task, redelivered under its own id, took over the lock its dead worker held (no wait for the
    # lock to lapse): it marked the cut-off run interrupted and synced from the cursor
    wait_until(lambda: unrouted(faults, "killed") == 0 and orders_of(faults, "killed")[0] == SHOP_ORDERS,
               timeout=90, what="every order synced and routed", stack=faults.stack)  # fmt: skip
    assert_store_complete(faults, "killed")
    assert [status for status, _ in sync_runs(faults, "killed")] == ["failed", "succeeded"]


def test_a_sync_through_429_500_and_dropped_connections_loses_nothing(faults: Faults):
    # given a channel that, for 5 seconds (the minute scaled to the adapter's in-request retries: 5
    # attempts, 1-2-4-8 s apart), answers 429 (Retry-After: 1), drops the connection unanswered, answers 500, 503
    proxy = faults.proxies["flaky"]
    proxy.fail_for(5.0, ("429", "drop", "500", "503"))

    # when a sync runs through it
    faults.send(SYNC_TASK, faults.stores["flaky"], "manual")
    wait_until(lambda: sync_runs(faults, "flaky") and sync_runs(faults, "flaky")[-1][0] != "running",
               timeout=90, what="the sync finished", stack=faults.stack)  # fmt: skip
    faults.figures["injected"] += sum(proxy.faults_served.values())

    # then the adapter's bounded retries rode it out: the run succeeded with every order
    assert sum(proxy.faults_served.values()) >= 3, proxy.faults_served
    assert sync_runs(faults, "flaky")[-1][0] == "succeeded", sync_runs(faults, "flaky")
    assert_store_complete(faults, "flaky")


def test_a_routing_batch_whose_worker_is_killed_mid_transaction_completes(faults: Faults):
    # given the routing of a synced page stopped inside its transaction (dispatches cannot be written yet)
    table = f'"{faults.demo_schema}".suppliers_dispatch'
    with faults.database.table_locked(table):
        faults.send(SYNC_TASK, faults.stores["routing"], "manual")
        blocked = wait_until(
            lambda: [b for b in faults.database.blocked_backends() if "suppliers_dispatch" in b[1]],
            timeout=90, what="routing waits on the dispatch table", stack=faults.stack,
        )  # fmt: skip
        assert blocked
        # when the pool process routing it is SIGKILLed (its transaction rolls back)
        faults.worker.kill_pool_process()
        faults.figures["injected"] += 1
    # then the batch is taken again and routes every order once
    wait_until(lambda: unrouted(faults, "routing") == 0 and orders_of(faults, "routing")[0] == SHOP_ORDERS,
               timeout=90, what="every order routed", stack=faults.stack)  # fmt: skip
    assert_store_complete(faults, "routing")


def test_a_routing_batch_whose_connection_is_terminated_retries_and_completes(faults: Faults):
    # given the routing of a synced page waiting inside its transaction
    table = f'"{faults.demo_schema}".suppliers_dispatch'
    with faults.database.table_locked(table):
        faults.send(SYNC_TASK, faults.stores["terminated"], "manual")
        blocked = wait_until(
            lambda: [b for b in faults.database.blocked_backends() if "suppliers_dispatch" in b[1]],
            timeout=90, what="routing waits on the dispatch table", stack=faults.stack,
        )  # fmt: skip
        # when PostgreSQL terminates its connection
        assert faults.database.terminate([pid for pid, _ in blocked]) == len(blocked)
        faults.figures["injected"] += 1
    # then nothing of the chunk was kept, the task retried on a new connection and every order is routed once
    wait_until(lambda: unrouted(faults, "terminated") == 0 and orders_of(faults, "terminated")[0] == SHOP_ORDERS,
               timeout=90, what="every order routed", stack=faults.stack)  # fmt: skip
    assert_store_complete(faults, "terminated")


def test_a_sync_across_a_redis_restart_completes_and_work_resumes(faults: Faults):
    # given a sync stopped at its second page
    proxy = faults.proxies["redis"]
    proxy.hold(second_page)
    faults.send(SYNC_TASK, faults.stores["redis"], "manual")
    wait_first_page_written(faults, "redis")

    # when Redis (broker, cache and locks) restarts under it
    faults.redis.restart()
    faults.figures["injected"] += 1
    proxy.release()

    # then the sync finishes or, cut off, the next one picks up; and the worker takes new work again
    wait_until(lambda: sync_runs(faults, "redis")[-1][0] != "running", timeout=90, what="the sync ended",
               stack=faults.stack)  # fmt: skip
    if orders_of(faults, "redis")[0] < SHOP_ORDERS:
        faults.send(SYNC_TASK, faults.stores["redis"], "scheduled")
    wait_until(lambda: unrouted(faults, "redis") == 0 and orders_of(faults, "redis")[0] == SHOP_ORDERS,
               timeout=90, what="every order synced and routed", stack=faults.stack)  # fmt: skip
    assert_store_complete(faults, "redis")


def test_a_month_close_whose_worker_is_killed_mid_transaction_completes(faults: Faults):
    # given the close of the ledger's last month stopped as it writes the statements
    period = faults.ledger_period
    table = f'"{faults.ledger_schema}".settlement_statement'
    shipped_lines = faults.scalar(
        "SELECT count(*) FROM suppliers_dispatchline dl JOIN suppliers_dispatch d ON d.id = dl.dispatch_id"
        " WHERE d.status = 'shipped' AND d.supplier_id IS NOT NULL",
        ledger=True,
    )
    assert shipped_lines > 0
    with faults.database.table_locked(table):
        faults.send(CLOSE_TASK, period, None, schema=faults.ledger_schema)
        wait_until(faults.database.blocked_backends, timeout=60, what="the close waits on statements",
                   stack=faults.stack)  # fmt: skip
        # when its pool process is SIGKILLed
        faults.worker.kill_pool_process()
        faults.figures["injected"] += 1
    # then the close is taken again (the period stayed "closing") and writes each statement once
    wait_until(
        lambda: faults.scalar("SELECT status FROM settlement_period WHERE id = %s", (period,), ledger=True)
        == "closed",
        timeout=90, what="the month closed", stack=faults.stack,
    )  # fmt: skip
    statements, distinct = faults.query(
        "SELECT count(*), count(DISTINCT (supplier_id, currency)) FROM settlement_statement WHERE period_id = %s",
        (period,), ledger=True,
    )[0]  # fmt: skip
    lines = faults.scalar(
        "SELECT count(*) FROM settlement_statementline l JOIN settlement_statement s ON s.id = l.statement_id"
        " WHERE s.period_id = %s AND l.kind = 'shipped'",
        (period,), ledger=True,
    )  # fmt: skip
    faults.figures["duplicated"] += statements - distinct + max(0, lines - shipped_lines)
    faults.figures["lost"] += max(0, shipped_lines - lines)
    assert statements == distinct > 0
    assert lines == shipped_lines
    faults.figures["survived"] += 1


def test_an_export_whose_worker_is_killed_mid_file_is_written_whole(faults: Faults):
    # given a statement export asked for while the worker is busy (a sync held at the channel)
    statement = faults.scalar(
        "SELECT id FROM settlement_statement WHERE period_id = %s ORDER BY id LIMIT 1", (faults.ledger_period,),
        ledger=True,
    )  # fmt: skip
    proxy = faults.proxies["killed"]
    proxy.hold(lambda path: "orders" in path)
    faults.send(SYNC_TASK, faults.stores["killed"], "manual")
    wait_until(lambda: proxy.held, timeout=60, what="the worker is busy", stack=faults.stack)
    made = run_remote(faults.stack, f"remote.start_export(statement_id={statement})")
    table = f'"{faults.ledger_schema}".settlement_exportfile'
    with faults.database.table_locked(table):
        proxy.release()  # the sync ends; the export comes next and waits to record its progress
        wait_until(faults.database.blocked_backends, timeout=60, what="the export waits on its row",
                   stack=faults.stack)  # fmt: skip
        # when its pool process is SIGKILLed
        faults.worker.kill_pool_process()
        faults.figures["injected"] += 1
    # then the export is taken again and its file is whole: a header and every line, no part file left
    wait_until(
        lambda: faults.scalar("SELECT status FROM settlement_exportfile WHERE id = %s", (made["export"],),
                              ledger=True) in ("done", "failed"),
        timeout=60, what="the export finished", stack=faults.stack,
    )  # fmt: skip
    status, rows, total = faults.query(
        "SELECT status, done_rows, total_rows FROM settlement_exportfile WHERE id = %s", (made["export"],), ledger=True
    )[0]
    assert status == "done"
    target = Path(settings.MEDIA_ROOT) / made["path"]
    assert not target.with_name(target.name + ".part").exists()
    written = target.read_text(encoding="utf-8-sig").splitlines()
    assert rows == total == made["total_rows"] > 0
    assert len(written) >= rows + 1
    faults.figures["survived"] += 1
    faults.wait_idle()


# Near the end: it leaves the broker holding a task until it gives it back.
def test_a_routing_batch_whose_whole_worker_dies_is_swept_up_and_its_late_return_changes_nothing(faults: Faults):
    # given the routing of a synced page waiting inside its transaction
    table = f'"{faults.demo_schema}".suppliers_dispatch'
    with faults.database.table_locked(table):
        faults.send(SYNC_TASK, faults.stores["lost"], "manual")
        wait_until(
            lambda: [b for b in faults.database.blocked_backends() if "suppliers_dispatch" in b[1]],
            timeout=90, what="routing waits on the dispatch table", stack=faults.stack,
        )  # fmt: skip
        # when the whole worker is SIGKILLed (its machine died) and another one starts
        faults.worker.kill()
        faults.figures["injected"] += 1
    faults.worker.start()

    # then the task is not lost, nor given back yet: the broker holds it unacknowledged for its visibility
    # timeout (settings: 6 h); the page's orders stay new, the rest of the work goes on
    with redis_client(faults.redis.url) as client:
        assert client.hlen("unacked") >= 1
        wait_until(lambda: client.llen("short") == client.llen("long") == 0, timeout=60, what="the queues drain")
    wait_until(lambda: orders_of(faults, "lost")[0] == SHOP_ORDERS, timeout=60, what="both pages synced")
    stuck = unrouted(faults, "lost")
    assert stuck > 0

    # when beat's dispatcher sends the sweep of orders left new (orders.sweep_unrouted; no wait here)
    faults.send("orders.sweep_unrouted", 0, queue="short")
    wait_until(lambda: unrouted(faults, "lost") == 0, timeout=90, what="the sweep routed them", stack=faults.stack)

    # and when, the visibility timeout over (made to pass at once here), the broker gives the lost task back
    late = Celery(
        "late", broker=faults.redis.url, broker_transport_options={"visibility_timeout": 0}, set_as_current=False
    )
    with late.connection_for_write() as connection:
        connection.default_channel.qos.restore_visible(num=100, interval=0)
    late.close()
    with redis_client(faults.redis.url) as client:
        wait_until(
            lambda: client.hlen("unacked") == client.llen("short") == client.llen("long") == 0,
            timeout=60, what="the returned task ran", stack=faults.stack,
        )  # fmt: skip

    # then its re-run changed nothing: every order once, routed once
    assert_store_complete(faults, "lost")


# Last: the shipments it makes send hundreds of fulfillment pushes that nothing after it waits for.
def test_a_tracking_upload_whose_worker_is_killed_mid_transaction_ships_every_dispatch_once(faults: Faults):
    # given a supplier's tracking file for 210 dispatches (over INLINE_ROWS: a job), queued while the worker is
    # busy (a sync held at the channel)
    proxy = faults.proxies["killed"]
    proxy.hold(lambda path: "orders" in path)
    faults.send(SYNC_TASK, faults.stores["killed"], "manual")
    wait_until(lambda: proxy.held, timeout=60, what="the worker is busy", stack=faults.stack)
    made = run_remote(faults.stack, "remote.start_tracking_upload(count=210)")
    dispatches = made["dispatches"]
    with faults.database.table_locked(f'"{faults.demo_schema}".suppliers_parcel'):
        proxy.release()  # the sync ends; the upload comes next and waits to write its parcels
        wait_until(
            lambda: [b for b in faults.database.blocked_backends() if "suppliers_parcel" in b[1]],
            timeout=60, what="the upload waits on the parcels", stack=faults.stack,
        )  # fmt: skip
        # when its pool process is SIGKILLed (nothing of its transaction is kept)
        faults.worker.kill_pool_process()
        faults.figures["injected"] += 1
    # then the job is taken again and ships every dispatch once, with one parcel each
    shipped = "SELECT count(*) FROM suppliers_dispatch WHERE id = ANY(%s) AND status = 'shipped'"
    wait_until(lambda: faults.scalar(shipped, (dispatches,)) == len(dispatches), timeout=90,
               what="every dispatch shipped", stack=faults.stack)  # fmt: skip
    # (their hundreds of fulfillment pushes are left to the worker: this test comes last)
    parcels, distinct = faults.query(
        "SELECT count(DISTINCT p.id), count(DISTINCT pl.dispatch_line_id) FROM suppliers_parcel p"
        " JOIN suppliers_parcelline pl ON pl.parcel_id = p.id JOIN suppliers_dispatchline dl ON dl.id = pl.dispatch_line_id"
        " WHERE dl.dispatch_id = ANY(%s)",
        (dispatches,),
    )[0]
    lines = faults.scalar("SELECT count(*) FROM suppliers_dispatchline WHERE dispatch_id = ANY(%s)", (dispatches,))
    faults.figures["duplicated"] += max(0, parcels - len(dispatches))
    faults.figures["lost"] += max(0, len(dispatches) - parcels)
    assert parcels == len(dispatches)
    assert distinct == lines
    faults.figures["survived"] += 1
