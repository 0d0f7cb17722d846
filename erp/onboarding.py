"""The set-up checklist a new tenant's owner sees on the dashboard until every step is done.

Each step ticks itself from the data (an EXISTS query each), never from a stored flag: connect a store, add a
supplier and invite its users, import products with their source paths, activate a routing rule set, sync a
store once. Only the owner (area "admin") sees it; when every step is done it folds into one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from channels.models import Store, SyncRun
from inventory.models import Product, Source
from orders.models import RuleSet
from suppliers.models import Supplier, SupplierUser
from tenants.accounts.selectors import user_can_enter


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    help: str
    url: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    steps: tuple[Step, ...]

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)


def steps_done() -> dict[str, bool]:
    """Which steps the current tenant's data shows done. Six EXISTS queries, each served by an index or a tiny
    table."""
    return {
        "store": Store.objects.exists(),
        "suppliers": Supplier.objects.exists() and SupplierUser.objects.exists(),
        "products": Source.objects.exists() and Product.objects.exists(),
        "routing": RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).exists(),
        "sync": SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).exists(),
    }


# The steps in order: key (as in steps_done), title, what it means, the page that does it.
STEPS = (
    ("store", _("Connect a store"),
     _("Connect a Shopify or WooCommerce shop, the sandbox shop, or a store fed by spreadsheets."), "channels:stores"),
    ("suppliers", _("Add suppliers and invite their users"),
     _("Each supplier's people accept dispatches and enter tracking numbers in their portal."), "suppliers:list"),
    ("products", _("Import products and source paths"),
     _("Upload a spreadsheet of products, each with the suppliers that source it and their costs."),
     "inventory:import"),
    ("routing", _("Review routing rules"),
     _("Draft rules for holds, gifts and sourcing, simulate them on recent orders, then activate."),
     "orders:routing"),
    ("sync", _("Run a first sync"),
     _("Sync a store (or import an orders spreadsheet) and watch its orders get routed."), "channels:stores"),
)  # fmt: skip


def checklist_for(*, user) -> Checklist | None:
    """The checklist for the tenant's owner; None for anyone else (nothing is read for them)."""
    if not user_can_enter(user, "admin"):
        return None
    done = steps_done()
    return Checklist(
        steps=tuple(
            Step(key=key, title=str(title), help=str(text), url=reverse(url_name), done=done[key])
            for key, title, text, url_name in STEPS
        )
    )
