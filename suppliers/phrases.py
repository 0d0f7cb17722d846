"""Sentences recorded in a dispatch's history as text; pages say them in the reader's language (core.recorded)."""

PHRASES = (
    "Accepted, ship date promised %(date)s.",
    "Lines %(skus)s rejected (%(why)s); moved to %(split)s and routed on.",
    ("Shipped in %(count)s parcel: %(parcels)s.", "Shipped in %(count)s parcels: %(parcels)s."),
)
