"""The sandbox shop: a local Shopify-compatible server generating realistic orders."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from channels.sandbox.server import serve


class Command(BaseCommand):
    help = "Run the local Shopify-compatible sandbox shop (the demo tenant's first store pulls from it)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--rate", type=float, default=6.0, help="new orders per minute")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--initial-orders", type=int, default=60)
        parser.add_argument("--access-token", default="sandbox-token")
        parser.add_argument("--state", default=str(Path(settings.BASE_DIR) / "var" / "sandbox" / "shop.json"))

    def handle(self, *args, **o):
        Path(o["state"]).parent.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"sandbox shop on http://{o['host']}:{o['port']} ({o['rate']} orders/min)")
        serve(
            host=o["host"],
            port=o["port"],
            state_path=o["state"],
            rate_per_minute=o["rate"],
            seed=o["seed"],
            access_token=o["access_token"],
            initial_orders=o["initial_orders"],
        )
