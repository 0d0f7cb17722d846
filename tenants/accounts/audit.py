"""The audit log: who did what to which thing, when and from where, kept append-only in the tenant's schema.

Three ways rows arrive:

- ``audit_record`` — the recording API, for anything a service or a receiver wants in the log. Who, from which
  address and in which request come from the audit context (``AuditMiddleware``), the worker's task id, or
  "system"; a caller may name the actor instead.
- receivers connected here (logins, users, roles, API tokens) and in erp/audit.py (stores, suppliers,
  settings: models of the layers above this one), through ``watch``: a save that changes one of the named
  fields is recorded with the field NAMES, never the values of secrets.
- database triggers (migration 0005) that copy each new row of the apps' state histories (dispatch, store,
  order, rule set, statement events), however it was written; the middleware puts the request id, address and
  channel on the connection for them.

On the public schema (platform admins) nothing is recorded: there is no tenant log there.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import DatabaseError, connection, models
from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name
from rest_framework.authtoken.models import Token

from core.logging import request_id_var, task_id_var, user_var
from tenants.accounts.models import AuditEvent, Profile

logger = logging.getLogger(__name__)

Via = AuditEvent.Via

# The vocabulary. Mirrored state histories add "<object>.state_changed" and "<object>.noted" (MIRRORED_OBJECTS).
LOGIN_SUCCESS = "login.success"
LOGIN_FAILURE = "login.failure"
LOGOUT = "login.logout"
USER_CREATED = "user.created"
USER_ROLE_CHANGED = "user.role_changed"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
USER_PASSWORD_CHANGED = "user.password_changed"
USER_EMAIL_CHANGED = "user.email_changed"
USER_DELETED = "user.deleted"
TOKEN_CREATED = "user.token_created"
TOKEN_REVOKED = "user.token_revoked"
STORE_CREATED = "store.created"
STORE_DELETED = "store.deleted"
STORE_CREDENTIALS_CHANGED = "store.credentials_changed"
STORE_SETTINGS_CHANGED = "store.settings_changed"
SUPPLIER_CREATED = "supplier.created"
SUPPLIER_SETTINGS_CHANGED = "supplier.settings_changed"
SUPPLIER_DEACTIVATED = "supplier.deactivated"
SUPPLIER_REACTIVATED = "supplier.reactivated"
SETTINGS_CHANGED = "settings.changed"
EXPORT_MADE = "export.made"

MIRRORED_OBJECTS: dict[str, Any] = {
    "dispatch": _("Dispatch"),
    "store": _("Store"),
    "order": _("Order"),
    "ruleset": _("Rule set"),
    "statement": _("Statement"),
}

ACTION_LABELS: dict[str, Any] = {
    LOGIN_SUCCESS: _("Signed in"),
    LOGIN_FAILURE: _("Sign-in failed"),
    LOGOUT: _("Signed out"),
    USER_CREATED: _("User created"),
    USER_ROLE_CHANGED: _("User's role changed"),
    USER_DEACTIVATED: _("User deactivated"),
    USER_REACTIVATED: _("User reactivated"),
    USER_PASSWORD_CHANGED: _("Password changed"),
    USER_EMAIL_CHANGED: _("E-mail changed"),
    USER_DELETED: _("User deleted"),
    TOKEN_CREATED: _("API token created"),
    TOKEN_REVOKED: _("API token revoked"),
    STORE_CREATED: _("Store connected"),
    STORE_DELETED: _("Store removed"),
    STORE_CREDENTIALS_CHANGED: _("Store credentials changed"),
    STORE_SETTINGS_CHANGED: _("Store settings changed"),
    SUPPLIER_CREATED: _("Supplier added"),
    SUPPLIER_SETTINGS_CHANGED: _("Supplier changed"),
    SUPPLIER_DEACTIVATED: _("Supplier deactivated"),
    SUPPLIER_REACTIVATED: _("Supplier reactivated"),
    SETTINGS_CHANGED: _("Settings changed"),
    EXPORT_MADE: _("File downloaded"),
    "dispatch.state_changed": _("Dispatch: state changed"),
    "dispatch.noted": _("Dispatch: note"),
    "store.state_changed": _("Store: status changed"),
    "order.state_changed": _("Order: state changed"),
    "order.noted": _("Order: note"),
    "ruleset.state_changed": _("Rule set: state changed"),
    "statement.state_changed": _("Statement: state changed"),
    "statement.noted": _("Statement: note"),
}

TARGET_LABELS: dict[str, Any] = {
    **MIRRORED_OBJECTS,
    "user": _("User"),
    "supplier": _("Supplier"),
    "payout_settings": _("Payout settings"),
    "download": _("Download"),
}

_ACTION = re.compile(r"^[a-z_]+\.[a-z_]+$")
_FILENAME = re.compile(r"""filename\*=(?:UTF-8|utf-8)''(?P<star>[^;]+)|filename="?(?P<plain>[^";]+)"?""")
# Query parameters that page or ask for a file: not what was exported.
_NOT_FILTERS = frozenset({"export", "page", "after", "before"})


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


