"""Secrets fail closed; HTTPS is on by default in production; the deployment checks pass.

The entry points run in subprocesses with an environment built from nothing: no DEBUG, no
RELAY_TESTING, and DATABASE_URL / REDIS_URL pointing at the servers the suite already uses, so no
embedded server starts.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from channels.vault import decrypt_credentials, encrypt_credentials, rotate_token

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
FERNET_KEY_HINT = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'

# What `make check-deploy` sets (Makefile): fresh secrets, DEBUG off, every HTTPS switch on, a proxy.
PRODUCTION_HTTPS = {
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
}


def _fresh_secrets() -> dict[str, str]:
    return {"SECRET_KEY": secrets.token_urlsafe(50), "RELAY_FERNET_KEYS": Fernet.generate_key().decode()}


def _env(**values: str) -> dict[str, str]:
    """A bare environment: the running servers, DEBUG and RELAY_TESTING unset, plus ``values``."""
    return {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "erp.settings",
        "DATABASE_URL": settings.DATABASE_URL,
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "WARNING",
        **values,
    }


def _run(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *args], _env(**env))


def _settings_of(**env: str) -> dict:
    """The settings a process started with ``env`` ends up with (only the HTTPS ones)."""
    names = [*PRODUCTION_HTTPS, "DEBUG"]
    code = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}))"
    )
    result = _run([sys.executable, "-c", code], _env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# ------------------------------------------------------------------ fail closed


def test_manage_py_refuses_to_start_without_secret_key():
    # when: DEBUG is unset and so is SECRET_KEY
    result = _manage("check")

    # then: it stops, names the variable and how to make one, without a traceback
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert SECRET_KEY_HINT in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["relay-development-only-secret-key-change-me", "change-me-in-production"])
def test_manage_py_refuses_a_development_secret_key(value):
    result = _manage("check", DEBUG="0", SECRET_KEY=value, RELAY_FERNET_KEYS=Fernet.generate_key().decode())

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_manage_py_refuses_to_start_without_fernet_keys():
    # when: SECRET_KEY is real but RELAY_FERNET_KEYS is unset
    result = _manage("check", SECRET_KEY=secrets.token_urlsafe(50))

    # then: it names RELAY_FERNET_KEYS and how to make a key
    assert result.returncode != 0
    assert "RELAY_FERNET_KEYS" in result.stderr
    assert "SECRET_KEY is" not in result.stderr
    assert FERNET_KEY_HINT in result.stderr


def test_manage_py_refuses_a_malformed_fernet_key_without_echoing_it():
    result = _manage("check", SECRET_KEY=secrets.token_urlsafe(50), RELAY_FERNET_KEYS="not-a-key-4711")

    assert result.returncode != 0
    assert "RELAY_FERNET_KEYS: key 1 is not a Fernet key" in result.stderr
    assert "4711" not in result.stderr


def test_manage_py_starts_with_both_secrets():
    result = _manage("check", **_fresh_secrets())

    assert result.returncode == 0, result.stderr


def test_development_mode_starts_without_secrets():
    result = _manage("check", DEBUG="1")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param([sys.executable, "-c", "import erp.wsgi"], id="wsgi"),
        pytest.param(
            [sys.executable, "-m", "celery", "-A", "erp", "worker", "--pool", "solo", "-Q", "short",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            id="worker",
        ),
        pytest.param([sys.executable, "-m", "celery", "-A", "erp", "beat", "-s", os.devnull], id="beat"),
    ],
)  # fmt: skip
def test_every_entry_point_refuses_to_start_without_secret_key(argv):
    # when: started without DEBUG and without SECRET_KEY (a process that did start would run until the timeout)
    result = _run(argv, _env(), timeout=90)

    # then: it stopped at once and said which variable to set
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


# ------------------------------------------------------------------ HTTPS and the deployment checks


def test_check_deploy_passes_with_a_production_environment():
    # given: what `make check-deploy` makes up (servers the suite runs, so nothing embedded starts)
    env = {**_fresh_secrets(), **PRODUCTION_HTTPS, "DEBUG": "0", "ALLOWED_HOSTS": ".relay.example,relay.example"}

    # when
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)

    # then: not even a warning
    assert result.returncode == 0, result.stdout + result.stderr


def test_https_is_on_by_default_in_production():
    assert _settings_of(**_fresh_secrets()) == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,  # a promise to browsers that is slow to take back: only when asked
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": None,  # trusting a header is only safe behind a proxy that sets it
    }


def test_https_is_off_in_development():
    assert _settings_of(DEBUG="1") == {
        "DEBUG": True,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_each_https_switch_follows_its_variable():
    # empty counts as unset (docker compose passes `${NAME:-}` through as "")
    values = _settings_of(
        **_fresh_secrets(),
        SECURE_SSL_REDIRECT="0",
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="",
        SECURE_HSTS_PRELOAD="1",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_SSL=on",
    )

    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_SSL", "on"],
    }


@pytest.mark.parametrize(
    ("name", "value"), [("SECURE_HSTS_SECONDS", "a year"), ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")]
)
def test_a_malformed_https_switch_stops_start_up(name, value):
    result = _manage("check", **_fresh_secrets(), **{name: value})

    assert result.returncode != 0
    assert name in result.stderr


def test_ssl_redirect_spares_the_health_check(db, settings):
    # given: production's redirect, behind no proxy
    settings.SECURE_SSL_REDIRECT = True
    client = Client(HTTP_HOST="localhost")

    # then: a probe of /healthz over plain HTTP is answered; a page is sent to HTTPS
    assert client.get("/healthz").status_code == 200
    login = client.get("/admin/login/")
    assert login.status_code == 301
    assert login["Location"] == "https://localhost/admin/login/"


# ------------------------------------------------------------------ the credential vault


def test_vault_uses_the_configured_keys_first_to_encrypt(settings):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.RELAY_FERNET_KEYS = [old]
    token_under_old = encrypt_credentials({"access_token": "shpat_1234"})

    # when: a new key is put first
    settings.RELAY_FERNET_KEYS = [new, old]

    # then: old tokens still open, and rotation re-encrypts them under the new key
    assert decrypt_credentials(token_under_old) == {"access_token": "shpat_1234"}
    rotated = rotate_token(token_under_old)
    assert json.loads(Fernet(new.encode()).decrypt(rotated.encode())) == {"access_token": "shpat_1234"}


def test_vault_derives_a_key_from_secret_key_only_in_development_and_tests(settings):
    # given: no keys, in the test suite (TESTING): a derived development key works
    settings.RELAY_FERNET_KEYS = []
    assert decrypt_credentials(encrypt_credentials({"k": "v"})) == {"k": "v"}

    # when: neither DEBUG nor TESTING
    settings.TESTING = False
    settings.DEBUG = False

    # then: refused, nothing derived from SECRET_KEY
    with pytest.raises(ImproperlyConfigured, match="RELAY_FERNET_KEYS"):
        encrypt_credentials({"k": "v"})
