"""Routing work a person starts that may take long: releasing or re-routing many held orders, and re-routing
the held orders a new listing mapping may free. It runs as a Celery task, a chunk of orders per transaction,
and reports its progress for the holds page and the API.

Progress lives in the cache (per tenant: the cache's key function carries the
schema) for a day; the holds page lists the recent jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from core.bulk import chunked
from core.tasks import enqueue, job_id_new, job_id_valid, tenant_task
from orders.routing.batch import RouteSummary
from orders.routing.services import held_for_listings, release_holds, reroute_held_for_listings, reroute_orders

logger = logging.getLogger(__name__)

CHUNK = 200
KEEP_SECONDS = 24 * 3600
RECENT = 10
_RECENT_KEY = "routing-jobs:recent"

KINDS = ("release", "reroute", "mapping")


def _key(job_id: str) -> str:
    return f"routing-job:{job_id}"


def _save(job: dict) -> dict:
    cache.set(_key(job["id"]), job, timeout=KEEP_SECONDS)
    return job


def routing_job_progress(*, job_id: str) -> dict | None:
    """The job as the page and the API show it: kind, state, orders done of total, counts, error; None if unknown."""
    if not job_id_valid(str(job_id)):
        return None
    job = cache.get(_key(str(job_id)))
    if job is None:
        return None
    total = job["total"]
    return {**job, "percent": int(100 * job["done"] / total) if total else 100 if job["state"] == "done" else 0}


def routing_jobs_recent() -> list[dict]:
    """The tenant's last jobs, newest first (those still remembered)."""
    jobs = (routing_job_progress(job_id=job_id) for job_id in cache.get(_RECENT_KEY, []))
    return [job for job in jobs if job is not None]


def _create(*, kind: str, total: int, label: str, actor_id: int | None) -> dict:
    job = {
        "id": job_id_new(),
        "kind": kind,
        "label": label,
        "state": "queued",
        "total": total,
        "done": 0,
        "routed": 0,
        "held": 0,
        "skipped": 0,
        "dispatches_created": 0,
        "error": "",
        "actor_id": actor_id,
        "created": timezone.now().isoformat(),
    }
    cache.set(_RECENT_KEY, [job["id"], *cache.get(_RECENT_KEY, [])][:RECENT], timeout=KEEP_SECONDS)
    return _save(job)


def routing_job_start(*, kind: str, order_ids: Sequence[int], actor) -> dict:
    """Queue the release or re-route of these orders (already scoped to the user); returns the job.

    The task is sent after the surrounding transaction commits.
    """
    if kind not in ("release", "reroute"):
        raise ValueError(f"unknown routing job kind {kind!r}")
    ids = sorted(set(order_ids))
    actor_id = getattr(actor, "pk", None)
    job = _create(kind=kind, total=len(ids), label="", actor_id=actor_id)
    enqueue(run_routing_job, job["id"], kind, ids, actor_id)
    return job


def _route_chunk(kind: str, listing_skus: Sequence[str]) -> Callable[..., RouteSummary]:
    """The service a job of ``kind`` routes each chunk with (``order_ids=…, actor=…``)."""
    if kind == "release":
        return release_holds
    if kind == "mapping":
        return partial(reroute_held_for_listings, listing_skus=listing_skus)
    return reroute_orders


def routing_job_run(
    *, job_id: str, kind: str, order_ids: Sequence[int], actor, listing_skus: Sequence[str] = ()
) -> dict:
    """Route the orders a chunk per transaction, saving progress after each. Safe to run again: what a
    chunk routed is skipped or left unchanged the second time."""
    job = routing_job_progress(job_id=job_id) or _create(
        kind=kind, total=len(order_ids), label="", actor_id=getattr(actor, "pk", None)
    )
    job.pop("percent", None)
    route = _route_chunk(kind, listing_skus)
    job.update(state="running", done=0, routed=0, held=0, skipped=0, dispatches_created=0, error="")
    _save(job)
    try:
        for chunk in chunked(sorted(set(order_ids)), CHUNK):
            summary = route(order_ids=chunk, actor=actor)
            job["done"] += len(chunk)
            for name in ("routed", "held", "skipped", "dispatches_created"):
                job[name] += getattr(summary, name)
            _save(job)
    except Exception as exc:
        job.update(state="failed", error=str(exc)[:300])
        _save(job)
        logger.exception("routing job failed", extra={"job": job_id, "kind": kind})
        raise
    job["state"] = "done"
    return _save(job)


def _actor(actor_id: int | None):
    return None if actor_id is None else get_user_model().objects.filter(pk=actor_id).first()


@tenant_task(name="orders.routing_job", queue="long")
def run_routing_job(job_id: str, kind: str, order_ids: list[int], actor_id: int | None = None) -> dict:
    return routing_job_run(job_id=job_id, kind=kind, order_ids=order_ids, actor=_actor(actor_id))


# Sent by name from inventory (a layer below) after a listing mapping changed: inventory.services.REROUTE_HELD_FOR_LISTINGS.
@tenant_task(name="orders.reroute_held_for_listings", queue="long")
def reroute_after_mapping(listing_skus: list[str], actor_id: int | None = None) -> dict:
    """Re-route the held orders that sell these listing SKUs, as a job the holds page shows."""
    ids = held_for_listings(listing_skus=listing_skus)
    job = _create(kind="mapping", total=len(ids), label=", ".join(sorted(listing_skus))[:200], actor_id=actor_id)
    return routing_job_run(
        job_id=job["id"], kind="mapping", order_ids=ids, actor=_actor(actor_id), listing_skus=sorted(listing_skus)
    )
