"""Django settings for Relay.

Everything that differs between machines comes from the environment:
DATABASE_URL, REDIS_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS, RELAY_FERNET_KEYS,
RELAY_BASE_DOMAIN and the HTTPS switches (.env.example explains each). Without
DATABASE_URL / REDIS_URL the embedded servers of erp.runtime are used (started
on first use, shared by every process).

Secrets fail closed: with DEBUG off, outside the test suite, importing these
settings raises ImproperlyConfigured when SECRET_KEY is unset or a development
default, or RELAY_FERNET_KEYS is unset, so no entry point (manage.py, wsgi,
Celery worker and beat) starts without them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from erp import runtime

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    # Unset and empty are the same: docker compose passes `${NAME:-}` through as "".
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key)
    except ValueError:
        return False
    return True


def _env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """``HTTP_X_FORWARDED_PROTO`` (meaning the value ``https``) or ``HEADER=value``; unset means no proxy."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    header, _, expected = value.partition("=")
    if not header.startswith("HTTP_"):
        raise ImproperlyConfigured(f"{name} names the header as Django sees it, e.g. HTTP_X_FORWARDED_PROTO.")
    return header, expected or "https"


DEBUG = _env_bool("DEBUG", False)
# The test suite runs on its own Redis database, so a running `make run` worker never takes its tasks.
TESTING = _env_bool("RELAY_TESTING", False) or "pytest" in sys.modules
# Development defaults (a public SECRET_KEY, a vault key derived from it, plain-HTTP cookies) exist
# only for `make run` (DEBUG=1) and the test suite. Anything else brings its own secrets or stops here.
DEVELOPMENT = DEBUG or TESTING
DEVELOPMENT_SECRET_KEY = "relay-development-only-secret-key-change-me"
# Keys that were ever committed as defaults count as unset.
PUBLIC_SECRET_KEYS = {DEVELOPMENT_SECRET_KEY, "change-me-in-production"}
GENERATE_SECRET_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
GENERATE_FERNET_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'

SECRET_KEY = os.environ.get("SECRET_KEY", "").strip()
if not DEVELOPMENT and (SECRET_KEY in PUBLIC_SECRET_KEYS | {""} or SECRET_KEY.startswith("django-insecure-")):
    raise ImproperlyConfigured(
        "SECRET_KEY is unset or a public development default, and DEBUG is off. "
        f"Set SECRET_KEY to a long random value: {GENERATE_SECRET_KEY} "
        "(or set DEBUG=1 on a development machine)."
    )
SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY

# Store credentials are encrypted with these (channels.vault): comma-separated, the first encrypts,
# all decrypt. Only in development and tests may the vault derive a key from SECRET_KEY instead.
RELAY_FERNET_KEYS = _env_list("RELAY_FERNET_KEYS", "")
if not DEVELOPMENT and not RELAY_FERNET_KEYS:
    raise ImproperlyConfigured(
        "RELAY_FERNET_KEYS is unset and DEBUG is off: it encrypts every store's channel credentials. "
        f"Set it to a Fernet key: {GENERATE_FERNET_KEY} (or set DEBUG=1 on a development machine)."
    )
if _bad := [n for n, key in enumerate(RELAY_FERNET_KEYS, start=1) if not _is_fernet_key(key)]:
    raise ImproperlyConfigured(
        f"RELAY_FERNET_KEYS: key {_bad[0]} is not a Fernet key (32 url-safe base64-encoded bytes). "
        f"Generate one with: {GENERATE_FERNET_KEY}"
    )

# The public host (landing page, sign-up, platform admin); tenants live on
# <slug>.<RELAY_BASE_DOMAIN>.
RELAY_BASE_DOMAIN = os.environ.get("RELAY_BASE_DOMAIN", "localhost")
RELAY_PORT = os.environ.get("RELAY_PORT", "8000")
PUBLIC_HOSTS = _env_list("RELAY_PUBLIC_HOSTS", f"{RELAY_BASE_DOMAIN},127.0.0.1")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", f".{RELAY_BASE_DOMAIN},{RELAY_BASE_DOMAIN},127.0.0.1,testserver")

# ------------------------------------------------------------------ apps

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",  # no models: its template tags (money)
    "erp",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework.authtoken",
    "tenants.accounts",
    "suppliers",
    "channels",
    "orders",
    "inventory",
    "settlement",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New tenants are cloned from an always-migrated template schema instead of
