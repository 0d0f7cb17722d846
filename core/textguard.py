"""Invalid text never reaches a view: a NUL byte or a lone surrogate anywhere in the input answers 400.

PostgreSQL cannot store a NUL in text (``\\u0000 cannot be converted to text``) and a lone surrogate
cannot be encoded as UTF-8, so either would surface as a 500 deep inside a query or a save. They are
refused at the edge instead: ``InvalidTextMiddleware`` checks the path, the query string and form
fields of every request; ``TextGuardJSONParser`` (the API's JSON parser) checks every key and string
of a JSON body after parsing. Either answers 400 before anything is read or written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, FormParser, JSONParser, MultiPartParser

# NUL, and any UTF-16 surrogate code point (only a lone one can exist in a Python str).
_INVALID = re.compile("[\x00\ud800-\udfff]")

FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def invalid_text_message() -> str:
    return _("The request contains characters that are not allowed (a NUL byte or an unpaired surrogate).")


def is_invalid_text(value: str) -> bool:
    """True when the string holds a NUL byte or a lone surrogate."""
    return _INVALID.search(value) is not None


def contains_invalid_text(value: Any) -> bool:
    """True when any string in a parsed JSON value, keys of objects included, holds invalid text."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if is_invalid_text(item):
                return True
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and is_invalid_text(key):
                    return True
                stack.append(child)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def _any_invalid(values: Iterable[str]) -> bool:
    return any(is_invalid_text(value) for value in values)


def url_has_invalid_text(request: HttpRequest) -> bool:
    """Path and query string, names and values."""
    if is_invalid_text(request.path_info) or is_invalid_text(request.path):
        return True
    return any(is_invalid_text(key) or _any_invalid(values) for key, values in request.GET.lists())


def form_has_invalid_text(request: HttpRequest) -> bool:
    """Form fields (names and values) and uploaded file names of a form post.

    A body Django cannot parse is left alone here: the view meets the same error it always did.
    """
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or request.content_type not in FORM_MEDIA_TYPES:
        return False
    try:
        fields, files = request.POST, request.FILES
    except (MultiPartParserError, SuspiciousOperation):
        return False
    if any(is_invalid_text(key) or _any_invalid(values) for key, values in fields.lists()):
        return True
    return any(
        is_invalid_text(key) or _any_invalid(upload.name or "" for upload in uploads) for key, uploads in files.lists()
    )


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path_info.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def invalid_text_response(request: HttpRequest) -> HttpResponse:
    message = invalid_text_message()
    if _wants_json(request):
        return JsonResponse({"detail": message}, status=400)
    return render(request, "errors/400.html", {"message": message}, status=400)


class InvalidTextMiddleware:
    """Answer 400 to a request whose path, query string or form fields hold a NUL byte or a lone surrogate.

    Form fields are checked only for views that Django's CSRF check covers (it reads the form anyway); a
    CSRF-exempt view (the API, webhooks) reads its own body, and the API's parsers (``TextGuard*Parser``)
    check it there, so an upload is never parsed before the view has chosen how.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if url_has_invalid_text(request):
            return invalid_text_response(request)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        if getattr(view_func, "csrf_exempt", False):
            return None
        if form_has_invalid_text(request):
            return invalid_text_response(request)
        return None


def _checked(data):
    if isinstance(data, DataAndFiles):
        if contains_invalid_text(dict(data.data.lists())) or any(
            is_invalid_text(key) or _any_invalid(upload.name or "" for upload in uploads)
            for key, uploads in data.files.lists()
        ):
            raise ParseError(invalid_text_message())
        return data
    if isinstance(data, QueryDict):
        if contains_invalid_text(dict(data.lists())):
            raise ParseError(invalid_text_message())
        return data
    if contains_invalid_text(data):
        raise ParseError(invalid_text_message())
    return data


class TextGuardJSONParser(JSONParser):
    """DRF's JSON parser, refusing (400) a body with a NUL byte or a lone surrogate in any key or string."""

    def parse(self, stream, media_type=None, parser_context=None):
        return _checked(super().parse(stream, media_type=media_type, parser_context=parser_context))


class TextGuardFormParser(FormParser):
    """DRF's form parser, refusing (400) a NUL byte or a lone surrogate in any field name or value."""

    def parse(self, stream, media_type=None, parser_context=None):
        return _checked(super().parse(stream, media_type=media_type, parser_context=parser_context))


class TextGuardMultiPartParser(MultiPartParser):
    """DRF's multipart parser, refusing (400) a NUL byte or a lone surrogate in any field or file name."""

    def parse(self, stream, media_type=None, parser_context=None):
        return _checked(super().parse(stream, media_type=media_type, parser_context=parser_context))
