"""The API's one exception handler: a refusal from a service is a 400 with a ``detail`` list.

Services raise Django's ``ValidationError`` (IllegalTransition is one) with
messages in plain words; API views call them without a try/except and this
handler answers ``{"detail": [messages…]}``, plus the messages per field when
the service named fields. Everything else goes to DRF's own handler.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        body: dict = {}
        if hasattr(exc, "error_dict"):
            body.update({field: list(messages) for field, messages in exc.message_dict.items()})
        body["detail"] = [str(message) for message in exc.messages]
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
