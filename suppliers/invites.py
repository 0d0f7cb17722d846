"""The invitation e-mail of a supplier user: a one-time link, on the tenant's host, that sets their password.

The link is Django's password-reset link (the default token generator and the
tenant's password-reset confirm page): the token is bound to the user's
password hash, so it stops working once a password is set, and it expires
after PASSWORD_RESET_TIMEOUT. Invited users are created with an unusable
password (suppliers.members.supplier_user_invite).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from suppliers.models import SupplierUser
from tenants.locale import override_for

# The task (suppliers/tasks.py) that runs invite_send from a worker; sent by suppliers.members after the commit.
SEND_INVITE_TASK = "suppliers.send_invite"


def invite_link(*, user: User, domain: str, use_https: bool) -> str:
    """The link that lets ``user`` choose a password, on ``domain`` (the tenant's host, with its port)."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{'https' if use_https else 'http'}://{domain}{path}"


def invite_pending(user: User) -> bool:
    """Whether the user was invited and has not chosen a password yet."""
    return user.is_active and not user.has_usable_password()


def invite_send(*, user_id: int, domain: str, use_https: bool) -> bool:
    """E-mail a supplier user the link that sets their password; returns whether an e-mail went out.

    Sends nothing (False) for a user who no longer exists, is deactivated, is
    not a supplier user, or has chosen a password already (the invitation was
    accepted; a forgotten password is the password-reset page's business). Safe
    to run twice: each run sends a fresh, equally valid link.
    """
    link = SupplierUser.objects.select_related("user", "supplier").filter(user_id=user_id).first()
    if link is None or not invite_pending(link.user):
        return False
    user = link.user
    context = {
        "user": user,
        "name": user.first_name or user.email,
        "supplier": link.supplier,
        "tenant_name": _tenant_name(),
        "link": invite_link(user=user, domain=domain, use_https=use_https),
        "login_url": f"{'https' if use_https else 'http'}://{domain}{reverse('login')}",
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // (24 * 3600)),
    }
    with override_for(user):  # in the language the invited person chose (the default until they sign in)
        subject = "".join(render_to_string("suppliers/email/invite_subject.txt", context).splitlines())
        body = render_to_string("suppliers/email/invite.txt", context)
    send_mail(subject, body, None, [user.email])
    return True


def _tenant_name() -> str:
    # The merchant's name for the greeting; the connection knows its tenant (request or tenant task).
    return getattr(getattr(connection, "tenant", None), "name", "")
