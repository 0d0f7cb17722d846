from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from tenants.accounts.models import Profile, Role

# The suppliers app links a supplier user to their supplier (suppliers.SupplierUser,
# one-to-one to the user). Read by its accessor name: the ground layer imports no supplier.
SUPPLIER_LINK = "supplier_link"


def profile_for(user: User | AnonymousUser | None) -> Profile | None:
    """The user's profile, or None for anonymous users and users without a role."""
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


def supplier_id_for(user: User | AnonymousUser | None) -> int | None:
    """The id of the active supplier a supplier user works for, or None (other roles, not linked yet, or the
    supplier is deactivated: its users are shut out of the portal and its API)."""
    profile = profile_for(user)
    if profile is None or profile.role != Role.SUPPLIER:
        return None
    # A missing reverse one-to-one raises an AttributeError subclass: getattr's default covers it.
    link = getattr(user, SUPPLIER_LINK, None)
    if link is None:
        return None
    # Through the ORM relation (link.supplier), so this layer imports nothing of the suppliers app.
    return link.supplier_id if link.supplier.active else None


def user_can_enter(user, area: str) -> bool:
    """Whether the user's role admits the area; the supplier portal also needs a linked, active supplier."""
    profile = profile_for(user)
    if not (profile and user.is_active and profile.can_enter(area)):
        return False
    return area != "portal" or supplier_id_for(user) is not None


def home_url_name_for(user) -> str:
    """Where a user lands after login: their own area."""
    profile = profile_for(user)
    if profile is None:
        return "login"
    if profile.role == "supplier":
        return "suppliers:portal_home"
    if profile.role == "finance":
        return "settlement:index"
    return "dashboard"
