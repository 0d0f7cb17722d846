from django.contrib import admin

from tenants.models import Domain, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "status", "time_zone", "default_currency", "created")
    list_filter = ("status",)
    search_fields = ("name", "slug")
    readonly_fields = ("schema_name", "slug", "created")
    inlines = [DomainInline]
    actions = ["suspend", "activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(is_template=False)

    def has_add_permission(self, request):
        # Tenants are created by provisioning (sign-up or provision_tenant), never by a bare row.
        return False

    @admin.action(description="Suspend selected tenants")
    def suspend(self, request, queryset):
        queryset.update(status=Tenant.Status.SUSPENDED)

    @admin.action(description="Activate selected tenants")
    def activate(self, request, queryset):
        queryset.update(status=Tenant.Status.ACTIVE)
