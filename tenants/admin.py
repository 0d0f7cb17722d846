from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from tenants.models import Domain, Tenant, TenantEvent
from tenants.services import tenant_set_status


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class TenantEventInline(admin.TabularInline):
    """The tenant's status history, read only: events are written by tenant_set_status."""

    model = TenantEvent
    extra = 0
    fields = ("at", "from_status", "to_status", "actor_label", "reason")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "time_zone", "default_currency", "created")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    # Status changes only through the actions, which call the service and record the event.
    readonly_fields = ("schema_name", "slug", "status", "created")
    inlines = [DomainInline, TenantEventInline]
    actions = ["suspend", "activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_template=False)

    def has_add_permission(self, request):
        # Tenants are created by provisioning (sign-up or provision_tenant), never by a bare row.
        return False

    @admin.action(description=gettext_lazy("Suspend selected tenants"))
    def suspend(self, request, queryset):
        changed = self._set_status(request, queryset, Tenant.Status.SUSPENDED)
        done = ngettext("%(count)d tenant suspended.", "%(count)d tenants suspended.", changed)
        self.message_user(request, done % {"count": changed}, messages.SUCCESS if changed else messages.WARNING)

    @admin.action(description=gettext_lazy("Activate selected tenants"))
    def activate(self, request, queryset):
        changed = self._set_status(request, queryset, Tenant.Status.ACTIVE)
        done = ngettext("%(count)d tenant activated.", "%(count)d tenants activated.", changed)
        self.message_user(request, done % {"count": changed}, messages.SUCCESS if changed else messages.WARNING)

    def _set_status(self, request, queryset, status: str) -> int:
        """Move each selected tenant through the service; report refusals; return how many moved."""
        changed, refused = 0, []
        # One service call (and one event) per tenant, in primary-key order like every lock.
        for tenant in queryset.order_by("pk"):
            try:
                tenant_set_status(tenant=tenant, status=status, actor=request.user, reason="admin action")
            except ValidationError as exc:
                refused.extend(exc.messages)
            else:
                changed += 1
        if refused:
            self.message_user(request, _("Unchanged: %(reasons)s") % {"reasons": " ".join(refused)}, messages.WARNING)
        return changed
