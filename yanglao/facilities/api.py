"""The facilities API (the pages in views.py call the same services and selectors).

(No `from __future__ import annotations` here: django-ninja reads `Query[...]` parameters at import.)"""

from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from yanglao.facilities import selectors, services
from yanglao.facilities.models import Facility

router = Router(tags=["facilities"])


class KindOut(Schema):
    code: str
    name: str
    level: str = Field(description="district, street, community or village")
    order: int
    has_beds: bool = Field(description="beds required; refused when false")
    gradable: bool = Field(description="GB/T 37276-2018 grade 1–5 may be recorded")
    requires_filing: bool = Field(description="a facility without a filing number is flagged 待备案")
    rural: bool
    min_floor_area_m2: Decimal | None = Field(description="floor area required and at least this")
    required_services: list[str]
    typical_services: list[str]
    description: str


@router.get("/kinds", response=list[KindOut], summary="Facility kinds and their rules")
def list_kinds(request):
    """The kinds of DOMAIN.md §4, as loaded from kinds.yaml (a city administrator may change the rules)."""
    return list(selectors.kinds())


class FacilityOut(Schema):
    id: int
    name: str
    kind: str = Field(alias="kind_id")
    kind_name: str
    region: str = Field(alias="region_id")
    region_name: str
    address: str
    latitude: float | None
    longitude: float | None
    floor_area_m2: Decimal | None
    beds: int
    occupied_beds: int
    occupancy_rate: float | None = Field(
        description="床位使用率: occupied_beds / beds, e.g. 0.75 (null without beds)"
    )
    operator: int | None = Field(None, alias="operator_id")
    operator_name: str | None
    operating_model: str = Field(description="public_public, public_private, private_subsidised or private")
    services: list[str]
    opening_hours: str
    filing_number: str
    filing_date: date | None
    filing_missing: bool = Field(description="the kind requires filing and no filing number is recorded")
    grade: int | None
    grade_date: date | None
    ltc_designated: bool
    monthly_fee_min: Decimal | None
    monthly_fee_max: Decimal | None
    status: str = Field(description="operating, suspended or closed")
    status_since: date | None
    status_reason: str
    note: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_kind_name(obj: Facility) -> str:
        return obj.kind.name

    @staticmethod
    def resolve_region_name(obj: Facility) -> str:
        return obj.region.name

    @staticmethod
    def resolve_operator_name(obj: Facility) -> str | None:
        return obj.operator.name if obj.operator_id else None


_FACTS_DOC = {
    "kind": "kind code (GET /kinds) or its Chinese name",
    "region": "division code where the facility lies, at the kind's level or below",
    "operator": "organisation id; required for public_private, private_subsidised and private",
    "operating_model": "public_public 公办公营, public_private 公建民营, private_subsidised 民办公助, private 民办",
    "services": "codes of the service catalogue: meals, bathing, cleaning, medical, mobility, shopping, "
    "day_care, personal_care, rehabilitation, escort, companionship, repair",
    "grade": "1–5 (GB/T 37276-2018), with grade_date; only for kinds that are graded",
}


class FacilityIn(Schema):
    name: str
    kind: str = Field(description=_FACTS_DOC["kind"])
    region: str = Field(description=_FACTS_DOC["region"])
    operating_model: str = Field(description=_FACTS_DOC["operating_model"])
    address: str = ""
    latitude: float | None = Field(None, description="WGS-84, 3.8–53.6")
    longitude: float | None = Field(None, description="WGS-84, 73.5–135.1")
    floor_area_m2: Decimal | None = None
    beds: int | None = Field(None, description="required for kinds with beds; refused for the others")
    occupied_beds: int | None = Field(None, description="at most beds")
    operator: int | None = Field(None, description=_FACTS_DOC["operator"])
    services: list[str] = Field([], description=_FACTS_DOC["services"])
    opening_hours: str = ""
    filing_number: str = ""
    filing_date: date | None = Field(None, description="with filing_number (备案)")
    grade: int | None = Field(None, description=_FACTS_DOC["grade"])
    grade_date: date | None = None
    ltc_designated: bool = Field(False, description="long-term-care insurance designated (长护险定点)")
    monthly_fee_min: Decimal | None = None
    monthly_fee_max: Decimal | None = Field(None, description="at least monthly_fee_min")
    note: str = ""


