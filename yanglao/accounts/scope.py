"""The one scoping helper that every selector for people uses (DESIGN.md rule 5).

    elders = scope.people(actor, Elder.objects.all(), region_field="residence_region_id")

- a region-scoped user sees rows whose region lies under their own region (city → district →
  street → community, by the code range of regions.codes.within);
- an organisation-bound role (assessor, provider, care worker, canteen) additionally sees only rows
  linked to its organisation through `organisation_field` (a field path, or a function of the
  organisation's id giving a Q), and nothing when the selector gives none;
- an elder or family member sees only rows linked to themselves through `self_field`;
- anyone without a scope sees nothing. Superusers see everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet

from yanglao.accounts.roles import ORGANISATION_BOUND, Role
from yanglao.core.errors import NotFound, PermissionDenied
from yanglao.regions import codes
from yanglao.regions.models import Region


def people(
    user: Any,
    queryset: QuerySet,
    *,
    region_field: str,
    organisation_field: str | Callable[[int], Q] | None = None,
    self_field: str | None = None,
) -> QuerySet:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    if user.role == Role.ELDER:
        # self_field names the path from the row to the signed-in user (e.g. "household__members").
        return queryset.filter(**{self_field: user}) if self_field else queryset.none()
    if user.role in ORGANISATION_BOUND:
        if organisation_field is None or user.organisation_id is None:
            return queryset.none()
        if callable(organisation_field):
            # A row reached through several links (an elder assigned for assessment, served by…).
            queryset = queryset.filter(organisation_field(user.organisation_id))
        else:
            queryset = queryset.filter(**{organisation_field: user.organisation_id})
    if not user.region_id:
        return queryset.none()
    return queryset.filter(codes.within(user.region_id, region_field))


def is_person(actor: Any) -> bool:
    """A signed-in person, as opposed to a named system job ("import_elders", "demo"), which services
    trust without a permission check."""
    return getattr(actor, "is_authenticated", False)


def covers(user: Any, region_code: str) -> bool:
    """Whether `region_code` lies inside the user's region."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool(user.region_id) and region_code.startswith(user.region_id)


def require_region(user: Any, region_code: str, *, hide: bool = False) -> None:
    """Refuse work outside the user's region. With hide=True the refusal is a 404, so a record in
    another region cannot be told apart from one that does not exist."""
    if covers(user, region_code):
        return
    if hide:
        raise NotFound("未找到该记录，或不在您的管辖范围内")
    raise PermissionDenied(f"区域 {region_code} 不在您的管辖范围内")


def require_perm(user: Any, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied("您的角色没有此项操作权限")


def home_region(user: Any) -> Region:
    """The region a user's pages open on: their own, or for a superuser the top of the loaded tree
    (descending while there is only one child, so Tianjin opens on its districts, not 天津市 > 天津市)."""
    if user.region_id:
        return user.region
    region = Region.objects.filter(parent__isnull=True).order_by("code").first()
    if region is None:
        raise NotFound("尚未导入行政区划：请先运行 yanglao load_regions --root 1201")
    while True:
        children = list(Region.objects.filter(parent=region)[:2])
        if len(children) != 1:
            return region
        region = children[0]
