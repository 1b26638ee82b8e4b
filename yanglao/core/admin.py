from django.contrib import admin

from yanglao.core.models import AuditLog, JobProgress
from yanglao.core.permissions import Perm


class ReadOnlyAdmin(admin.ModelAdmin):
    """The trail and job records are written by services only; the admin can read them."""

    view_perm: str = Perm.AUDIT_VIEW

    def has_module_permission(self, request):
        return request.user.has_perm(self.view_perm)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(self.view_perm)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "action", "object_type", "object_id", "region_code", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("actor_name", "action", "object_id", "region_code")
    date_hierarchy = "at"


@admin.register(JobProgress)
class JobProgressAdmin(ReadOnlyAdmin):
    view_perm = Perm.JOBS_VIEW
    list_display = ("name", "state", "percent", "message", "owner", "started_at", "updated_at")
    list_filter = ("state",)