# ---------------------------------------------------------------- context


@dataclass(frozen=True)
class AuditContext:
    """Where the current work comes from: a request (its user read when a row is written: DRF authenticates
    API tokens inside the view) or nothing (a worker, a command)."""

    via: str
    ip: str | None
    request: HttpRequest | None = None


_context: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)


def client_ip(request: HttpRequest | None) -> str | None:
    """The request's peer address (REMOTE_ADDR, as the login throttle counts it), or None when not an IP."""
    if request is None:
        return None
    value = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _recording() -> bool:
    """Only a tenant schema has an audit log."""
    schema = getattr(connection, "schema_name", None)
    return bool(schema) and schema != get_public_schema_name()


def _who(actor: User | None, actor_label: str) -> tuple[int | None, str, str, str | None, str]:
    """(actor id, label, via, ip, request id) for a row written now."""
    ctx: AuditContext | None = _context.get()
    request = ctx.request if ctx else None
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is None and (pk := user_var.get()).isdigit():
        actor = User.objects.filter(pk=int(pk)).only("pk", "email", "username").first()
    if ctx is not None:
        via, ip = ctx.via, ctx.ip
    elif task_id_var.get():
        via, ip = Via.WORKER, None
    else:
        via, ip = Via.SYSTEM, None
    if actor is not None and getattr(actor, "pk", None):
        label = actor_label or actor.email or actor.username
        actor_id = actor.pk
    else:
        actor_id = None
        label = actor_label or ("anonymous" if request is not None else via)
    request_id = request_id_var.get() if request is not None else task_id_var.get()
    return actor_id, label[:200], via, ip, (request_id or "")[:64]


def audit_record(
    *,
    action: str,
    target_type: str = "",
    target_id: object = "",
    target_label: str = "",
    details: Mapping[str, Any] | None = None,
    actor: User | None = None,
    actor_label: str = "",
    ip: str | None = None,
) -> AuditEvent | None:
    """Append one row to the current tenant's audit log and return it (None on the public schema).

    ``action`` is "<object>.<verb>" from this module's vocabulary; ``details`` must be JSON and must not hold a
    secret's value (name the fields that changed instead). Who, via, address and request id come from the
    audit context unless ``actor`` / ``actor_label`` / ``ip`` say otherwise. Raises ValueError for a malformed
    action. Written in the caller's transaction: an action rolled back leaves no row.
    """
    if not _ACTION.match(action):
        raise ValueError(f"audit action {action!r} is not <object>.<verb>")
    if not _recording():
        return None
    actor_id, label, via, context_ip, request_id = _who(actor, actor_label)
    return AuditEvent.objects.create(
        action=action,
        actor_id=actor_id,
        actor_label=label,
        via=via,
        ip=ip or context_ip,
        target_type=target_type[:32],
        target_id=str(target_id)[:64],
        target_label=(target_label or "")[:200],
        details=dict(details or {}),
        request_id=request_id,
    )


# ---------------------------------------------------------------- middleware


def _download_name(response: HttpResponse) -> str | None:
    """The file name of a download (Content-Disposition: attachment), or None for anything else."""
    disposition = response.get("Content-Disposition", "") if hasattr(response, "get") else ""
    if not disposition.lower().startswith("attachment"):
        return None
    match = _FILENAME.search(disposition)
    if match is None:
        return ""
    return unquote(match.group("star")) if match.group("star") else match.group("plain")


def _set_connection_context(*, request_id: str, ip: str | None, via: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('relay.request_id', %s, false), set_config('relay.audit_ip', %s, false),"
            " set_config('relay.audit_via', %s, false)",
            [request_id, ip or "", via],
        )


class AuditMiddleware:
    """After authentication: the audit context of the request, and a row for every file it downloads.

    A request that may write (not GET/HEAD/OPTIONS) on a tenant host also puts its request id, address and
    channel on the database connection, for the triggers that copy state histories into the log; they are
    cleared when the response is made.
    """

    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        via = Via.API if request.path.startswith("/api/") else Via.WEB
        ip = client_ip(request)
        token = _context.set(AuditContext(via=via, ip=ip, request=request))
        on_connection = request.method not in self.SAFE_METHODS and _recording()
        try:
            if on_connection:
                _set_connection_context(request_id=getattr(request, "request_id", ""), ip=ip, via=via)
            response = self.get_response(request)
            if 200 <= response.status_code < 300 and (name := _download_name(response)) is not None:
                _record_download(request, name)
            return response
        finally:
            if on_connection:
                # A connection the request lost takes its settings with it.
                with contextlib.suppress(DatabaseError):
                    _set_connection_context(request_id="", ip=None, via="")
            _context.reset(token)


def _record_download(request: HttpRequest, name: str) -> None:
    match = getattr(request, "resolver_match", None)
    filters = {key: value for key, value in request.GET.items() if key not in _NOT_FILTERS and value != ""}
    audit_record(
        action=EXPORT_MADE,
        target_type="download",
        target_id=(match.view_name if match else "")[:64],
        target_label=name,
        details={"path": request.path[:300], "format": request.GET.get("export", ""), "filters": filters},
    )


