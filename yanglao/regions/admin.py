from django.contrib import admin
from django.db import transaction

from yanglao.core import audit
from yanglao.core.permissions import Perm
from yanglao.regions.models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """Divisions come from the national codes (`yanglao load_regions`); here they are looked up and
    their centre point corrected."""

    list_display = ("code", "name", "level", "parent", "latitude", "longitude")
    list_filter = ("level",)
    search_fields = ("code", "name")
    fields = ("code", "name", "level", "parent", "latitude", "longitude")
    readonly_fields = ("code", "name", "level", "parent")
    list_select_related = ("parent",)

    def has_module_permission(self, request):
        return request.user.has_perm(Perm.REGIONS_VIEW) and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Perm.REGIONS_VIEW)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Only the centre point is editable; the change is audited like any service's.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(
                request.user,
                "region.update",
                obj,
                region_code=obj.code,
                after={name: form.cleaned_data.get(name) for name in form.changed_data},
            )
