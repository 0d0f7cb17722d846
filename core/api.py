"""The API's shared pieces: its exception handler, its schema class and the shapes of its pages and errors.

Services raise Django's ``ValidationError`` (IllegalTransition is one) with messages in plain words;
API views call them without a try/except and ``exception_handler`` answers 400 ``{"detail": [messages…]}``,
plus the messages per field when the service named fields. A DRF ``ValidationError`` raised with bare
messages (not per field) answers the same ``{"detail": [...]}`` shape. Everything else goes to DRF's handler.

``AutoSchema`` documents every operation's error answers in one place, so that no view has to: 400 with
the validation error body, 401, 403, 404 where the path names an object, 413 for uploads, 415 where a
body is read; each with its JSON body. ``cursor_page``/``offset_page``/``numbered_page`` document the
envelope each kind of list answers with, and ``query_params`` validates a list's query string against the
serializer that documents it, so an ill-typed parameter is a 400 rather than silently ignored.

A list's filter narrows the list: an id or a date range that matches nothing answers an empty page; a
value of the wrong type, out of its enum or bounds, or empty where it is typed is a 400.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.http import JsonResponse
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.forms import FILTER_FIRST_DAY, FILTER_LAST_DAY
from core.money import CURRENCIES


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        body: dict = {}
        if hasattr(exc, "error_dict"):
            body.update({field: list(messages) for field, messages in exc.message_dict.items()})
        body["detail"] = [str(message) for message in exc.messages]
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if isinstance(exc, ValidationError) and response is not None and isinstance(response.data, list):
        response.data = {"detail": response.data}
    return response


@csrf_exempt
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Any /api/v1/… address no route matches: a JSON 404 like every other API answer, not the HTML page."""
    return JsonResponse({"detail": str(_("Not found."))}, status=404)


# ---------------------------------------------------------------- query strings


def query_params(request, serializer_class: type[serializers.Serializer], *, envelope: str = "") -> dict:
    """The request's query parameters validated by ``serializer_class``; raises ValidationError (400).

    Parameters the serializer does not name are ignored; a named one with a value of the wrong type
    (``?active=null``, ``?page=x``), outside its enum or bounds, or empty where a date, a number, a flag or a
    choice is expected (``?placed_to=``) is refused instead of being read as absent. The serializer is also
    what documents the parameters (``extend_schema(parameters=[serializer_class])``), so the schema and the
    check cannot drift apart. ``envelope`` names the key the field errors go under (``{"errors": {...}}``,
    the shape of lists that once read a filter form); by default they are the body itself.
    """
    data = {name: request.query_params.get(name) for name in serializer_class().fields if name in request.query_params}
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise ValidationError({envelope: serializer.errors} if envelope else serializer.errors)
    return serializer.validated_data


# A row id as the database keeps it (bigint): a larger number names nothing and must not reach a query.
ID_MAX = 2**63 - 1


def object_id(**kwargs) -> serializers.IntegerField:
    """An optional id query parameter (``?store=12``): a positive integer the database can hold."""
    kwargs.setdefault("required", False)
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


def id_or(word: str, **kwargs) -> serializers.CharField:
    """An optional query parameter holding an id or one word (``?supplier=12``, ``?supplier=own``)."""
    kwargs.setdefault("required", False)
    validator = RegexValidator(
        rf"^(?:{re.escape(word)}|[1-9][0-9]{{0,17}})$", format_lazy(_("Give an id or “{word}”."), word=word)
    )
    return serializers.CharField(validators=[validator], **kwargs)


class FilterDate(serializers.DateField):
    """A day bound of a list's filter (ISO, ``YYYY-MM-DD``). A day in year 1 reads as 0002-01-01 and one in
    year 9999 as 9998-12-31: no record is dated there, and those days' edges cannot be moved to UTC or to
    the day after, as a filter on times must (OverflowError)."""

    FIRST = FILTER_FIRST_DAY
    LAST = FILTER_LAST_DAY

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        return min(max(super().to_internal_value(value), self.FIRST), self.LAST)


def choice(values, **kwargs) -> serializers.ChoiceField:
    """An optional enum query parameter: one of ``values``, never empty (an empty value is a 400, not "any")."""
    kwargs.setdefault("required", False)
    return serializers.ChoiceField(choices=list(values), **kwargs)


@extend_schema_field({"type": "string", "enum": sorted(CURRENCIES), "description": "an ISO 4217 currency code"})
class CurrencyField(serializers.CharField):
    """A currency code as text; the service checks and normalises it (``rmb`` → ``CNY``), the schema lists the codes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        super().__init__(**kwargs)


# ---------------------------------------------------------------- list envelopes


def _child(serializer) -> serializers.BaseSerializer:
    return serializer(many=True) if isinstance(serializer, type) else serializer


def _name(serializer) -> str:
    cls = serializer if isinstance(serializer, type) else type(serializer)
    return cls.__name__.removesuffix("Serializer")


def cursor_page(serializer, *, name: str | None = None):
    """``{"next": cursor | null, "results": [...]}``: a keyset page; ``next`` is the ``after`` of the next one."""
    return inline_serializer(
        name=name or f"{_name(serializer)}CursorPage",
        fields={
            "next": serializers.CharField(allow_null=True, help_text="cursor of the next page (`after`), or null"),
            "results": _child(serializer),
        },
    )


def offset_page(serializer, *, name: str | None = None):
    """``{"next_offset": int | null, "results": [...]}``."""
    return inline_serializer(
        name=name or f"{_name(serializer)}OffsetPage",
        fields={"next_offset": serializers.IntegerField(allow_null=True), "results": _child(serializer)},
    )


def numbered_page(serializer, *, name: str | None = None):
    """DRF's page-number envelope ``{"count", "next", "previous", "results"}`` (links are URLs or null)."""
    return inline_serializer(
        name=name or f"{_name(serializer)}NumberedPage",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": _child(serializer),
        },
    )