# running every migration (tenants.services.tenant_provision).
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_BASE_SCHEMA = "tenant_template"
# search_path is set once per request/task, not before every cursor.
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    "core.logging.RequestIdMiddleware",
    # Closes a connection once it has served RELAY_CONNECTION_MAX_SCHEMAS tenants (their catalog caches add up).
    "tenants.connections.ConnectionRecycleMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the signed-in user's stored language replaces the browser's.
    "tenants.locale.UserLanguageMiddleware",
    # A NUL byte or a lone surrogate in the path, query string or a form: 400, before any view or query sees it.
    "core.textguard.InvalidTextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.logging.RequestContextMiddleware",
    # Who did what: downloads, and the request's id, address and channel for the history triggers.
    "tenants.accounts.audit.AuditMiddleware",
]

ROOT_URLCONF = "erp.urls"
PUBLIC_SCHEMA_URLCONF = "erp.urls_public"
WSGI_APPLICATION = "erp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "tenants.accounts.context_processors.navigation",
            ],
        },
    },
]

# ------------------------------------------------------------------ data

DATABASE_URL = os.environ.get("DATABASE_URL") or runtime.database_url()
DATABASES = {
    # Connections are recycled so one long-lived connection does not keep the
    # catalog of every tenant schema it has visited in its cache.
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=300, conn_health_checks=True)
}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL") or runtime.redis_url(db=1 if TESTING else 0)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Every key carries the tenant schema, so tenants never read each other's cache.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": "test" if TESTING else "relay",
    },
    # Counters that must hold across every tenant (login failures per address, whatever the host): keys
    # are the caller's own, never prefixed by a schema. Nothing tenant-owned is ever stored here.
    "platform": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "test-platform" if TESTING else "relay-platform",
    },
}

# ------------------------------------------------------------------ auth

AUTHENTICATION_BACKENDS = ["tenants.accounts.backends.EmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Argon2id first; the others only verify (and upgrade on login) hashes written before it.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
if TESTING:
    # Hashing speed is not under test (tests/tenants/test_passwords.py checks Argon2 itself).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Login throttling: this many failures per (host, address) and per (host, e-mail)
# within the window lock further attempts until the window passes.
LOGIN_FAILURE_LIMIT = 5
LOGIN_FAILURE_WINDOW = 15 * 60
# And per address across every tenant's host (caches["platform"]), so spreading guesses over many tenants
# does not multiply the allowance; higher, since one office or NAT serves many people.
LOGIN_FAILURE_LIMIT_PER_ADDRESS = 20

SESSION_COOKIE_HTTPONLY = True
# Lax: a link from an e-mail (invitation, password reset) arrives signed in; a cross-site POST does not.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The CSRF token is read from the form, never by script.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script, no inline style, no other origin: everything Relay serves is under /static/.
# Charts are SVG drawn on the server (core.charts), with their styles in attributes, not <style>.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        # A form may lead to another of Relay's hosts: sign-up on the public host redirects to the new
        # tenant's login (browsers hold a form's redirects to form-action too).
        "form-action": ["'self'", f"{RELAY_BASE_DOMAIN}:*", f"*.{RELAY_BASE_DOMAIN}:*"],
        "frame-ancestors": ["'none'"],
    },
}

# HTTPS: on by default with DEBUG off, off in development and the test suite (plain http://).
# Each switch is the environment variable of the same name (.env.example; `make check-deploy`).
_HTTPS = not DEVELOPMENT
SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", _HTTPS)
# A load balancer or orchestrator may probe /healthz over plain HTTP, straight to the app.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if _HTTPS else 0)
# Tenants are subdomains of RELAY_BASE_DOMAIN, all served by this app over HTTPS.
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
# Asking browsers to preload HSTS is a promise that is slow to take back: only when asked for.
SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = _env_bool("CSRF_COOKIE_SECURE", _HTTPS)
# Behind a proxy that terminates TLS (and always overwrites this header), e.g. HTTP_X_FORWARDED_PROTO;
# unset otherwise, or any client could claim HTTPS.
SECURE_PROXY_SSL_HEADER = _env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Relay <no-reply@relay.local>")

