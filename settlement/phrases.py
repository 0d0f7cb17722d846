"""Sentences recorded in a statement's history as text; pages say them in the reader's language (core.recorded)."""

PHRASES = (
    ("%(count)s line disputed", "%(count)s lines disputed"),
    "every dispute resolved",
    # A payout fetched from Shopify Payments is named by the worker.
    "Payout %(id)s of %(date)s (%(status)s)",
)
