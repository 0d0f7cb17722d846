from django.db import models
from django.utils.translation import gettext_lazy as _


class Supplier(models.Model):
    """A company that ships for the merchant. Grows with the supplier portal."""

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=32, unique=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
