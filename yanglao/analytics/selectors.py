"""Figures for the home dashboard: the user's region and a row per child region. Each later app adds
its column here (elders, orders, alarms, …); analytics may read every app, and no app reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yanglao.accounts.models import User
from yanglao.accounts.scope import home_region, require_region
from yanglao.core.permissions import Perm
from yanglao.regions import codes
from yanglao.regions.models import Level, Region
from yanglao.regions.selectors import region_ancestors, region_get
from yanglao.registry import groups
from yanglao.registry.enums import Status
from yanglao.registry.selectors import elders_visible


@dataclass
class ChildRow:
    region: Region
    figures: dict[str, int] = field(default_factory=dict)


@dataclass
class Dashboard:
    region: Region
    breadcrumbs: list[Region]
    columns: list[tuple[str, Any]]  # (key, label)
    rows: list[ChildRow]
    totals: dict[str, int]


def _count_by_child(queryset, column: str, child_length: int) -> dict[str, int]:
    rows = (
        queryset.annotate(child=Substr(column, 1, child_length))
        .values("child")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["child"]: row["n"] for row in rows}


def dashboard(user: Any, region_code: str | None = None) -> Dashboard:
    region = region_get(region_code) if region_code else home_region(user)
    require_region(user, region.code)
    children = list(Region.objects.filter(parent=region).order_by("code"))
    rows = [ChildRow(region=child) for child in children]
    columns: list[tuple[str, Any]] = []
    if children:
        length = len(children[0].code)
        under = codes.within(region.code)
        figures = {
            "streets": _count_by_child(Region.objects.filter(under, level=Level.STREET), "code", length),
            "communities": _count_by_child(
                Region.objects.filter(under, level=Level.COMMUNITY), "code", length
            ),
            "users": _count_by_child(
                User.objects.filter(codes.within(region.code, "region_id"), is_active=True),
                "region_id",
                length,
            ),
            **_elder_counts(user, region.code, length),
        }
        columns = [
            ("streets", _("街道乡镇")),
            ("communities", _("社区村")),
            ("elders", _("在册老人")),
            ("gaoling", _("高龄老人")),
            ("alone", _("独居老人")),
            ("users", _("平台用户")),
        ]
        if children[0].level in (Level.STREET, Level.COMMUNITY):
            figures.pop("streets")
            columns = columns[1:]
        for row in rows:
            row.figures = {key: figures[key].get(row.region.code, 0) for key, _label in columns}
    totals = {key: sum(r.figures[key] for r in rows) for key, _label in columns}
    return Dashboard(
        region=region,
        breadcrumbs=[r for r in region_ancestors(region) if _visible(user, r)],
        columns=columns,
        rows=rows,
        totals=totals,
    )


def _elder_counts(user: Any, code: str, length: int) -> dict[str, dict[str, int]]:
    """Active elders, 高龄 and 独居 per child region, in the user's scope (none for roles without it)."""
    if not user.has_perm(Perm.ELDERS_VIEW):
        return {"elders": {}, "gaoling": {}, "alone": {}}
    today = timezone.localdate()
    active = elders_visible(user).filter(codes.within(code, "residence_region_id"), status=Status.ACTIVE)
    return {
        "elders": _count_by_child(active, "residence_region_id", length),
        "gaoling": _count_by_child(
            active.filter(groups.condition("gaoling", today)), "residence_region_id", length
        ),
        "alone": _count_by_child(
            active.filter(groups.condition("alone", today)), "residence_region_id", length
        ),
    }


def _visible(user: Any, region: Region) -> bool:
    """An ancestor is shown as a link only when it lies inside the user's own region."""
    return user.is_superuser or bool(user.region_id) and region.code.startswith(user.region_id)
