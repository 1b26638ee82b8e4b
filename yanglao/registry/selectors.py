"""Reads of the registry, always through the actor's scope (accounts.scope.people)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from yanglao.accounts.scope import people, require_perm
from yanglao.core.errors import InvalidInput, NotFound
from yanglao.core.fields import lookup_value
from yanglao.core.permissions import Perm
from yanglao.regions import codes
from yanglao.registry import groups
from yanglao.registry.enums import EconomicStatus, EventKind, LivingArrangement, Sex, Status
from yanglao.registry.models import Elder, LifeEvent

_ID_LIKE = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
_PHONE_LIKE = re.compile(r"^(\+?86)?1[3-9]\d{9}$|^0\d{9,11}$")

SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "age": ("birth_date", "id"),  # oldest first
    "-age": ("-birth_date", "-id"),
    "region": ("residence_region_id", "id"),
    "-region": ("-residence_region_id", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
}


@dataclass
class ElderFilter:
    """The filters of the list page, the API and the export: one meaning everywhere."""

    region: str = ""
    q: str = ""
    id_number: str = ""
    phone: str = ""
    age_bands: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    economic_statuses: list[str] = field(default_factory=list)
    living_arrangements: list[str] = field(default_factory=list)
    sex: str = ""
    sort: str = "name"

    def check(self) -> ElderFilter:
        """Refuse unknown values with the field named, so a typo never silently lists everyone.
        Empty values (a select left at "全部", `?group=`) mean no condition."""
        for name, allowed in (
            ("age_bands", {g.code for g in groups.AGE_BANDS}),
            ("groups", {g.code for g in groups.GROUPS}),
            ("statuses", set(Status.values)),
            ("economic_statuses", set(EconomicStatus.values)),
            ("living_arrangements", set(LivingArrangement.values)),
        ):
            setattr(self, name, [v for v in getattr(self, name) if v])
            bad = [v for v in getattr(self, name) if v not in allowed]
            if bad:
                raise InvalidInput(f"筛选条件无效：{'、'.join(bad)}", field=name)
        if self.sex and self.sex not in Sex.values:
            raise InvalidInput(f"性别“{self.sex}”无效", field="sex")
        if self.sort not in SORTS:
            raise InvalidInput(f"排序方式“{self.sort}”无效，可用：{'、'.join(SORTS)}", field="sort")
        if self.region:
            self.region = codes.normalize(self.region, field="region")
        return self


# How an organisation reaches an elder: each higher app that links elders to organisations (an
# assessment assigned to an assessor organisation, an order dispatched to a provider) registers a
# function of the organisation's id giving a Q over Elder, from its AppConfig.ready().
ORGANISATION_LINKS: dict[str, Callable[[int], Q]] = {}


def register_organisation_link(name: str, link: Callable[[int], Q]) -> None:
    ORGANISATION_LINKS[name] = link


def _linked_to(organisation_id: int) -> Q:
    condition = Q(pk__in=[])
    for link in ORGANISATION_LINKS.values():
        condition |= link(organisation_id)
    return condition


def elders_visible(actor: Any) -> QuerySet[Elder]:
    """Every elder the actor may see: by region, and for an organisation-bound role only the elders an
    app has linked to its organisation (ORGANISATION_LINKS)."""
    require_perm(actor, Perm.ELDERS_VIEW)
    return people(
        actor, Elder.objects.all(), region_field="residence_region_id", organisation_field=_linked_to
    )


def elder_get(actor: Any, elder_id: int) -> Elder:
    """One elder in the actor's scope; outside it the answer is the same as for no such elder."""
    elder = (
        elders_visible(actor)
        .select_related("residence_region", "hukou_region", "household")
        .filter(pk=elder_id)
        .first()
    )
    if elder is None:
        raise NotFound("未找到该老人档案，或不在您的管辖范围内")
    return elder


def elder_list(actor: Any, filters: ElderFilter, today: date | None = None) -> QuerySet[Elder]:
    today = today or timezone.localdate()
    filters.check()
    queryset = elders_visible(actor)
    if filters.region:
        queryset = queryset.filter(codes.within(filters.region, "residence_region_id"))
    if filters.id_number:
        queryset = queryset.filter(id_number_hash=lookup_value(Elder, "id_number", filters.id_number))
    if filters.phone:
        queryset = queryset.filter(phone_hash=lookup_value(Elder, "phone", filters.phone))
    if filters.q:
        queryset = queryset.filter(_search(filters.q))
        if _PHONE_LIKE.match(filters.q.strip().replace(" ", "").replace("-", "")):
            queryset = queryset.distinct()  # a contact's phone joins the contacts table
    if filters.age_bands:
        band_q = Q()
        for code in filters.age_bands:
            band_q |= groups.condition(code, today)
        queryset = queryset.filter(band_q)
    for code in filters.groups:  # several groups: elders in all of them
        queryset = queryset.filter(groups.condition(code, today))
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.economic_statuses:
        queryset = queryset.filter(economic_status__in=filters.economic_statuses)
    if filters.living_arrangements:
        queryset = queryset.filter(living_arrangement__in=filters.living_arrangements)
    if filters.sex:
        queryset = queryset.filter(sex=filters.sex)
    return queryset.select_related("residence_region").order_by(*SORTS[filters.sort])


def _search(raw: str) -> Q:
    """A full ID number or phone finds by its keyed hash (exact); anything else matches the name."""
    words = raw.strip().replace(" ", "").replace("-", "")
    if _ID_LIKE.match(words):
        return Q(id_number_hash=lookup_value(Elder, "id_number", words))
    if _PHONE_LIKE.match(words):
        return Q(phone_hash=lookup_value(Elder, "phone", words)) | Q(
            contacts__phone_hash=lookup_value(Elder, "phone", words)
        )
    return Q(name__contains=raw.strip())


def latest_correctable_event(elder: Elder) -> LifeEvent | None:
    """The event a correction may reverse: the most recently recorded one not yet corrected."""
    return (
        LifeEvent.objects.filter(elder=elder, reversed_by__isnull=True)
        .exclude(kind=EventKind.CORRECTION)
        .order_by("-created_at", "-id")
        .first()
    )