class FacilityPatch(Schema):
    name: str | None = None
    kind: str | None = Field(None, description=_FACTS_DOC["kind"])
    region: str | None = Field(None, description=_FACTS_DOC["region"])
    operating_model: str | None = Field(None, description=_FACTS_DOC["operating_model"])
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    floor_area_m2: Decimal | None = None
    beds: int | None = None
    occupied_beds: int | None = None
    operator: int | None = Field(None, description=_FACTS_DOC["operator"])
    services: list[str] | None = Field(None, description=_FACTS_DOC["services"])
    opening_hours: str | None = None
    filing_number: str | None = None
    filing_date: date | None = None
    grade: int | None = Field(None, description=_FACTS_DOC["grade"])
    grade_date: date | None = None
    ltc_designated: bool | None = None
    monthly_fee_min: Decimal | None = None
    monthly_fee_max: Decimal | None = None
    note: str | None = None


class StatusIn(Schema):
    status: str = Field(description="operating, suspended or closed")
    reason: str


class FacilityFilters(Schema):
    region: str = Field("", description="division code: facilities in it and below")
    kind: list[str] = Field([], description="kind codes (repeatable)")
    operating_model: list[str] = []
    grade: list[str] = Field([], description="1–5, or none for not graded (repeatable)")
    ltc: bool | None = Field(None, description="long-term-care insurance designated")
    status: list[str] = []
    service: list[str] = Field([], description="facilities offering all of these services")
    q: str = Field("", description="part of the name or the address")
    sort: str = Field(
        "kind", description="kind, name, region, beds, occupancy, grade, updated; - for descending"
    )


@router.get("", response=list[FacilityOut], summary="Facilities in the caller's region")
@paginate(PageNumberPagination, page_size=50)
def list_facilities(request, filters: Query[FacilityFilters]):
    return selectors.facility_list(
        request.user,
        selectors.FacilityFilter(
            region=filters.region,
            kinds=filters.kind,
            operating_models=filters.operating_model,
            grades=filters.grade,
            ltc=filters.ltc,
            statuses=filters.status,
            services=filters.service,
            q=filters.q,
            sort=filters.sort,
        ),
    )


@router.post("", response={201: FacilityOut}, summary="Register a facility")
def create_facility(request, body: FacilityIn):
    """The kind's rules apply: beds required or refused, grade only for graded kinds, a minimum floor
    area, required services. Every problem → 422 naming its field; outside the caller's region → 403;
    a second facility of the same name in the same division or a reused filing number → 409."""
    facility = services.facility_create(actor=request.user, **body.dict())
    return Status(201, selectors.facility_get(request.user, facility.pk))


@router.get("/{facility_id}", response=FacilityOut, summary="One facility")
def get_facility(request, facility_id: int):
    return selectors.facility_get(request.user, facility_id)


@router.patch("/{facility_id}", response=FacilityOut, summary="Change a facility's facts")
def patch_facility(request, facility_id: int, body: FacilityPatch):
    """Only the fields given change (null clears an optional one); the rules are checked on the result."""
    facility = selectors.facility_get(request.user, facility_id)
    services.facility_update(actor=request.user, facility=facility, **body.dict(exclude_unset=True))
    return selectors.facility_get(request.user, facility_id)


@router.post("/{facility_id}/status", response=FacilityOut, summary="Suspend, close or reopen a facility")
def set_status(request, facility_id: int, body: StatusIn):
    facility = selectors.facility_get(request.user, facility_id)
    services.facility_set_status(
        actor=request.user, facility=facility, status=body.status, reason=body.reason
    )
    return selectors.facility_get(request.user, facility_id)
