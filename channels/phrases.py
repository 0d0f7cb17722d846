"""Sentences recorded in a store's history as text; pages say them in the reader's language (core.recorded)."""

PHRASES = (
    "New credentials were entered.",
    "Paused in the console.",
    "Resumed in the console.",
    "The connection test passed.",
)
