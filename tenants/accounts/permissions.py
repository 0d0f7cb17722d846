"""Deny by default: every view and API view names the area it belongs to."""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from rest_framework.permissions import BasePermission

from core.logging import user_var
from tenants.accounts.models import AREA_ROLES, Role
from tenants.accounts.selectors import home_url_name_for, profile_for, user_can_enter


class DenyAll(BasePermission):
    """The default for API views that forgot to say who may use them."""

    def has_permission(self, request, view) -> bool:
        return False


def area_permission(area: str) -> type[BasePermission]:
    if area not in AREA_ROLES:
        raise ValueError(f"unknown area {area!r}")

    class InArea(BasePermission):
        message = "Your role does not give access to this area."

        def has_permission(self, request, view) -> bool:
            if request.user and request.user.is_authenticated:
                user_var.set(str(request.user.pk))
            # No tenant (public host): no tenant API at all.
            return getattr(request, "tenant", None) is not None and user_can_enter(request.user, area)

    InArea.__name__ = f"In{area.title()}Area"
    return InArea


def area_required(area: str):
    """View decorator: log in first, then the role must admit the area.

    A supplier user reaching a merchant page gets 403; a merchant reaching the
    supplier portal is sent to their own console; a supplier user not linked
    to a supplier gets 403 in the portal.
    """
    if area not in AREA_ROLES:
        raise ValueError(f"unknown area {area!r}")

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user_can_enter(request.user, area):
                return view(request, *args, **kwargs)
            profile = profile_for(request.user)
            # A supplier user refused the portal (no supplier linked) has no other home: 403, not a loop.
            if area == "portal" and profile is not None and profile.role != Role.SUPPLIER:
                return redirect(home_url_name_for(request.user))
            raise PermissionDenied

        wrapped.relay_area = area
        return wrapped

    return decorator
