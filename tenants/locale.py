"""The language a person reads Relay in: the one they chose (stored on their profile), else their browser's.

LocaleMiddleware picks the browser's language (cookie, then Accept-Language) before anyone is signed
in; UserLanguageMiddleware, placed after AuthenticationMiddleware, replaces it with the signed-in
user's stored choice. E-mails and documents made outside a request use ``language_for(user)``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from django.conf import settings
from django.utils import translation

from tenants.accounts.selectors import profile_for

LANGUAGE_CODES = frozenset(code for code, _name in settings.LANGUAGES)


def supported_language(code: str | None) -> str:
    """``code`` when it is one of settings.LANGUAGES (any case), else "" (follow the browser)."""
    code = (code or "").strip().lower()
    return code if code in LANGUAGE_CODES else ""


def chosen_language(user) -> str:
    """The language the user chose, or "" for anonymous users, users without a profile and "follow the browser"."""
    profile = profile_for(user)
    return supported_language(profile.language) if profile is not None else ""


def language_for(user) -> str:
    """The language to write to ``user`` in when no browser is asking (e-mails, tasks): their choice or the default."""
    return chosen_language(user) or settings.LANGUAGE_CODE


def override_for(user) -> AbstractContextManager:
    """``with override_for(user): render(...)`` renders in the recipient's language."""
    return translation.override(language_for(user))


class UserLanguageMiddleware:
    """Activates the signed-in user's chosen language for the whole request (tenant hosts only).

    The public host has no profiles (its users are platform admins), so nothing is read there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if getattr(request, "tenant", None) is not None:
            language = chosen_language(getattr(request, "user", None))
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