# Outbound requests (channel APIs, payouts) never reach loopback, private, link-local or metadata
# addresses, checked after DNS at connect time (core.outbound). Development and the test suite may reach
# the sandbox shop on this machine: hosts or networks listed here (e.g. 127.0.0.1,::1,10.0.0.0/8) are let
# through. Empty (the default with DEBUG off) in production.
RELAY_OUTBOUND_ALLOW = _env_list("RELAY_OUTBOUND_ALLOW", "127.0.0.1,::1,localhost" if DEVELOPMENT else "")

# ------------------------------------------------------------------ i18n

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates read 2026-11-29 23:29 (erp/formats/en); Chinese keeps Django's 2026年11月29日.
FORMAT_MODULE_PATH = ["erp.formats"]
# Modules listing the sentences Relay records in histories as text, said again in the reader's language
# (core.recorded).
RECORDED_PHRASES = ["orders.phrases", "suppliers.phrases", "channels.phrases", "settlement.phrases"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = BASE_DIR / "var" / "media"

# ------------------------------------------------------------------ API

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every API view names the roles it admits.
    "DEFAULT_PERMISSION_CLASSES": ["tenants.accounts.permissions.DenyAll"],
    # Every operation's schema documents its error answers (400, 401, 403; 404 for an object; 413 for uploads).
    "DEFAULT_SCHEMA_CLASS": "core.api.AutoSchema",
    # A NUL byte or a lone surrogate anywhere in a body is a 400 here, never a 500 in the database.
    "DEFAULT_PARSER_CLASSES": [
        "core.textguard.TextGuardJSONParser",
        "core.textguard.TextGuardFormParser",
        "core.textguard.TextGuardMultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_RATES": {"user": "1200/min", "anon": "60/min"},
    # Services' refusals (Django ValidationError) answer 400 with a "detail" list.
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relay API",
    "DESCRIPTION": "Multi-channel, multi-supplier order management.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Requests and responses are separate components: what a client sends is not what it gets back.
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status"; the order's needs a name of its own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.Order.Status",
        "DispatchStatusEnum": "suppliers.models.Dispatch.Status",
        "StatementStatusEnum": "settlement.models.Statement.Status",
        "RuleSetStatusEnum": "orders.models.RuleSet.Status",
        "ReconcileStateEnum": "settlement.reconciliation.STATES",
        # Catalogue, stock and payout imports that run in the worker share these states.
        "ImportJobStatusEnum": "inventory.models.CatalogImportStatus",
    },
}

# ------------------------------------------------------------------ Celery

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
# Keep a worker's database connection between tasks (erp.celery closes it by CONN_MAX_AGE instead): without
# this, Celery's Django fix-up closes it around every task.
CELERY_DB_REUSE_MAX = 1_000_000
# A connection (web or worker) is closed once it has served this many distinct tenant schemas: a backend keeps
# the catalog entries of every table it touched (tenants.connections).
RELAY_CONNECTION_MAX_SCHEMAS = _env_int("RELAY_CONNECTION_MAX_SCHEMAS", 100)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Longer than any countdown or ETA we use (15 min) and than CELERY_TASK_TIME_LIMIT (30 min), or Redis redelivers
# a task early.
# It is also how long a task whose worker was killed (SIGKILL, lost host) waits before another worker takes
# it again (acks_late): RELAY_BROKER_VISIBILITY_TIMEOUT shortens it where that matters more.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _env_int("RELAY_BROKER_VISIBILITY_TIMEOUT", 3600)}
# On a lost broker connection a running task finishes and is acknowledged (its work is idempotent either way);
# said explicitly, as Celery 6 changes the default.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_DEFAULT_QUEUE = "short"
# The project-level tasks (the periodic dispatcher), beside each app's tasks.py.
CELERY_IMPORTS = ("erp.tasks",)
CELERY_TASK_ROUTES = {"*.long.*": {"queue": "long"}}
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_ALWAYS_EAGER = False
# Worker logs go through LOGGING (JSON with tenant and task id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_TENANT_CACHE_SECONDS = 30
CELERY_BEAT_SCHEDULE = {
    "fan-out-periodic-work": {
        "task": "erp.tasks.dispatch_periodic",
        "schedule": 60.0,
    },
}

# ------------------------------------------------------------------ logging

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.ContextFilter"}},
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["context"], "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # fpdf2's font subsetting logs every step at INFO.
        "fontTools": {"level": "WARNING"},
    },
}
