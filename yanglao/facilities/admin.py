"""Admin page for the facility kinds: a city administrator may change a kind's rules (beds, grading,
filing, minimum floor area, required services), audited like any service. Kinds are added by the
migration that loads kinds.yaml, never deleted (facilities point at them). Facilities themselves are
edited on their own pages, through the services."""

from django.contrib import admin
from django.db import transaction

from yanglao.core import audit
from yanglao.core.permissions import Perm
from yanglao.facilities.models import FacilityKind


@admin.register(FacilityKind)
class FacilityKindAdmin(admin.ModelAdmin):
    list_display = (
        "order",
        "code",
        "name",
        "level",
        "has_beds",
        "gradable",
        "requires_filing",
        "rural",
        "min_floor_area_m2",
    )
    list_display_links = ("code", "name")
    readonly_fields = ("code",)
    ordering = ("order", "code")

    def has_module_permission(self, request):
        return request.user.is_staff and request.user.has_perm(Perm.FACILITIES_MANAGE)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Perm.FACILITIES_MANAGE)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The rules hold for the whole city: only a city-level administrator changes them.
        user = request.user
        city_level = bool(user.region_id) and len(user.region_id) <= 4
        return user.has_perm(Perm.FACILITIES_MANAGE) and (user.is_superuser or city_level)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                request.user,
                "facility_kind.update",
                obj,
                after={name: form.cleaned_data.get(name) for name in form.changed_data},
            )
