from django.utils.translation import gettext_lazy as _

from tenants.accounts.selectors import profile_for, user_can_enter

# (url name, label, area) in the order the navigation shows them.
NAVIGATION = [
    ("dashboard", _("Dashboard"), "console"),
    ("orders:list", _("Orders"), "console"),
    ("orders:holds", _("Holds"), "console"),
    ("channels:stores", _("Stores"), "console"),
    ("inventory:products", _("Products"), "console"),
    ("suppliers:list", _("Suppliers"), "console"),
    ("suppliers:dispatches", _("Dispatches"), "console"),
    ("orders:routing", _("Routing"), "console"),
    ("settlement:index", _("Settlement"), "finance"),
    ("audit_log", _("Audit log"), "admin"),
    ("suppliers:portal_home", _("Home"), "portal"),
    ("suppliers:portal_dispatches", _("Dispatches"), "portal"),
    ("inventory:portal_stock", _("Stock"), "portal"),
    ("settlement:portal_statements", _("Statements"), "portal"),
]


def navigation(request):
    # The public host (platform admin) has no tenant and no profiles: ask nothing of the user there.
    if getattr(request, "tenant", None) is None:
        return {"nav_items": [], "profile": None}
    profile = profile_for(getattr(request, "user", None))
    if profile is None:
        return {"nav_items": [], "profile": None}
    items = [(name, label) for name, label, area in NAVIGATION if user_can_enter(request.user, area)]
    return {"nav_items": items, "profile": profile}
