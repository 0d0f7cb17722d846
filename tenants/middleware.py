"""Resolve the tenant from the host before anything else touches the database."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.shortcuts import render
from django.urls import set_urlconf
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, remove_www

from core.logging import tenant_var
from tenants.models import Domain

logger = logging.getLogger(__name__)


class TenantMiddleware:
    """Public hosts get the public URL conf; a tenant host gets its schema.

    An unknown host gets a friendly 404 page and a suspended tenant a 403 page,
    rendered in the public schema so nothing of any tenant is read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Restored afterwards, so a request never leaves its schema on the connection.
        previous = connection.tenant
        try:
            return self._handle(request)
        finally:
            if previous.schema_name == get_public_schema_name():
                connection.set_schema_to_public()
            else:
                connection.set_tenant(previous)

    def _handle(self, request):
        connection.set_schema_to_public()
        hostname = remove_www(request.get_host().split(":")[0]).lower()
        if hostname in settings.PUBLIC_HOSTS:
            # No ``request.tenant`` at all (read it with getattr): django-tenants' admin
            # templates take a missing attribute, not None, for the public schema.
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return self.get_response(request)

        domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
        if domain is None or domain.tenant.is_template:
            return render(request, "errors/unknown_host.html", {"hostname": hostname}, status=404)
        tenant = domain.tenant
        if not tenant.is_active:
            return render(request, "errors/suspended.html", {"tenant": tenant}, status=403)

        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(tenant)
        tenant_var.set(tenant.schema_name)
        request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        # Times on the tenant's pages are in the tenant's time zone (DESIGN: a month belongs to it).
        timezone.activate(tenant.tz)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
