"""Admin pages for users, organisations, API tokens and sign-in attempts. Access follows the named
permissions (users.manage, tokens.manage), and every change is audited in the same transaction."""

from __future__ import annotations

import math

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yanglao.accounts import services
from yanglao.accounts.models import ApiToken, LoginAttempt, Organisation, User
from yanglao.accounts.roles import STAFF_ROLES
from yanglao.accounts.scope import covers, people
from yanglao.core import audit, creditcode
from yanglao.core.errors import InvalidInput
from yanglao.core.permissions import Perm


class PermissionAdmin(admin.ModelAdmin):
    """Model admin gated by one named permission; a change writes an audit row with it."""

    perm: str = Perm.USERS_MANAGE
    audit_name: str = ""
    # The rows' region column: the list holds only what lies in the user's region (accounts.scope).
    region_field: str = "region_id"

    def get_queryset(self, request):
        return people(request.user, super().get_queryset(request), region_field=self.region_field)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user  # the generated class is new on every call, so this is per request
        return form

    def has_module_permission(self, request):
        return request.user.has_perm(self.perm)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(self.perm) or request.user.has_perm(Perm.AUDIT_VIEW)

    def has_add_permission(self, request):
        return request.user.has_perm(self.perm)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(self.perm)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm(self.perm)

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                request.user,
                f"{self.audit_name}.{'update' if change else 'create'}",
                obj,
                after={name: form.cleaned_data.get(name) for name in form.changed_data if name != "password"},
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(request.user, f"{self.audit_name}.delete", obj, before={"repr": str(obj)})
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The list's bulk delete is audited row by row, like the delete button.
        with transaction.atomic():
            for obj in queryset:
                audit.record(request.user, f"{self.audit_name}.delete", obj, before={"repr": str(obj)})
            super().delete_queryset(request, queryset)


class ScopeCheckedForm:
    """The same role and scope rules as services.user_create, shown beside the fields."""

    actor = None

    def clean(self):
        data = super().clean()
        region = data.get("region")
        try:
            services.check_scope(
                data.get("role") or "", region.code if region else None, data.get("organisation")
            )
        except InvalidInput as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        if region is not None and self.actor is not None and not covers(self.actor, region.code):
            self.add_error("region", f"“{region.name}”不在您的管辖范围内")
        return data


class UserAddForm(ScopeCheckedForm, AdminUserCreationForm):
    pass


class UserEditForm(ScopeCheckedForm, UserChangeForm):
    pass


@admin.register(User)
class UserAdmin(PermissionAdmin, DjangoUserAdmin):
    audit_name = "user"
    form = UserEditForm
    add_form = UserAddForm
    list_display = ("username", "full_name", "role", "region", "organisation", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "full_name", "region__name", "organisation__name")
    autocomplete_fields = ("region", "organisation")
    actions = ["unlock_login"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("身份与范围"), {"fields": ("full_name", "role", "region", "organisation", "phone")}),
        (_("状态"), {"fields": ("is_active", "is_staff", "is_superuser", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"fields": ("username", "password1", "password2", "full_name", "role", "region", "organisation")},
        ),
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.has_perm(Perm.PII_VIEW):
            return fieldsets
        # Without pii.view the phone number is shown masked and cannot be edited.
        return [
            (name, {**opts, "fields": tuple("masked_phone" if f == "phone" else f for f in opts["fields"])})
            for name, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["last_login", "date_joined", "masked_phone"]
        if not request.user.is_superuser:
            # Staff status follows the role; only a superuser makes another superuser.
            readonly += ["is_staff", "is_superuser"]
        return readonly

    @admin.display(description=_("手机号码"))
    def masked_phone(self, obj):
        return obj.masked_phone

    def save_model(self, request, obj, form, change):
        obj.is_staff = obj.is_superuser or obj.role in STAFF_ROLES
        super().save_model(request, obj, form, change)

    @admin.action(description=_("解除所选用户的登录锁定"), permissions=["change"])
    def unlock_login(self, request, queryset):
        for user in queryset:
            services.login_unlock(actor=request.user, username=user.username)
        messages.success(request, _("已解除 %(n)d 个用户的登录锁定") % {"n": queryset.count()})


class OrganisationForm(forms.ModelForm):
    actor = None

    class Meta:
        model = Organisation
        fields = ("name", "kind", "credit_code", "region", "is_active")

    def clean_credit_code(self):
        raw = self.cleaned_data.get("credit_code")
        if not raw:
            return None
        try:
            return creditcode.parse(raw)
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from None

    def clean_region(self):
        region = self.cleaned_data.get("region")
        if region is not None and self.actor is not None and not covers(self.actor, region.code):
            raise forms.ValidationError(f"“{region.name}”不在您的管辖范围内")
        return region


@admin.register(Organisation)
class OrganisationAdmin(PermissionAdmin):
    audit_name = "organisation"
    form = OrganisationForm
    list_display = ("name", "kind", "credit_code", "region", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "credit_code")
    autocomplete_fields = ("region",)


@admin.register(ApiToken)
class ApiTokenAdmin(PermissionAdmin):
    perm = Perm.TOKENS_MANAGE
    audit_name = "token"
    region_field = "user__region_id"
    list_display = ("prefix", "user", "name", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "user__username", "name")
    fields = ("user", "name", "expires_at", "scopes", "prefix", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "last_used_at", "revoked_at", "scopes")
    autocomplete_fields = ("user",)
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("user", "expires_at") if obj else ())

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # A new token is made by the service, which alone knows the secret; it is shown once.
        days = (
            max(1, math.ceil((obj.expires_at - timezone.now()).total_seconds() / 86400))
            if obj.expires_at
            else None
        )
        token, raw = services.token_create(actor=request.user, user=obj.user, name=obj.name, days=days)
        obj.pk = token.pk
        messages.warning(request, _("新令牌（只显示这一次，请立即保存）：%(token)s") % {"token": raw})

    @admin.action(description=_("吊销所选令牌"), permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            services.token_revoke(actor=request.user, token=token)
            count += 1
        messages.success(request, _("已吊销 %(n)d 个令牌") % {"n": count})


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "succeeded", "ip")
    list_filter = ("succeeded",)
    search_fields = ("username", "ip")

    def has_module_permission(self, request):
        return request.user.has_perm(Perm.AUDIT_VIEW) or request.user.has_perm(Perm.USERS_MANAGE)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
