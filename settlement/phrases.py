"""Sentences recorded in a statement's history as text; pages say them in the reader's language (core.recorded)."""

PHRASES = (
    ("%(count)s line disputed", "%(count)s lines disputed"),
    "every dispute resolved",
)
