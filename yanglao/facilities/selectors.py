"""Reads of facilities. Facilities are not personal data, but staff see those of their own region (and an
organisation the facilities it operates); a city administrator sees the whole city.

Two reads serve other apps and are not scoped to a user: `facilities_near` (the nearest service point
to a call button or a home) and `facilities_serving` (which facilities offer a service to a region).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, FloatField, Q, QuerySet, Sum, TextField
from django.db.models.functions import Cast, NullIf

from yanglao.core.errors import InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.facilities.enums import LEVEL_CODE_LENGTH, OperatingModel, ServiceCode, Status
from yanglao.facilities.models import LATITUDE_RANGE, LONGITUDE_RANGE, Facility, FacilityKind
from yanglao.regions import codes

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
MAX_RADIUS_M = 200_000
NO_GRADE = "none"  # the grade filter's value for facilities without a grade

SORTS = {
    "kind": ("kind__order", "region_id", "name", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "region": ("region_id", "name", "id"),
    "-region": ("-region_id", "-name", "-id"),
    "beds": ("beds", "id"),
    "-beds": ("-beds", "-id"),
    "occupancy": (F("occupancy").asc(nulls_last=True), "id"),
    "-occupancy": (F("occupancy").desc(nulls_last=True), "-id"),
    "grade": (F("grade").asc(nulls_last=True), "id"),
    "-grade": (F("grade").desc(nulls_last=True), "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}


def facilities_visible(actor: Any) -> QuerySet[Facility]:
    """Every facility the actor may see: under their region, plus those their organisation operates."""
    if not (actor.has_perm(Perm.DASHBOARD_VIEW) or actor.has_perm(Perm.ELDERS_VIEW)):
        raise PermissionDenied("您的角色没有查看养老设施的权限")
    queryset = Facility.objects.select_related("kind", "region", "operator")
    if actor.is_superuser:
        return queryset
    condition = Q(pk__in=[])
    if actor.region_id:
        condition |= codes.within(actor.region_id, "region_id")
    if actor.organisation_id:
        condition |= Q(operator_id=actor.organisation_id)
    return queryset.filter(condition)


def facility_get(actor: Any, facility_id: int) -> Facility:
    """One facility in the actor's view; outside it the answer is the same as for no such facility."""
    found = facilities_visible(actor).filter(pk=facility_id).first()
    if found is None:
        raise NotFound("未找到该设施，或不在您的管辖范围内")
    return found


def offers(service: str) -> Q:
    """Facilities whose service list holds `service`. The list is JSON text on SQLite and jsonb on
    PostgreSQL; both print a code as "code" in quotes, and no code contains another's quoted form."""
    return Q(services_text__contains=f'"{service}"')


def _with_services_text(queryset: QuerySet[Facility]) -> QuerySet[Facility]:
    return queryset.annotate(services_text=Cast("services", TextField()))


@dataclass
class FacilityFilter:
    """The filters of the list page and the API: one meaning everywhere."""

    region: str = ""
    kinds: list[str] = field(default_factory=list)
    operating_models: list[str] = field(default_factory=list)
    grades: list[str] = field(default_factory=list)  # "1"…"5", or "none" for not graded
    ltc: bool | None = None
    statuses: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    q: str = ""
    sort: str = "kind"

    def check(self) -> FacilityFilter:
        """Refuse unknown values with the field named, so a typo never silently lists everything.
        Empty values (a select left at 全部) mean no condition."""
        for name, allowed in (
            ("kinds", set(FacilityKind.objects.values_list("code", flat=True))),
            ("operating_models", set(OperatingModel.values)),
            ("grades", {str(n) for n in range(1, 6)} | {NO_GRADE}),
            ("statuses", set(Status.values)),
            ("services", set(ServiceCode.values)),
        ):
            values = [str(v).strip() for v in getattr(self, name) or [] if str(v).strip()]
            bad = [v for v in values if v not in allowed]
            if bad:
                raise InvalidInput(f"筛选条件无效：{'、'.join(bad)}", field=name)
            setattr(self, name, values)
        if self.sort not in SORTS:
            raise InvalidInput(f"排序方式“{self.sort}”无效，可用：{'、'.join(SORTS)}", field="sort")
        if self.region:
            self.region = codes.normalize(self.region, field="region")
        self.q = self.q.strip()
        return self

    @property
    def narrowed(self) -> bool:
        """Whether any condition is set (the empty state then says to widen the search)."""
        return bool(
            self.region
            or self.kinds
            or self.operating_models
            or self.grades
            or self.ltc is not None
            or self.statuses
            or self.services
            or self.q
        )