# ---------------------------------------------------------------- watching saves

Changes = dict[str, tuple[Any, Any]]


def watch(
    model: type[models.Model],
    *,
    fields: Iterable[str],
    on_change: Callable[[Any, Changes], None],
    on_create: Callable[[Any], None] | None = None,
    on_delete: Callable[[Any], None] | None = None,
) -> None:
    """Call ``on_change(instance, {field: (before, after)})`` after a save of ``model`` that changed some of
    ``fields`` (one query before the save, only when the save may touch them), ``on_create`` after an insert,
    ``on_delete`` after a delete. Queryset ``update()`` and ``bulk_create`` are not seen: what must never be
    missed is mirrored by a trigger instead."""
    attnames = {name: model._meta.get_field(name).attname for name in fields}
    uid = f"audit:{model._meta.label}"

    def before(sender, instance, raw=False, update_fields=None, **kwargs):
        if raw or instance._state.adding or instance.pk is None or not _recording():
            return
        names = [a for n, a in attnames.items() if update_fields is None or n in update_fields or a in update_fields]
        if names:
            instance.__dict__["_audit_before"] = sender._default_manager.filter(pk=instance.pk).values(*names).first()

    def after(sender, instance, created, raw=False, **kwargs):
        if raw or not _recording():
            return
        if created:
            if on_create is not None:
                on_create(instance)
            return
        old = instance.__dict__.pop("_audit_before", None)
        if not old:
            return
        changes = {
            name: (old[attname], getattr(instance, attname))
            for name, attname in attnames.items()
            if attname in old and old[attname] != getattr(instance, attname)
        }
        if changes:
            on_change(instance, changes)

    def deleted(sender, instance, **kwargs):
        if on_delete is not None and _recording():
            on_delete(instance)

    pre_save.connect(before, sender=model, weak=False, dispatch_uid=uid)
    post_save.connect(after, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=uid)


# ---------------------------------------------------------------- users, roles, tokens, logins


def _user_target(user: User) -> dict[str, Any]:
    return {"target_type": "user", "target_id": user.pk, "target_label": user.email or user.username}


def _user_changed(user: User, changes: Changes) -> None:
    if "is_active" in changes:
        audit_record(action=USER_REACTIVATED if user.is_active else USER_DEACTIVATED, **_user_target(user))
    if "password" in changes:
        audit_record(action=USER_PASSWORD_CHANGED, **_user_target(user))
    if "email" in changes:
        audit_record(action=USER_EMAIL_CHANGED, **_user_target(user), details={"fields": ["email"]})


def _user_deleted(user: User) -> None:
    audit_record(action=USER_DELETED, **_user_target(user))


def _profile_created(profile: Profile) -> None:
    audit_record(action=USER_CREATED, **_user_target(profile.user), details={"role": profile.role})


def _profile_changed(profile: Profile, changes: Changes) -> None:
    before, after = changes["role"]
    audit_record(action=USER_ROLE_CHANGED, **_user_target(profile.user), details={"from": before, "to": after})


def _token_created(token: Token) -> None:
    audit_record(action=TOKEN_CREATED, **_user_target(token.user))


def _token_deleted(token: Token) -> None:
    audit_record(action=TOKEN_REVOKED, **_user_target(token.user))


watch(User, fields=["is_active", "password", "email"], on_change=_user_changed, on_delete=_user_deleted)
watch(Profile, fields=["role"], on_change=_profile_changed, on_create=_profile_created)
watch(Token, fields=[], on_change=lambda token, changes: None, on_create=_token_created, on_delete=_token_deleted)


def _logged_in(sender, request, user, **kwargs):
    audit_record(action=LOGIN_SUCCESS, actor=user, ip=client_ip(request), **_user_target(user))


def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action=LOGOUT, actor=user, ip=client_ip(request), **_user_target(user))


def _login_failed(sender, credentials, request=None, **kwargs):
    # The e-mail as typed (Django masks the password); the target is the account it names, when there is one.
    typed = str(credentials.get("username") or credentials.get("email") or "").strip()[:200]
    known = User.objects.filter(username=typed.lower()).only("pk", "email", "username").first() if typed else None
    audit_record(
        action=LOGIN_FAILURE,
        actor_label=typed or "anonymous",
        ip=client_ip(request),
        details={"email": typed},
        **(_user_target(known) if known else {"target_type": "user", "target_label": typed}),
    )


user_logged_in.connect(_logged_in, dispatch_uid="audit:login")
user_logged_out.connect(_logged_out, dispatch_uid="audit:logout")
user_login_failed.connect(_login_failed, dispatch_uid="audit:login_failed")

__all__ = [
    "ACTION_LABELS",
    "TARGET_LABELS",
    "AuditMiddleware",
    "action_label",
    "audit_record",
    "client_ip",
    "watch",
]
