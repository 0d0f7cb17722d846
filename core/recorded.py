"""Sentences Relay records in history (an order's timeline, a dispatch's events, a statement's history), read in
the reader's language.

A note such as "Dispatch D00000012 shipped." is stored as text, in the language of whoever wrote it — the worker
writes English. Each app lists the msgids of such sentences in a module named in settings.RECORDED_PHRASES (a
``PHRASES`` tuple of msgids or (singular, plural) pairs), read the first time a page needs them; a page shows
the stored text through ``PHRASES.reword`` (the ``reworded`` template filter), which recognises a registered
sentence in any of the site's languages, takes its values back out ("D00000012") and says it again in the
active language. Text that is no registered sentence — a person's comment — is shown as it was written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from django.conf import settings
from django.utils import translation
from django.utils.module_loading import import_string

# %(name)s / %(name)d (gettext) and {name} (str.format, the routing engine's sentences).
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")
# How many times a value taken out of a sentence is itself looked at (a rule's label inside a hold reason).
_DEPTH = 2
# Recorded notes that join several sentences.
_JOINS = ("; ",)


def _pattern(text: str) -> re.Pattern[str] | None:
    """A regular expression that matches ``text`` with any value in each placeholder; None without any text."""
    if not text:
        return None
    parts, seen, last = [], set(), 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(re.escape(text[last : match.start()]))
        name = match.group(1) or match.group(2)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        last = match.end()
    parts.append(re.escape(text[last:]))
    return re.compile("".join(parts), re.DOTALL)


def _fill(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1) or m.group(2), m.group(0)), text)


class Phrasebook:
    """The sentences that are recorded as text, each a msgid (or a singular and plural pair)."""

    def __init__(self, modules: Iterable[str] | None = None) -> None:
        self._phrases: list[tuple[str, str | None]] = []
        # Dotted paths of modules with a PHRASES tuple, read on first use (None: settings.RECORDED_PHRASES).
        self._modules = modules
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        modules = self._modules if self._modules is not None else getattr(settings, "RECORDED_PHRASES", ())
        for module in modules:
            self.add(*import_string(f"{module}.PHRASES"))

    def add(self, *phrases: str | tuple[str, str]) -> None:
        """Register msgids (``"Dispatch %(number)s shipped."``) or (singular, plural) pairs, once each."""
        for phrase in phrases:
            pair = phrase if isinstance(phrase, tuple) else (phrase, None)
            if pair not in self._phrases:
                self._phrases.append(pair)
        self._patterns.cache_clear()

    @functools.lru_cache(maxsize=8)  # noqa: B019 - one book per process, cleared when a phrase is added
    def _patterns(self, language: str) -> tuple[tuple[re.Pattern[str], str, str | None], ...]:
        found = []
        with translation.override(language):
            for singular, plural in self._phrases:
                forms = {translation.gettext(singular)} if plural is None else {
                    translation.ngettext(singular, plural, n) for n in (1, 2)
                }  # fmt: skip
                forms.add(singular)
                if plural:
                    forms.add(plural)
                for form in forms:
                    if pattern := _pattern(form):
                        found.append((pattern, singular, plural))
        # Longest first: "Routed on ingest, rule set v%(v)s." before a shorter sentence it contains.
        return tuple(sorted(found, key=lambda item: len(item[0].pattern), reverse=True))

    def reword(self, text: str, *, depth: int = _DEPTH) -> str:
        """``text`` in the active language when it is a registered sentence (or sentences joined by "; ")."""
        self._load()
        if not text or not self._phrases:
            return text
        # The routing engine capitalises its sentences' first letter ("{rule_label}: …" stays as it is).
        candidates = dict.fromkeys((text, text[:1].lower() + text[1:]))
        for language in _languages():
            for pattern, singular, plural in self._patterns(language):
                match = next((m for c in candidates if (m := pattern.fullmatch(c)) is not None), None)
                # A value holding a join is two sentences read as one ("…above 500.; Rule …"): split instead.
                if match is None or any(join in value for value in match.groupdict().values() for join in _JOINS):
                    continue
                values = {name: self.reword(value, depth=depth - 1) if depth > 0 else value
                          for name, value in match.groupdict().items()}  # fmt: skip
                if plural is None:
                    said = _fill(translation.gettext(singular), values)
                else:
                    said = _fill(translation.ngettext(singular, plural, _count(values)), values)
                return said[:1].upper() + said[1:] if text[:1].isupper() else said
        for join in _JOINS:
            if join in text:
                return join.join(self.reword(part, depth=depth) for part in text.split(join))
        return text


def _count(values: dict[str, str]) -> int:
    for name in ("count", "n"):
        digits = re.sub(r"\D", "", values.get(name, ""))
        if digits:
            return int(digits)
    return 1


def _languages() -> Iterable[str]:
    return [code for code, _name in settings.LANGUAGES]


PHRASES = Phrasebook()

__all__ = ["PHRASES", "Phrasebook"]
