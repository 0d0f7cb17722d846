"""The supplier portal's people, shared by the suppliers tests: Acme (whose user signs in), Bolt (another
supplier of the same tenant), Acme's user in the browser (``portal``) and with a token (``portal_api``).

A test module that needs Acme on other terms defines its own ``acme``.
"""

from __future__ import annotations

import pytest

from tests.suppliers.factories import SupplierFactory


@pytest.fixture
def acme(in_a):
    return SupplierFactory(label="Acme")


@pytest.fixture
def bolt(in_a):
    return SupplierFactory(label="Bolt")


@pytest.fixture
def acme_user(in_a, acme, make_user):
    return make_user(in_a, "supplier", supplier=acme)


@pytest.fixture
def portal(in_a, acme_user, client_for):
    """Acme's user in the browser."""
    return client_for(in_a, acme_user)


@pytest.fixture
def portal_api(in_a, acme_user, api_for):
    """Acme's own system, with its user's token."""
    return api_for(in_a, acme_user)
