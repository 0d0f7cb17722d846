"""Deny by default, proved on the URL conf: every view of a tenant host names who may use it.

A page declares an area with ``area_required`` (which marks the view with ``relay_area``); an API view with
an area permission class (``area_permission``), never the default ``DenyAll`` alone and never ``AllowAny``.
What is open to everyone is in test_isolation_matrix.PUBLIC_VIEWS, each with its reason.
"""

from __future__ import annotations

from rest_framework.permissions import AllowAny

from tenants.accounts.models import AREA_ROLES
from tenants.accounts.permissions import DenyAll
from tests.security.conftest import routes
from tests.security.test_isolation_matrix import PUBLIC_VIEWS, TENANT_URLCONF, area_of, view_name


def test_every_tenant_view_declares_an_area_or_is_listed_public():
    undeclared = [
        f"{route.route} ({view_name(route)})"
        for route in routes(TENANT_URLCONF)
        if area_of(route) is None and view_name(route) not in PUBLIC_VIEWS
    ]
    assert not undeclared, "views without an explicit permission (area_required / area_permission):\n" + "\n".join(
        undeclared
    )


def test_no_api_view_is_open_to_anyone_or_left_on_the_default():
    wrong = []
    for route in routes(TENANT_URLCONF):
        permissions = list(getattr(route.view_class, "permission_classes", None) or ())
        if route.view_class is None or not hasattr(route.view_class, "permission_classes"):
            continue
        if AllowAny in permissions or permissions == [DenyAll]:
            if view_name(route) not in PUBLIC_VIEWS:
                wrong.append(f"{route.route}: {[p.__name__ for p in permissions]}")
    assert not wrong, "\n".join(wrong)


def test_the_public_list_names_only_views_that_exist():
    """A stale entry would open the next view that happens to take its name."""
    names = {view_name(route) for route in routes(TENANT_URLCONF)}
    assert set(PUBLIC_VIEWS) - names == set()


def test_every_declared_area_is_a_known_one():
    areas = {area_of(route) for route in routes(TENANT_URLCONF)} - {None}
    assert areas <= set(AREA_ROLES)
