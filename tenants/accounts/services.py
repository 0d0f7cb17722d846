"""Users, roles and API tokens inside one tenant schema."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from tenants.accounts.models import Profile, Role
from tenants.locale import override_for, supported_language


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


@transaction.atomic
def user_create(*, email: str, password: str, role: str, name: str = "", check_password: bool = True) -> User:
    """Create a user with a role. The e-mail is the login and is unique per tenant.

    A supplier-role user enters the portal only once the suppliers app links
    them to a supplier: create those with suppliers.members.supplier_user_create.
    Raises ValidationError for a bad e-mail, a weak password or an unknown role.
    """
    email = normalise_email(email)
    validate_email(email)
    if role not in Role.values:
        raise ValidationError(_("Unknown role %(role)s.") % {"role": role})
    if User.objects.filter(username=email).exists():
        raise ValidationError(_("A user with this e-mail already exists."))
    user = User(username=email, email=email, first_name=name[:150])
    if check_password:
        validate_password(password, user)
    user.set_password(password)
    user.save()
    Profile.objects.create(user=user, role=role)
    return user


def token_create(*, user: User) -> str:
    """Issue a new API token for the user, replacing the old one. Returns the key (shown once)."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user).key


def token_revoke(*, user: User) -> bool:
    deleted, _rows = Token.objects.filter(user=user).delete()
    return bool(deleted)


def profile_language_set(*, user: User, language: str) -> str:
    """Store the language the user reads Relay in; "" (or a code Relay does not speak) means the browser's.

    Returns the stored code. Does nothing for a user without a profile (platform admins).
    """
    language = supported_language(language)
    Profile.objects.filter(user=user).update(language=language)
    # The request's user may carry its profile already (middleware, navigation): keep it in step.
    cached = user._state.fields_cache.get("profile")
    if cached is not None:
        cached.language = language
    return language


def password_reset_send(*, user_id: int, domain: str, use_https: bool) -> bool:
    """E-mail the user a one-time link to choose a new password, on their tenant's host.

    Returns False (and sends nothing) for a user who no longer exists or is inactive.
    Safe to run twice: each run sends a fresh, equally valid link.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    context = {
        "email": user.email,
        "domain": domain,
        "site_name": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": "https" if use_https else "http",
    }
    # In the recipient's language: the worker that sends it has no browser to ask.
    with override_for(user):
        subject = "".join(render_to_string("accounts/password_reset_subject.txt", context).splitlines())
        body = render_to_string("accounts/password_reset_email.txt", context)
    send_mail(subject, body, None, [user.email])
    return True
