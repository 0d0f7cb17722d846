"""Sentences recorded in an order's timeline and a rule set's history as text (in English: routing runs in the
worker). Pages say them again in the reader's language through core.recorded (settings.RECORDED_PHRASES)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from orders.routing.core.types import REASON_TEXTS

DISPATCH_SHIPPED = gettext_noop("Dispatch %(number)s shipped.")
VERSION_ACTIVATED = gettext_noop("Version %(version)s activated.")
TRIGGER_TEXT = {
    "ingest": gettext_noop("Routed on ingest"),
    "manual": gettext_noop("Routed by hand"),
    "release": gettext_noop("Released from hold"),
    "reroute": gettext_noop("Re-routed"),
    "mapping": gettext_noop("Re-routed after a listing mapping changed"),
    "rejection": gettext_noop("Re-routed after a supplier rejected it"),
}
ROUTED_WITH = gettext_noop("%(trigger)s, rule set v%(version)s.")
LINES_MOVED = gettext_noop("%(trigger)s: its lines moved elsewhere.")

PHRASES = (
    DISPATCH_SHIPPED, VERSION_ACTIVATED, *TRIGGER_TEXT.values(), ROUTED_WITH, LINES_MOVED,
    # Hold reasons: the routing engine's English sentences, and its rule labels (sentences of their own).
    *REASON_TEXTS.values(), "Rule “%(name)s”", "Rule #%(id)s", "Always",
)  # fmt: skip
