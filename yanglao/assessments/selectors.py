"""Reads of assessments, always through the actor's scope: region for the community, district and city;
the assigned organisation for assessors (an assessor sees only their organisation's assignments)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from yanglao.accounts.models import Organisation
from yanglao.accounts.scope import people, require_perm
from yanglao.assessments.enums import OPEN, Level, RequestKind, Status
from yanglao.assessments.models import Assessment
from yanglao.core.errors import InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.regions import codes
from yanglao.regions.models import LEVEL_BY_LENGTH, Region
from yanglao.registry.enums import Status as ElderStatus
from yanglao.registry.models import Elder

SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "valid_until": ("valid_until", "id"),
    "name": ("elder__name", "id"),
}


def assessments_visible(actor: Any) -> QuerySet[Assessment]:
    require_perm(actor, Perm.ELDERS_VIEW)
    return people(
        actor,
        Assessment.objects.select_related("elder", "elder__residence_region", "organisation"),
        region_field="elder__residence_region_id",
        organisation_field="organisation_id",
    )


def assessment_get(actor: Any, assessment_id: int) -> Assessment:
    found = assessments_visible(actor).filter(pk=assessment_id).first()
    if found is None:
        raise NotFound("未找到该评估，或不在您的管辖范围内")
    return found


@dataclass
class AssessmentFilter:
    region: str = ""
    statuses: list[str] | None = None
    kinds: list[str] | None = None
    levels: list[str] | None = None
    q: str = ""
    elder_id: int | None = None
    organisation_id: int | None = None
    open_only: bool = False
    sort: str = "-created"

    def check(self) -> AssessmentFilter:
        for name, param, allowed in (
            ("statuses", "status", Status.values),
            ("kinds", "kind", RequestKind.values),
            ("levels", "level", Level.values),
        ):
            values = [v for v in (getattr(self, name) or []) if v]
            bad = [v for v in values if v not in allowed]
            if bad:
                raise InvalidInput(f"筛选条件无效：{'、'.join(bad)}", field=param)
            setattr(self, name, values)
        if self.sort not in SORTS:
            raise InvalidInput(f"排序方式“{self.sort}”无效，可用：{'、'.join(SORTS)}", field="sort")
        if self.region:
            self.region = codes.normalize(self.region, field="region")
        return self


def assessment_list(actor: Any, filters: AssessmentFilter) -> QuerySet[Assessment]:
    filters.check()
    queryset = assessments_visible(actor)
    if filters.region:
        queryset = queryset.filter(codes.within(filters.region, "elder__residence_region_id"))
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.open_only:
        queryset = queryset.filter(status__in=OPEN)
    if filters.kinds:
        queryset = queryset.filter(kind__in=filters.kinds)
    if filters.levels:
        queryset = queryset.filter(final_level__in=filters.levels)
    if filters.elder_id:
        queryset = queryset.filter(elder_id=filters.elder_id)
    if filters.organisation_id:
        queryset = queryset.filter(organisation_id=filters.organisation_id)
    if filters.q:
        queryset = queryset.filter(elder__name__contains=filters.q.strip())
    return queryset.order_by(*SORTS[filters.sort])


def assessor_organisations(region_code: str) -> QuerySet[Organisation]:
    """Active assessment organisations whose area contains the region (for the assignment choice)."""
    prefixes = [region_code[:n] for n in sorted(set(LEVEL_BY_LENGTH)) if n <= len(region_code)]
    return Organisation.objects.filter(
        kind=Organisation.Kind.ASSESSOR, is_active=True, region_id__in=prefixes
    )


def effective_level(elder_id: int) -> Assessment | None:
    """The elder's ability assessment in force today (None: never assessed, or expired)."""
    today = timezone.localdate()
    return effective_levels(on=today).filter(elder_id=elder_id).first()


def effective_levels(*, on: date | None = None) -> QuerySet[Assessment]:
    """Set-based: every elder's level in force on a date, one row per elder (for entitlement runs).
    Only the current effective result counts, within its validity."""
    on = on or timezone.localdate()
    return Assessment.objects.filter(status=Status.EFFECTIVE, valid_from__lte=on, valid_until__gte=on)


def history(actor: Any, elder: Elder) -> list[Assessment]:
    return list(
        assessments_visible(actor)
        .filter(elder=elder)
        .select_related("assessor_1", "assessor_2", "reviewed_by", "requested_by")
        .order_by("-created_at", "-id")
    )


@dataclass
class LevelRow:
    region: Region | None
    code: str
    counts: dict[str, int]
    not_assessed: int
    elders: int

    @property
    def assessed(self) -> int:
        return sum(self.counts.values())


def level_statistics(actor: Any, region_code: str) -> tuple[Region, list[LevelRow], LevelRow]:
    """Elders with an effective level, by level, for each child region of `region_code`, plus those
    in the registry without one. Two grouped queries, whatever the population. For those who request
    or review assessments (the figures are counts by region, not people)."""
    if not (actor.has_perm(Perm.ASSESSMENTS_REVIEW) or actor.has_perm(Perm.ASSESSMENTS_REQUEST)):
        raise PermissionDenied("您的角色没有查看评估统计的权限")
    region = Region.objects.filter(code=codes.normalize(region_code, field="region")).first()
    if region is None:
        raise NotFound(f"区域 {region_code} 不存在", field="region")
    if not actor.is_superuser and not (actor.region_id and region.code.startswith(actor.region_id)):
        raise NotFound("该区域不在您的管辖范围内", field="region")
    children = list(Region.objects.filter(parent=region).order_by("code"))
    width = len(children[0].code) if children else len(region.code)
    elders = people(actor, Elder.objects.all(), region_field="residence_region_id").filter(
        codes.within(region.code, "residence_region_id"),
        status__in=[ElderStatus.ACTIVE, ElderStatus.IN_HOSPITAL, ElderStatus.IN_INSTITUTION],
    )
    population = dict(
        elders.annotate(part=Substr("residence_region_id", 1, width))
        .values_list("part")
        .annotate(n=Count("id"))
    )
    assessed = (
        Assessment.objects.filter(status=Status.EFFECTIVE, elder__in=elders)
        .annotate(part=Substr("elder__residence_region_id", 1, width))
        .values("part", "final_level")
        .annotate(n=Count("id"))
    )
    by_part: dict[str, dict[str, int]] = {}
    for row in assessed:
        by_part.setdefault(row["part"], {})[row["final_level"]] = row["n"]
    rows = []
    for child in children or [region]:
        counts = {level: by_part.get(child.code, {}).get(level, 0) for level in Level.values}
        total = population.get(child.code, 0)
        rows.append(LevelRow(child, child.code, counts, total - sum(counts.values()), total))
    totals = {level: sum(r.counts[level] for r in rows) for level in Level.values}
    overall = LevelRow(
        region, region.code, totals, sum(r.not_assessed for r in rows), sum(r.elders for r in rows)
    )
    return region, rows, overall


def counts_for(actor: Any) -> dict[str, int]:
    """How much work waits for the actor (the list's tabs)."""
    visible = assessments_visible(actor)
    return {
        "requested": visible.filter(status=Status.REQUESTED).count(),
        "open": visible.filter(status__in=OPEN).count(),
        "submitted": visible.filter(status=Status.SUBMITTED).count(),
    }
