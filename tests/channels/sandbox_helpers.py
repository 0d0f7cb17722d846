"""The sandbox shop served on a free local port, a clock the tests move by hand, and a Shopify client's moves.

No Django and no database: the shop and its server are plain Python.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import httpx

from channels.sandbox.generator import SandboxShop
from channels.sandbox.server import make_server, serving

TOKEN = "sandbox-token"
VERSION = "2025-07"
START = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC).timestamp()


class FakeClock:
    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextlib.contextmanager
def running(sandbox: SandboxShop, *, clock: FakeClock | None = None, token: str = TOKEN) -> Iterator[str]:
    """The shop served on a free port in a thread, taking ``token``; yields its base URL."""
    with serving(make_server(sandbox, port=0, access_token=token, clock=clock)) as base_url:
        yield base_url


def http_client(base_url: str, token: str = TOKEN) -> httpx.Client:
    # trust_env=False: a proxy configured on the machine must not intercept 127.0.0.1.
    return httpx.Client(
        base_url=f"{base_url}/admin/api/{VERSION}/",
        headers={"X-Shopify-Access-Token": token},
        timeout=10,
        trust_env=False,
    )


def pull(sandbox_api: httpx.Client, **params) -> tuple[list[dict], list[httpx.Response]]:
    """Every order the filters select, following rel="next" links as a Shopify client does."""
    responses = [sandbox_api.get("orders.json", params=params)]
    while "next" in responses[-1].links:
        assert responses[-1].status_code == 200, responses[-1].text
        responses.append(sandbox_api.get(responses[-1].links["next"]["url"]))
    assert responses[-1].status_code == 200, responses[-1].text
    return [order for response in responses for order in response.json()["orders"]], responses


def stamp(order: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(order["updated_at"])


def utc(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()


def fulfil(fo_id: int, fo_line_id: int, quantity: int) -> dict:
    return {
        "fulfillment": {
            "line_items_by_fulfillment_order": [
                {
                    "fulfillment_order_id": fo_id,
                    "fulfillment_order_line_items": [{"id": fo_line_id, "quantity": quantity}],
                }
            ]
        }
    }
