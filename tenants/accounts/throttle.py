"""Login throttling against brute force: failures counted in Redis.

Three counters, each over ``LOGIN_FAILURE_WINDOW`` seconds from its first failure:

- per address within one tenant (the tenant's own cache, keys prefixed by its schema);
- per e-mail within one tenant (hashed, so the cache never holds the address in clear);
- per address across every tenant (``caches["platform"]``, keys not prefixed by a schema), with a higher
  limit: an address that guesses a few passwords on each of many workspaces is locked out of all of them.

A successful login clears the e-mail's counter only: signing in to one's own account must not wipe an
address's record of guessing at others.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache, caches


def _tenant_keys(*, address: str, email: str) -> list[str]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:ip:{address}", f"login-fail:email:{digest}"]


def _platform_key(address: str) -> str:
    return f"login-fail:platform-ip:{address}"


def _count(store, key: str) -> None:
    # add() only sets when absent, so the window starts at the first failure.
    store.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW)
    try:
        store.incr(key)
    except ValueError:
        store.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW)


def login_locked(*, address: str, email: str) -> bool:
    """True when this address or e-mail may not try again yet (on this tenant, or the address on any)."""
    counts = cache.get_many(_tenant_keys(address=address, email=email))
    if any(count >= settings.LOGIN_FAILURE_LIMIT for count in counts.values()):
        return True
    return (caches["platform"].get(_platform_key(address)) or 0) >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS


def login_failed(*, address: str, email: str) -> None:
    """Count one failed attempt against the address and the e-mail on this tenant, and the address overall."""
    for key in _tenant_keys(address=address, email=email):
        _count(cache, key)
    _count(caches["platform"], _platform_key(address))


def login_succeeded(*, address: str, email: str) -> None:
    """Clear the e-mail's counter on this tenant (the address keeps its record)."""
    cache.delete_many(_tenant_keys(address=address, email=email)[1:])
