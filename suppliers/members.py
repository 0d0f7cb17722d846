"""Supplier users: tenant users who work for one supplier, through the portal.

The link (SupplierUser) belongs to the suppliers app; tenants.accounts only
knows the user and its role. The merchant invites them (an e-mailed link that
sets the password, suppliers.invites) and can deactivate and reactivate them.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.tasks import enqueue_named
from suppliers.invites import SEND_INVITE_TASK, invite_pending
from suppliers.models import Supplier, SupplierUser
from tenants.accounts.models import Role
from tenants.accounts.services import user_create


def supplier_user_create(
    *, supplier: Supplier, email: str, password: str | None, name: str = "", check_password: bool = True
) -> User:
    """Create a user with the supplier role, linked to ``supplier``, in one transaction.

    ``password=None`` gives an unusable password: the user cannot log in until
    they choose one through an invitation link. All or nothing: a refused user
    leaves no link, a refused link no user. Raises ValidationError for whatever
    tenants.accounts.services.user_create refuses (bad e-mail, weak password,
    e-mail taken).
    """
    with transaction.atomic():
        if password is None:
            user = user_create(email=email, password="", role=Role.SUPPLIER, name=name, check_password=False)
            user.set_unusable_password()
            user.save(update_fields=["password"])
        else:
            user = user_create(
                email=email, password=password, role=Role.SUPPLIER, name=name, check_password=check_password
            )
        SupplierUser.objects.create(user=user, supplier=supplier)
    return user


def supplier_of(*, user: User) -> Supplier | None:
    """The supplier a supplier user works for; None for other users and for supplier users not linked yet."""
    link = SupplierUser.objects.select_related("supplier").filter(user_id=user.pk).first()
    return link.supplier if link is not None else None


def supplier_user_invite(*, supplier: Supplier, email: str, name: str = "", domain: str, use_https: bool) -> User:
    """Create a supplier user of ``supplier`` with no password and e-mail them a link that sets one.

    ``domain`` is the tenant's host (with its port) the link points at. The
    e-mail goes from a worker after the commit. Raises ValidationError (nothing
    created, nothing sent) for a bad or taken e-mail, or a deactivated supplier.
    """
    if not supplier.active:
        raise ValidationError(_("%(supplier)s is deactivated: reactivate it first.") % {"supplier": supplier.name})
    with transaction.atomic():
        user = supplier_user_create(supplier=supplier, email=email, password=None, name=(name or "").strip())
        enqueue_named(SEND_INVITE_TASK, user.pk, domain, use_https)
    return user


def supplier_user_invite_resend(*, supplier: Supplier, user: User, domain: str, use_https: bool) -> None:
    """E-mail the invitation link again (a fresh one; older links stay valid until a password is set).

    Raises ValidationError for a user of another supplier, a deactivated user,
    or one who has already chosen a password (they can reset it themselves).
    """
    _check_member(supplier=supplier, user=user)
    if not user.is_active:
        raise ValidationError(_("%(email)s is deactivated: reactivate the user first.") % {"email": user.email})
    if not invite_pending(user):
        raise ValidationError(
            _("%(email)s has already set a password; they can use “Forgot your password?” on the login page.")
            % {"email": user.email}
        )
    enqueue_named(SEND_INVITE_TASK, user.pk, domain, use_https)


@transaction.atomic
def supplier_user_set_active(*, supplier: Supplier, user: User, active: bool) -> bool:
    """Deactivate or reactivate a supplier user; returns whether anything changed.

    A deactivated user cannot log in, their open sessions end and their API
    token is refused (Django and DRF refuse inactive users); reactivating gives
    all of it back. Compare-and-set, so two clicks change it once. Raises
    ValidationError for a user of another supplier.
    """
    _check_member(supplier=supplier, user=user)
    changed = User.objects.filter(pk=user.pk, is_active=not active).update(is_active=active)
    user.is_active = active
    return bool(changed)


def _check_member(*, supplier: Supplier, user: User) -> None:
    # Defence in depth: the views find the user through suppliers.selectors, within the supplier.
    if not SupplierUser.objects.filter(user_id=user.pk, supplier_id=supplier.pk).exists():
        raise ValidationError(
            _("%(email)s is not a user of %(supplier)s.") % {"email": user.email, "supplier": supplier.name}
        )
