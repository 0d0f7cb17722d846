"""Error pages for people: never a stack trace."""

from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader


def forbidden(request, exception=None):
    return render(request, "errors/403.html", status=403)


def not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    # No request context: whatever broke may be what a context processor needs.
    body = loader.get_template("errors/500.html").render({"request_id": getattr(request, "request_id", "")})
    return HttpResponseServerError(body)
