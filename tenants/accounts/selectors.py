from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from tenants.accounts.models import Profile


def profile_for(user: User | AnonymousUser | None) -> Profile | None:
    """The user's profile, or None for anonymous users and users without a role."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


def user_can_enter(user, area: str) -> bool:
    profile = profile_for(user)
    return bool(profile and user.is_active and profile.can_enter(area))


def home_url_name_for(user) -> str:
    """Where a user lands after login: their own area."""
    profile = profile_for(user)
    if profile is None:
        return "login"
    if profile.role == "supplier":
        return "suppliers:portal_dispatches"
    if profile.role == "finance":
        return "settlement:index"
    return "orders:dashboard"
