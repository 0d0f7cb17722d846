"""Reasons as their reader reads them.

A rejection is recorded with its reason code's label and the supplier's comment ("Out of stock: back in May"),
in the language of the person who rejected; a line split off carries "Split from D…". The code's label and the
split sentence are Relay's words, not the supplier's: ``reason_for_reader`` puts them in the reader's language,
whichever language they were recorded in, and leaves the comment as it was typed.
"""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from suppliers.models import Dispatch

R = Dispatch.RejectReason


@functools.cache
def _recorded() -> tuple[dict[str, str], re.Pattern[str]]:
    """Every language's label → its code, and a pattern for every language's "Split from <number>." sentence."""
    labels: dict[str, str] = {}
    splits = []
    for index, (language, _name) in enumerate(settings.LANGUAGES):
        with translation.override(language):
            for code in R.values:
                labels[str(R(code).label)] = code
            sentence = re.escape(_("Split from %(number)s."))
            splits.append(sentence.replace(re.escape("%(number)s"), rf"(?P<n{index}>[A-Za-z0-9-]+)"))
    return labels, re.compile("|".join(splits))


def reason_for_reader(text: str) -> str:
    """``text`` with a leading reject-reason label and any "Split from …" sentence in the active language."""
    if not text:
        return text
    labels, split = _recorded()
    for label in sorted(labels, key=len, reverse=True):
        if text == label or text.startswith(label + ": "):
            text = str(R(labels[label]).label) + text[len(label) :]
            break

    def _split(match: re.Match[str]) -> str:
        number = next(value for value in match.groupdict().values() if value)
        return _("Split from %(number)s.") % {"number": number}

    return split.sub(_split, text)
