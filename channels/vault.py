"""Store credentials, encrypted at rest with Fernet; several keys for rotation.

RELAY_FERNET_KEYS is a comma-separated list of Fernet keys: the first encrypts,
all decrypt. To rotate: put a new key first, run
``manage.py rotate_store_credentials``, then drop the old key. Without the
variable (development, tests) one key is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class VaultError(RuntimeError):
    """Credentials could not be decrypted (key missing or rotated away)."""


def _fernet() -> MultiFernet:
    raw = [k.strip() for k in os.environ.get("RELAY_FERNET_KEYS", "").split(",") if k.strip()]
    if not raw:
        derived = base64.urlsafe_b64encode(hashlib.sha256(("relay-vault:" + settings.SECRET_KEY).encode()).digest())
        raw = [derived.decode()]
    return MultiFernet([Fernet(key) for key in raw])


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
