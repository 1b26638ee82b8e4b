from django import forms
from django.contrib import admin

from yanglao.core import policy
from yanglao.core.errors import DomainError
from yanglao.core.models import AuditLog, JobProgress, PolicyValue
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


class PolicyValueForm(forms.ModelForm):
    """Checks the value against its declared bounds, so a bad value is shown beside the field."""

    key = forms.ChoiceField(label="政策参数")

    class Meta:
        model = PolicyValue
        fields = ("key", "value", "valid_from", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = [
            (k, f"{k} — {s.label}（默认 {s.default}{s.unit}）") for k, s in sorted(policy.SETTINGS.items())
        ]

    def clean(self):
        data = super().clean()
        setting = policy.SETTINGS.get(data.get("key", ""))
        if setting is not None and "value" in data:
            try:
                data["value"] = setting.check(data["value"])
            except DomainError as error:
                self.add_error("value", error.message)
        return data


@admin.register(PolicyValue)
class PolicyValueAdmin(admin.ModelAdmin):
    """Dated policy values: added through core.policy.policy_set (audited), never edited or deleted."""

    form = PolicyValueForm
    list_display = ("key", "value", "valid_from", "note", "set_by", "set_at")
    list_filter = ("key",)

    def has_module_permission(self, request):
        return request.user.has_perm(Perm.POLICIES_MANAGE) or request.user.has_perm(Perm.AUDIT_VIEW)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Perm.POLICIES_MANAGE) or request.user.has_perm(Perm.AUDIT_VIEW)

    def has_add_permission(self, request):
        return request.user.has_perm(Perm.POLICIES_MANAGE)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = policy.policy_set(
            actor=request.user, key=obj.key, value=obj.value, valid_from=obj.valid_from, note=obj.note
        )
        obj.pk = saved.pk