# ---------------------------------------------------------------- error bodies and the schema class

_MESSAGES = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}

ERROR_SCHEMA = {
    "type": "object",
    "description": "A refusal, in the reader's language.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}

VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "What was wrong with the request: `detail` says it in general, and a field's name holds that field's "
        "messages (a list, or an object of messages for a nested field)."
    ),
    "properties": {"detail": _MESSAGES},
    "additionalProperties": {},
}

ERROR_DESCRIPTIONS = {
    "400": _("The request was not valid; nothing changed."),
    "401": _("No valid credentials were given."),
    "403": _("The credentials do not allow this."),
    "404": _("No such object, or it is not yours to see."),
    "413": _("The upload is too large."),
    "415": _("The body's media type is not one this operation reads."),
}


def decimal_pattern(field: serializers.DecimalField) -> str:
    """The texts ``field`` accepts, as a pattern: its bounds too, which a schema cannot set on a string (no
    sign when its minimum is 0; as many whole digits as a maximum of nines has). drf-spectacular's own pattern
    states neither, and matches "" and "." as well."""
    places = field.decimal_places
    whole = field.max_whole_digits
    top = str(int(field.max_value)) if field.max_value is not None and field.max_value >= 0 else ""
    if top and not top.strip("9"):  # 999999.99: six whole digits at most; a maximum like 500 cannot be said
        whole = min(whole or len(top), len(top))
    sign = "" if field.min_value == 0 else "-?"
    digits = rf"\d{{1,{whole}}}" if whole else r"\d+"
    if places == 0:
        return rf"^{sign}0*{digits}$"
    fraction, some_fraction = (rf"\d{{0,{places}}}", rf"\d{{1,{places}}}") if places else (r"\d*", r"\d+")
    return rf"^{sign}0*(?:{digits}(?:\.{fraction})?|\.{some_fraction})$"


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the error answers every operation can give, with their bodies."""

    def get_operation_id(self):
        # A list answered in an envelope (a page object, not an array) is still a list: name it so.
        operation_id = super().get_operation_id()
        if self.method == "GET" and operation_id.endswith("_retrieve") and not self.path.rstrip("/").endswith("}"):
            operation_id = operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        # Any operation that reads a body refuses one sent as another media type (or none): DRF's 415.
        if operation and "requestBody" in operation and "415" not in operation["responses"]:
            operation["responses"]["415"] = {
                "content": {"application/json": {"schema": self._error_ref("Error", ERROR_SCHEMA)}},
                "description": str(ERROR_DESCRIPTIONS["415"]),
            }
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.DecimalField) and schema.get("type") == "string" and "pattern" in schema:
            schema["pattern"] = decimal_pattern(field)
        # A text field that refuses blanks says so: at least one character that is not white space.
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and not field.allow_blank
            and schema.get("type") == "string"
        ):
            schema.setdefault("minLength", 1)
            patterns = [v.regex.pattern for v in field.validators if isinstance(v, RegexValidator)]
            if patterns:
                schema["pattern"] = patterns[0]
            elif field.trim_whitespace and "pattern" not in schema and "format" not in schema:
                schema["pattern"] = r"\S"
        return schema

    def map_parsers(self):
        # JSON is the API's language: a view that also takes forms (DRF's default parsers) is documented with
        # JSON only, since nested bodies have no form encoding. Upload views name their own media types.
        parsers = super().map_parsers()
        return ["application/json"] if "application/json" in parsers else parsers

    def _error_ref(self, name: str, schema: dict) -> dict:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return component.ref

    def _error_codes(self) -> list[str]:
        codes = ["400", "401", "403"]
        if "{" in self.path:
            codes.append("404")
        request_types = self.map_parsers() if self.method in ("POST", "PUT", "PATCH") else []
        if any(media.startswith("multipart/") for media in request_types):
            codes.append("413")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            schema = (
                self._error_ref("ValidationError", VALIDATION_ERROR_SCHEMA)
                if code == "400"
                else self._error_ref("Error", ERROR_SCHEMA)
            )
            declared = responses.get(code, {}).get("content", {}).get("application/json")
            if declared:
                # A view's own body for this code (an import report, say); a refusal before it is the usual one.
                if code == "400":
                    declared["schema"] = {"anyOf": [declared["schema"], schema]}
                continue
            responses[code] = {
                "content": {"application/json": {"schema": schema}},
                "description": str(ERROR_DESCRIPTIONS[code]),
            }
        return responses
