"""Small helpers shared by the pages' forms."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError


def form_add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: by field where the form has it, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# The days a list's date filter may name: a day in year 1 reads as FILTER_FIRST_DAY and one in year 9999 as
# FILTER_LAST_DAY. No record is dated there, and those days' edges cannot be moved to UTC or to the day after,
# as a filter on times must (OverflowError, a 500).
FILTER_FIRST_DAY = dt.date(2, 1, 1)
FILTER_LAST_DAY = dt.date(9998, 12, 31)


class FilterDateField(forms.DateField):
    """An optional day bound of a list's filter, kept inside FILTER_FIRST_DAY … FILTER_LAST_DAY."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        day = super().to_python(value)
        return None if day is None else min(max(day, FILTER_FIRST_DAY), FILTER_LAST_DAY)
