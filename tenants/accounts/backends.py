from django.contrib.auth.backends import ModelBackend

from tenants.accounts.services import normalise_email


class EmailBackend(ModelBackend):
    """Log in with the e-mail address (stored as the username), case-insensitively."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        return super().authenticate(request, username=normalise_email(username or ""), password=password, **kwargs)
