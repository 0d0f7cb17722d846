"""Store credentials, encrypted at rest with Fernet; several keys for rotation.

RELAY_FERNET_KEYS (settings, from the environment variable of that name) is a
comma-separated list of Fernet keys: the first encrypts, all decrypt. To
rotate: put a new key first, run ``manage.py rotate_store_credentials``, then
drop the old key.

Only in development and the test suite (settings.DEBUG or settings.TESTING),
and only while RELAY_FERNET_KEYS is empty, is one key derived from SECRET_KEY:
that key is as public as the development SECRET_KEY. Anywhere else an empty
RELAY_FERNET_KEYS is refused (the settings already refuse to load without it).
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class VaultError(RuntimeError):
    """Credentials could not be decrypted (key missing or rotated away)."""


def _keys() -> list[str]:
    if settings.RELAY_FERNET_KEYS:
        return list(settings.RELAY_FERNET_KEYS)
    if not (settings.DEBUG or settings.TESTING):
        raise ImproperlyConfigured("RELAY_FERNET_KEYS is unset: store credentials cannot be encrypted or read.")
    # Development and tests only: a key anyone with the repository can compute.
    derived = base64.urlsafe_b64encode(hashlib.sha256(("relay-vault:" + settings.SECRET_KEY).encode()).digest())
    return [derived.decode()]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in _keys()])


def encrypt_credentials(values: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_credentials(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise VaultError("The store's credentials cannot be decrypted with the configured keys.") from exc


def rotate_token(token: str) -> str:
    return _fernet().rotate(token.encode()).decode() if token else token


def mask(value: str) -> str:
    """What a person may see of a secret: that it is set, and its last four characters."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) >= 12 else "••••"