def facility_list(actor: Any, filters: FacilityFilter) -> QuerySet[Facility]:
    filters.check()
    queryset = facilities_visible(actor)
    if filters.region:
        queryset = queryset.filter(codes.within(filters.region, "region_id"))
    if filters.kinds:
        queryset = queryset.filter(kind_id__in=filters.kinds)
    if filters.operating_models:
        queryset = queryset.filter(operating_model__in=filters.operating_models)
    if filters.grades:
        numbers = [int(g) for g in filters.grades if g != NO_GRADE]
        condition = Q(grade__in=numbers)
        if NO_GRADE in filters.grades:
            condition |= Q(grade__isnull=True)
        queryset = queryset.filter(condition)
    if filters.ltc is not None:
        queryset = queryset.filter(ltc_designated=filters.ltc)
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.services:
        queryset = _with_services_text(queryset)
        for service in filters.services:  # several services: facilities offering all of them
            queryset = queryset.filter(offers(service))
    if filters.q:
        queryset = queryset.filter(Q(name__contains=filters.q) | Q(address__contains=filters.q))
    queryset = queryset.annotate(occupancy=Cast("occupied_beds", FloatField()) / NullIf(F("beds"), 0))
    return queryset.order_by(*SORTS[filters.sort])


def totals(queryset: QuerySet[Facility]) -> dict[str, Any]:
    """Facilities, beds, occupied beds and the overall occupancy rate (床位使用率) of a list."""
    row = queryset.order_by().aggregate(beds=Sum("beds"), occupied=Sum("occupied_beds"))
    beds, occupied = row["beds"] or 0, row["occupied"] or 0
    return {
        "count": queryset.count(),
        "beds": beds,
        "occupied": occupied,
        "occupancy_percent": round(100 * occupied / beds, 1) if beds else None,
    }


def kinds() -> QuerySet[FacilityKind]:
    return FacilityKind.objects.order_by("order", "code")


# --- for other apps -------------------------------------------------------------------------------
def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _check_point(lat: float, lng: float, radius_m: float) -> None:
    if lat is None or not LATITUDE_RANGE[0] <= lat <= LATITUDE_RANGE[1]:
        raise InvalidInput(
            f"纬度应在{LATITUDE_RANGE[0]}到{LATITUDE_RANGE[1]}之间，现为{lat}", field="latitude"
        )
    if lng is None or not LONGITUDE_RANGE[0] <= lng <= LONGITUDE_RANGE[1]:
        raise InvalidInput(
            f"经度应在{LONGITUDE_RANGE[0]}到{LONGITUDE_RANGE[1]}之间，现为{lng}", field="longitude"
        )
    if radius_m is None or not 0 < radius_m <= MAX_RADIUS_M:
        raise InvalidInput(f"半径应大于0、不超过{MAX_RADIUS_M}米，现为{radius_m}", field="radius_m")


def facilities_near(
    lat: float,
    lng: float,
    radius_m: float,
    kinds: Iterable[str] | None = None,
    *,
    statuses: Iterable[str] = (Status.OPERATING,),
) -> list[Facility]:
    """Facilities within `radius_m` metres of a point, nearest first, each with `.distance_m`.

    The database narrows to the bounding box of the circle (an indexed range on latitude and
    longitude); the exact great-circle distance is computed here for the few rows left."""
    _check_point(lat, lng, radius_m)
    angle = radius_m / EARTH_RADIUS_M
    d_lat = math.degrees(angle)
    # The widest longitude of a spherical cap is not at its centre's latitude: asin(sin a / cos φ).
    cos_lat = math.cos(math.radians(lat))
    d_lng = math.degrees(math.asin(math.sin(angle) / cos_lat)) if math.sin(angle) < cos_lat else 180.0
    queryset = Facility.objects.filter(
        latitude__gte=lat - d_lat,
        latitude__lte=lat + d_lat,
        longitude__gte=lng - d_lng,
        longitude__lte=lng + d_lng,
        status__in=list(statuses),
    ).select_related("kind", "region", "operator")
    if kinds:
        queryset = queryset.filter(kind_id__in=list(kinds))
    found = []
    for facility in queryset:
        distance = distance_m(lat, lng, facility.latitude, facility.longitude)
        if distance <= radius_m:
            facility.distance_m = distance
            found.append(facility)
    found.sort(key=lambda f: (f.distance_m, f.pk))
    return found


def facilities_serving(region_code: str, service: str) -> QuerySet[Facility]:
    """Operating facilities that offer `service` to people living in `region_code`: those located in
    it, and those whose kind serves a wider area containing it (a district centre serves its district,
    a street centre its street; LEVEL_CODE_LENGTH)."""
    code = codes.normalize(region_code, field="region")
    if service not in ServiceCode.values:
        raise InvalidInput(f"服务项目“{service}”不在服务目录中", field="service")
    condition = codes.within(code, "region_id")
    for level, length in LEVEL_CODE_LENGTH.items():
        if length <= len(code):
            condition |= Q(kind__level=level) & codes.within(code[:length], "region_id")
    return (
        _with_services_text(Facility.objects.filter(condition, status=Status.OPERATING))
        .filter(offers(service))
        .select_related("kind", "region", "operator")
        .order_by("kind__order", "region_id", "name")
    )
