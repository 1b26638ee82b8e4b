from __future__ import annotations

from ninja import Router, Schema

from yanglao.regions.models import Region
from yanglao.regions.selectors import region_ancestors, region_children, region_get

router = Router(tags=["regions"])


class RegionRef(Schema):
    code: str
    name: str
    level: str


class RegionOut(Schema):
    code: str
    padded_code: str
    name: str
    level: str
    level_label: str
    parent: RegionRef | None
    path: list[RegionRef]
    latitude: float | None
    longitude: float | None
    children_count: int


class ChildOut(Schema):
    code: str
    name: str
    level: str
    children_count: int


def _ref(region: Region) -> dict:
    return {"code": region.code, "name": region.name, "level": region.level}


@router.get("/{code}", response=RegionOut, summary="One administrative division")
def get_region(request, code: str):
    """`code` may be the natural code (2/4/6/9/12 digits) or the 12-digit zero-padded form."""
    region = region_get(code, field="code")
    ancestors = region_ancestors(region)
    return {
        "code": region.code,
        "padded_code": region.padded_code,
        "name": region.name,
        "level": region.level,
        "level_label": str(region.get_level_display()),
        "parent": _ref(ancestors[-1]) if ancestors else None,
        "path": [_ref(r) for r in ancestors],
        "latitude": region.latitude,
        "longitude": region.longitude,
        "children_count": region.children.count(),
    }


@router.get("/{code}/children", response=list[ChildOut], summary="The divisions directly under one")
def get_children(request, code: str):
    return [
        {"code": r.code, "name": r.name, "level": r.level, "children_count": r.child_count}
        for r in region_children(code)
    ]
