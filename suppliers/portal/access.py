"""Whose portal this is: the supplier of the signed-in supplier user, for every portal page and endpoint."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from suppliers.members import supplier_of
from suppliers.models import Supplier


def portal_supplier(request) -> Supplier:
    """The supplier the signed-in supplier user works for; 403 when there is none or it is deactivated.

    The portal's permission (area "portal") refuses both already; this is the
    one place views take the supplier from, never from the request's data.
    """
    supplier = supplier_of(user=request.user)
    if supplier is None or not supplier.active:
        raise PermissionDenied(_("Your supplier account is deactivated."))
    return supplier
