"""Where people live: the loaded communities under a root with their districts, the weight of each
(the district's census population shared out between its residents' and villagers' committees) and a
stable map position around the district's centroid. The only part of the draw that reads the
database, and the part the other demos reuse (facilities/demo.py takes its community centres)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from yanglao.core.errors import InvalidInput
from yanglao.regions import codes
from yanglao.regions.models import Level, Region
from yanglao.registry.generator.shape import (
    DISTRICT_POPULATION,
    RADIUS_RURAL_KM,
    RADIUS_URBAN_KM,
    URBAN_WEIGHT,
)


# --- where people live ---------------------------------------------------------------------------
@dataclass
class Places:
    """The communities under a root, their districts and a map position for each community."""

    codes: np.ndarray  # community codes (str), sorted
    district: np.ndarray  # index into district_codes
    weight: np.ndarray  # probability of a household living there
    urban: np.ndarray  # bool
    labels: list[str]  # "<street><community>" for addresses
    latitude: np.ndarray  # community centre, NaN when no centroid is known
    longitude: np.ndarray
    district_codes: list[str]
    district_start: np.ndarray  # first community index of each district (communities are sorted)
    district_size: np.ndarray


def _short_name(name: str) -> str:
    for suffix, replacement in (
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居民委员会", ""),
        ("居委会", ""),
        ("村民委员会", "村"),
        ("村委会", "村"),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)] + replacement
    return name


def _unit_hash(values: np.ndarray, salt: int) -> np.ndarray:
    """A stable number in [0, 1) per integer (splitmix64), so a community keeps its place on the map
    whatever the seed or the set of loaded communities."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15) * np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _centroid_fallback(root: str) -> tuple[float, float] | None:
    candidates = [root[:n] for n in (2, 4, 6, 9) if n <= len(root)]
    # The nearest ancestor with a centre: the longest code, first in descending text order.
    found = (
        Region.objects.filter(code__in=candidates, latitude__isnull=False, longitude__isnull=False)
        .order_by("-code")
        .values_list("latitude", "longitude")
        .first()
    )
    if found is None or found[0] is None or found[1] is None:
        return None
    return found[0], found[1]


def places_under(root: str) -> Places:
    """The loaded communities under `root` (virtual "虚拟社区" of development zones left out)."""
    root = codes.normalize(root, field="root")
    regions = Region.objects.filter(codes.within(root))
    rows = sorted(
        (code, name, parent)
        for code, name, parent in regions.filter(level=Level.COMMUNITY).values_list(
            "code", "name", "parent_id"
        )
        if "虚拟" not in name
    )
    if not rows:
        raise InvalidInput(
            f"区划“{root}”下没有已导入的社区，请先运行 yanglao load_regions --root {root[:4]}", field="root"
        )
    streets = dict(regions.filter(level=Level.STREET).values_list("code", "name"))
    districts = {
        code: (lat, lng)
        for code, lat, lng in Region.objects.filter(
            code__in={c[:6] for c, _, _ in rows}, level=Level.DISTRICT
        ).values_list("code", "latitude", "longitude")
    }
    fallback = _centroid_fallback(root)
    district_codes = sorted({c[:6] for c, _, _ in rows})
    index = {code: i for i, code in enumerate(district_codes)}
    community_codes = np.array([c for c, _, _ in rows])
    district = np.array([index[c[:6]] for c, _, _ in rows], dtype=np.int64)
    kind = np.array([int(c[9]) for c, _, _ in rows])
    urban = kind <= 1
    within = np.where(urban, URBAN_WEIGHT, 1.0)
    per_district = np.bincount(district, weights=within, minlength=len(district_codes))
    if all(code in DISTRICT_POPULATION for code in district_codes):
        people = np.array([DISTRICT_POPULATION[code] for code in district_codes])
    else:
        people = per_district  # no table for this city: as populous as its communities say
    weight = within * (people / per_district)[district]
    weight /= weight.sum()

    # Community centres around the district centroid (communities have no coordinates of their own yet).
    rural_share = 1 - np.bincount(
        district, weights=urban.astype(np.float64), minlength=len(district_codes)
    ) / np.bincount(district, minlength=len(district_codes))
    radius_km = (RADIUS_URBAN_KM + (RADIUS_RURAL_KM - RADIUS_URBAN_KM) * rural_share)[district]
    centre = [districts.get(code, (None, None)) for code in district_codes]
    centre = [c if c[0] is not None else (fallback or (math.nan, math.nan)) for c in centre]
    d_lat = np.array([c[0] for c in centre], dtype=np.float64)[district]
    d_lng = np.array([c[1] for c in centre], dtype=np.float64)[district]
    numbers = community_codes.astype(np.int64)
    distance = radius_km * np.sqrt(_unit_hash(numbers, 1))
    angle = 2 * math.pi * _unit_hash(numbers, 2)
    latitude = d_lat + distance * np.sin(angle) / 110.574
    longitude = d_lng + distance * np.cos(angle) / (111.320 * np.cos(np.radians(d_lat)))

    starts = np.searchsorted(district, np.arange(len(district_codes)))
    return Places(
        codes=community_codes,
        district=district,
        weight=weight,
        urban=urban,
        labels=[streets.get(parent, "") + _short_name(name) for _, name, parent in rows],
        latitude=latitude,
        longitude=longitude,
        district_codes=district_codes,
        district_start=starts,
        district_size=np.bincount(district, minlength=len(district_codes)),
    )
