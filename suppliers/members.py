"""Supplier users: tenant users who work for one supplier, through the portal.

The link (SupplierUser) belongs to the suppliers app; tenants.accounts only
knows the user and its role.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from suppliers.models import Supplier, SupplierUser
from tenants.accounts.models import Role
from tenants.accounts.services import user_create


def supplier_user_create(
    *, supplier: Supplier, email: str, password: str, name: str = "", check_password: bool = True
) -> User:
    """Create a user with the supplier role, linked to ``supplier``, in one transaction.

    All or nothing: a refused user leaves no link, a refused link no user.
    Raises ValidationError for whatever tenants.accounts.services.user_create
    refuses (bad e-mail, weak password, e-mail taken).
    """
    with transaction.atomic():
        user = user_create(email=email, password=password, role=Role.SUPPLIER, name=name, check_password=check_password)
        SupplierUser.objects.create(user=user, supplier=supplier)
    return user


def supplier_of(*, user: User) -> Supplier | None:
    """The supplier a supplier user works for; None for other users and for supplier users not linked yet."""
    link = SupplierUser.objects.select_related("supplier").filter(user_id=user.pk).first()
    return link.supplier if link is not None else None
