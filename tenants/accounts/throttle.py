"""Login throttling against brute force: failures counted in Redis per address and per e-mail."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(*, address: str, email: str) -> list[str]:
    # Hash the e-mail so the cache never holds the address in clear.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:ip:{address}", f"login-fail:email:{digest}"]


def login_locked(*, address: str, email: str) -> bool:
    counts = cache.get_many(_keys(address=address, email=email))
    return any(count >= settings.LOGIN_FAILURE_LIMIT for count in counts.values())


def login_failed(*, address: str, email: str) -> None:
    for key in _keys(address=address, email=email):
        # add() only sets when absent, so the window starts at the first failure.
        cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW)


def login_succeeded(*, address: str, email: str) -> None:
    cache.delete_many(_keys(address=address, email=email)[1:])
