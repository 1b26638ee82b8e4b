"""The registry's JSON API: elders and their life events. Same services and filters as the pages.

(No `from __future__ import annotations` here: django-ninja reads `Query[...]` parameters at import.)"""

from datetime import date, datetime

from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from yanglao.accounts.scope import require_perm
from yanglao.core import pii
from yanglao.core.permissions import Perm
from yanglao.registry import groups, selectors, services
from yanglao.registry.models import Elder, LifeEvent

router = Router(tags=["elders"])


class ElderIn(Schema):
    name: str
    id_number: str = Field(description="18 digits, or a legacy 15-digit number (converted)")
    residence_region: str = Field(description="12-digit community (社区/村) code")
    phone: str = ""
    address: str = ""
    hukou_region: str = ""
    living_arrangement: str = Field("", description="code or Chinese label: alone/独居, empty_nest/空巢, …")
    economic_status: str = ""
    marital_status: str = ""
    children_count: int | None = None
    special_family: bool = False
    disability_category: str = ""
    disability_grade: int | None = None
    dementia: bool = False
    family_doctor: str = ""
    latitude: float | None = None
    longitude: float | None = None


class ElderPatch(Schema):
    name: str | None = None
    id_number: str | None = None
    residence_region: str | None = None
    phone: str | None = None
    address: str | None = None
    hukou_region: str | None = None
    living_arrangement: str | None = None
    economic_status: str | None = None
    marital_status: str | None = None
    children_count: int | None = None
    special_family: bool | None = None
    disability_category: str | None = None
    disability_grade: int | None = None
    dementia: bool | None = None
    family_doctor: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class ElderOut(Schema):
    id: int
    name: str
    id_number: str = Field(description="masked, unless unmasked=true was asked by a caller with pii.view")
    phone: str
    sex: str
    birth_date: date
    age: int
    age_band: str
    groups: list[str]
    residence_region: str
    residence_region_name: str
    address: str
    living_arrangement: str
    economic_status: str
    status: str
    status_since: date | None
    death_date: date | None
    updated_at: datetime


class EventIn(Schema):
    kind: str
    on: date
    note: str = ""
    new_region: str | None = None
    reverses: int | None = Field(None, description="id of the event a correction reverses")


class EventOut(Schema):
    id: int
    kind: str
    on: date
    note: str
    source: str
    new_region: str | None = Field(None, alias="new_region_id")
    reverses: int | None = Field(None, alias="reverses_id")
    status_before: str
    created_at: datetime


class ElderFilters(Schema):
    region: str = ""
    q: str = ""
    id_number: str = ""
    phone: str = ""
    age_band: list[str] = []
    group: list[str] = []
    status: list[str] = []
    economic_status: list[str] = []
    living_arrangement: list[str] = []
    sex: str = ""
    sort: str = "name"
    unmasked: bool = False


def _out(request, elder: Elder, member: set[str] | None = None, clear: bool = False) -> dict:
    today = timezone.localdate()
    if member is None:
        row = groups.annotate(Elder.objects.filter(pk=elder.pk), today).values().first() or {}
        member = {g.code for g in groups.GROUPS if row.get(f"g_{g.code}")}
    return {
        "id": elder.pk,
        "name": elder.name,
        "id_number": elder.id_number if clear else pii.mask_id_number(elder.id_number),
        "phone": elder.phone if clear else pii.mask_phone(elder.phone),
        "sex": elder.sex,
        "birth_date": elder.birth_date,
        "age": groups.age_on(elder.birth_date, today),
        "age_band": groups.age_band_of(elder.birth_date, today),
        "groups": sorted(member),
        "residence_region": elder.residence_region_id,
        "residence_region_name": elder.residence_region.name,
        "address": elder.address,
        "living_arrangement": elder.living_arrangement,
        "economic_status": elder.economic_status,
        "status": elder.status,
        "status_since": elder.status_since,
        "death_date": elder.death_date,
        "updated_at": elder.updated_at,
    }


@router.post("", response={201: ElderOut}, summary="Register an elder")
def create_elder(request, body: ElderIn):
    elder = services.elder_register(
        actor=request.user, **{k: v for k, v in body.dict().items() if v not in ("", None)}
    )
    return Status(201, _out(request, selectors.elder_get(request.user, elder.pk)))


@router.get("", response=list[ElderOut], summary="List and search elders in the caller's scope")
@paginate(PageNumberPagination, page_size=50)
def list_elders(request, filters: Query[ElderFilters]):
    """`id_number` and `phone` find by the full number (any accepted spelling) through its keyed hash;
    `q` searches names (or a full ID/phone number); `group` and `age_band` may repeat.
    `unmasked=true` returns full numbers to a caller with pii.view, and each such page is audited."""
    today = timezone.localdate()
    queryset = selectors.elder_list(
        request.user,
        selectors.ElderFilter(
            region=filters.region,
            q=filters.q,
            id_number=filters.id_number,
            phone=filters.phone,
            age_bands=filters.age_band,
            groups=filters.group,
            statuses=filters.status,
            economic_statuses=filters.economic_status,
            living_arrangements=filters.living_arrangement,
            sex=filters.sex,
            sort=filters.sort,
        ),
        today=today,
    )
    annotated = groups.annotate(queryset, today)
    if filters.unmasked:
        require_perm(request.user, Perm.PII_VIEW)
    return _Rows(request, annotated, clear=filters.unmasked)


class _Rows:
    """A lazily sliced page that turns rows into API dicts (the paginator slices, then we shape)."""

    def __init__(self, request, queryset, clear: bool):
        self.request, self.queryset, self.clear = request, queryset, clear

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        rows = list(self.queryset[item])
        if self.clear:
            services.elders_personal_numbers_viewed(actor=self.request.user, elders=rows)
        return [
            _out(self.request, e, {g.code for g in groups.GROUPS if getattr(e, f"g_{g.code}")}, self.clear)
            for e in rows
        ]


@router.get("/{elder_id}", response=ElderOut, summary="One elder")
def get_elder(request, elder_id: int, unmasked: bool = False):
    """`unmasked=true`: the full numbers, for a caller with pii.view (audited)."""
    elder = selectors.elder_get(request.user, elder_id)
    if unmasked:
        services.elder_reveal_personal_numbers(actor=request.user, elder=elder)
    return _out(request, elder, clear=unmasked)


@router.patch("/{elder_id}", response=ElderOut, summary="Change an elder's facts")
def patch_elder(request, elder_id: int, body: ElderPatch):
    elder = selectors.elder_get(request.user, elder_id)
    services.elder_update(actor=request.user, elder=elder, **body.dict(exclude_unset=True))
    return _out(request, selectors.elder_get(request.user, elder_id))


@router.get("/{elder_id}/events", response=list[EventOut], summary="An elder's life events")
def list_events(request, elder_id: int):
    return list(selectors.elder_get(request.user, elder_id).events.all())


@router.post("/{elder_id}/events", response={201: EventOut}, summary="Record a life event")
def create_event(request, elder_id: int, body: EventIn):
    """death, hospital_admission, hospital_discharge, institution_admission, institution_discharge,
    move_within (needs new_region), move_out, correction (needs reverses: the latest event's id)."""
    elder = selectors.elder_get(request.user, elder_id)
    reverses = LifeEvent.objects.filter(elder=elder, pk=body.reverses).first() if body.reverses else None
    event = services.elder_record_event(
        actor=request.user,
        elder=elder,
        kind=body.kind,
        on=body.on,
        note=body.note,
        new_region=body.new_region,
        reverses=reverses,
        source="api",
    )
    return Status(201, event)
