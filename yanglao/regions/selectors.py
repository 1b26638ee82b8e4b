"""Reads of administrative divisions. Divisions are public facts, so these are not scoped to a user."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from yanglao.core.errors import NotFound
from yanglao.regions import codes
from yanglao.regions.models import Region


def region_get(code: str, *, field: str = "region") -> Region:
    normal = codes.normalize(code, field=field)
    try:
        return Region.objects.get(code=normal)
    except Region.DoesNotExist:
        raise NotFound(f"行政区划代码“{code}”不存在（尚未导入或已撤销）", field=field) from None


def region_children(code: str) -> QuerySet[Region]:
    parent = region_get(code)
    return Region.objects.filter(parent=parent).annotate(child_count=Count("children")).order_by("code")


def region_ancestors(region: Region) -> list[Region]:
    """From the top of the loaded tree down to the region's parent."""
    by_code = Region.objects.in_bulk(region.ancestor_codes)
    return [by_code[c] for c in region.ancestor_codes if c in by_code]


def regions_under(code: str) -> QuerySet[Region]:
    return Region.objects.filter(codes.within(codes.normalize(code)))


def level_counts(code: str) -> dict[str, int]:
    """How many divisions of each level lie under `code` (itself excluded)."""
    rows = regions_under(code).exclude(code=code).values("level").annotate(n=Count("code"))
    return {row["level"]: row["n"] for row in rows}
