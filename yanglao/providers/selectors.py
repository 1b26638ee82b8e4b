"""Reads of providers, the catalogue and care workers, each through the actor's scope.

- Providers are organisations, not people: city and district staff see those located in their region
  and those serving it; a provider's own staff see only their organisation.
- Care workers are people (DESIGN.md rule 5): scoped by accounts.scope.people on their organisation's
  region; a provider admin sees only their organisation's workers, a care worker only themselves.
- `providers_serving` answers other apps' question "who serves this community and offers this item";
  it is not scoped, because dispatch asks it on behalf of an elder, not of a clerk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from yanglao.accounts.roles import ORGANISATION_BOUND, Role
from yanglao.accounts.scope import people
from yanglao.core import policy
from yanglao.core.errors import InvalidInput, NotFound
from yanglao.core.fields import lookup_value
from yanglao.core.permissions import Perm
from yanglao.providers.enums import CertificateGrade, DocumentKind, ProviderStatus, WorkerStatus
from yanglao.providers.models import (
    CareWorker,
    CatalogueItem,
    Certificate,
    Provider,
    ProviderOffer,
    PurchaseContract,
)
from yanglao.regions import codes

EXPIRY_WARNING = policy.define(
    "providers.expiry_warning_days",
    30,
    "护理员健康证、职业技能等级证书到期预警天数",
    minimum=1,
    maximum=365,
    unit="天",
)

_ID_LIKE = re.compile(r"^\d{15}$|^\d{17}[\dXx]$")
_PHONE_LIKE = re.compile(r"^(\+?86)?1[3-9]\d{9}$|^0\d{9,11}$")


# --- catalogue -----------------------------------------------------------------------------------
def catalogue_items(*, active_only: bool = False) -> QuerySet[CatalogueItem]:
    """The city's service catalogue: public within the platform, shared by orders, meals and plans."""
    items = CatalogueItem.objects.all()
    return items.filter(is_active=True) if active_only else items


def catalogue_item_get(code: str, *, field: str = "item") -> CatalogueItem:
    item = CatalogueItem.objects.filter(code=(code or "").strip()).first()
    if item is None:
        raise NotFound(f"服务目录中没有代码为“{code}”的项目", field=field)
    return item


# --- providers -----------------------------------------------------------------------------------
def _prefixes(code: str) -> list[str]:
    """The code and every ancestor's code: the service areas that cover it (120101001001 is covered by
    1201, 120101, 120101001 and itself)."""
    return [code[:n] for n in codes.NATURAL_LENGTHS if n <= len(code)]


def _serves_region(code: str) -> Q:
    """Providers located in the region, or with a service area inside it or covering it (a street clerk
    sees the provider that serves the whole district)."""
    through = Provider.service_areas.through
    inside = through.objects.filter(provider_id=OuterRef("pk")).filter(codes.within(code, "region_id"))
    covering = through.objects.filter(provider_id=OuterRef("pk"), region_id__in=_prefixes(code))
    return codes.within(code, "organisation__region_id") | Exists(inside) | Exists(covering)


def providers_visible(actor: Any) -> QuerySet[Provider]:
    base = Provider.objects.select_related("organisation", "organisation__region")
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return base.none()
    if actor.is_superuser:
        return base
    if actor.role in ORGANISATION_BOUND:
        if actor.organisation_id is None:
            return base.none()
        return base.filter(organisation_id=actor.organisation_id)
    # Elders and volunteers have no business with the management pages (the portal asks
    # providers_serving); staff and integrations see by region.
    if not (actor.has_perm(Perm.DASHBOARD_VIEW) or actor.has_perm(Perm.API_USE)) or not actor.region_id:
        return base.none()
    return base.filter(_serves_region(actor.region_id))


def provider_get(actor: Any, provider_id: int) -> Provider:
    """One provider in the actor's scope; outside it the answer is the same as for no such provider."""
    found = providers_visible(actor).filter(pk=provider_id).first()
    if found is None:
        raise NotFound("未找到该服务机构，或不在您的管辖范围内")
    return found


PROVIDER_SORTS = {
    "name": ("organisation__name", "id"),
    "-name": ("-organisation__name", "-id"),
    "-rating": (Coalesce("rating", Decimal("-1")).desc(), "organisation__name", "id"),
    "rating": (Coalesce("rating", Decimal("6")).asc(), "organisation__name", "id"),
    "-capacity": ("-daily_capacity", "organisation__name", "id"),
    "-created": ("-created_at", "-id"),
}


@dataclass
class ProviderFilter:
    """The filters of the list page and the API: one meaning everywhere."""

    region: str = ""
    statuses: list[str] = field(default_factory=list)
    item: str = ""
    legal_form: str = ""
    q: str = ""
    sort: str = "name"

    def check(self) -> ProviderFilter:
        self.statuses = [s for s in self.statuses if s]
        bad = [s for s in self.statuses if s not in ProviderStatus.values]
        if bad:
            raise InvalidInput(f"合作状态筛选条件无效：{'、'.join(bad)}", field="status")
        if self.sort not in PROVIDER_SORTS:
            raise InvalidInput(f"排序方式“{self.sort}”无效，可用：{'、'.join(PROVIDER_SORTS)}", field="sort")
        if self.region:
            self.region = codes.normalize(self.region, field="region")
        if self.item and not CatalogueItem.objects.filter(code=self.item).exists():
            raise InvalidInput(f"服务目录中没有代码为“{self.item}”的项目", field="item")
        return self


def provider_list(actor: Any, filters: ProviderFilter) -> QuerySet[Provider]:
    filters.check()
    queryset = providers_visible(actor)
    if filters.region:
        queryset = queryset.filter(_serves_region(filters.region))
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.legal_form:
        queryset = queryset.filter(legal_form=filters.legal_form)
    if filters.item:
        queryset = queryset.filter(
            Exists(
                ProviderOffer.objects.filter(
                    provider_id=OuterRef("pk"), item__code=filters.item, is_active=True
                )
            )
        )
    if filters.q:
        words = filters.q.strip()
        queryset = queryset.filter(
            Q(organisation__name__contains=words) | Q(organisation__credit_code=words.upper())
        )
    offers = (
        ProviderOffer.objects.filter(provider_id=OuterRef("pk"), is_active=True)
        .values("provider_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    workers = (
        CareWorker.objects.filter(organisation_id=OuterRef("organisation_id"), status=WorkerStatus.ACTIVE)
        .values("organisation_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # Counted by subqueries, so the page's rows are not multiplied by joins to offers and workers.
    return queryset.annotate(
        offer_count=Coalesce(Subquery(offers), 0), worker_count=Coalesce(Subquery(workers), 0)
    ).order_by(*PROVIDER_SORTS[filters.sort])


def providers_serving(region_code: str, item_code: str) -> QuerySet[Provider]:
    """Active providers with a service area covering `region_code` (an area's code is a prefix of the
    community's) that actively offer `item_code`, each annotated with its `price` and `offer_id`; best
    rated first. Two queries: the item, then the providers (no per-row lookups)."""
    code = codes.normalize(region_code, field="region")
    item = catalogue_item_get(item_code, field="item")
    if not item.is_active:
        return Provider.objects.none()
    offer = ProviderOffer.objects.filter(provider_id=OuterRef("pk"), item_id=item.pk, is_active=True)
    covers = Provider.service_areas.through.objects.filter(
        provider_id=OuterRef("pk"), region_id__in=_prefixes(code)
    )
    return (
        Provider.objects.filter(Exists(covers), status=ProviderStatus.ACTIVE, organisation__is_active=True)
        .annotate(price=Subquery(offer.values("price")[:1]), offer_id=Subquery(offer.values("pk")[:1]))
        .filter(price__isnull=False)
        .select_related("organisation")
        .order_by(Coalesce("rating", Decimal("-1")).desc(), "organisation__name", "id")
    )


def offers_of(provider: Provider, *, active_only: bool = False) -> QuerySet[ProviderOffer]:
    offers = provider.offers.select_related("item")
    return offers.filter(is_active=True) if active_only else offers


def contracts_of(provider: Provider) -> QuerySet[PurchaseContract]:
    return provider.contracts.select_related("region").prefetch_related("items")


def contract_get(provider: Provider, contract_id: int) -> PurchaseContract:
    found = contracts_of(provider).filter(pk=contract_id).first()
    if found is None:
        raise NotFound("未找到该合同")
    return found


# --- care workers --------------------------------------------------------------------------------
def workers_visible(actor: Any) -> QuerySet[CareWorker]:
    """Staff see workers of organisations in their region; a provider admin their organisation's; a care
    worker only their own record. Anyone else sees none."""
    base = CareWorker.objects.select_related("organisation", "organisation__region")
    if not getattr(actor, "is_authenticated", False):
        return base.none()
    role = getattr(actor, "role", "")
    if not (actor.is_superuser or actor.has_perm(Perm.DASHBOARD_VIEW) or role == Role.CARE_WORKER):
        return base.none()
    queryset = people(
        actor, base, region_field="organisation__region_id", organisation_field="organisation_id"
    )
    if role == Role.CARE_WORKER and not actor.is_superuser:
        queryset = queryset.filter(user_id=actor.pk)
    return queryset


def worker_get(actor: Any, worker_id: int) -> CareWorker:
    found = workers_visible(actor).filter(pk=worker_id).first()
    if found is None:
        raise NotFound("未找到该护理员，或不在您的管辖范围内")
    return found


WORKER_SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "organisation": ("organisation__name", "name", "id"),
    "health": ("health_certificate_expires", "name", "id"),
    "-hired": ("-hired_on", "name", "id"),
    "-updated": ("-updated_at", "-id"),
}


@dataclass
class WorkerFilter:
    organisation: int | None = None
    statuses: list[str] = field(default_factory=list)
    grade: str = ""
    q: str = ""
    expiring: bool = False
    region: str = ""
    sort: str = "name"

    def check(self) -> WorkerFilter:
        self.statuses = [s for s in self.statuses if s]
        bad = [s for s in self.statuses if s not in WorkerStatus.values]
        if bad:
            raise InvalidInput(f"状态筛选条件无效：{'、'.join(bad)}", field="status")
        if self.grade and self.grade not in CertificateGrade.values:
            raise InvalidInput(f"证书等级“{self.grade}”无效", field="grade")
        if self.sort not in WORKER_SORTS:
            raise InvalidInput(f"排序方式“{self.sort}”无效，可用：{'、'.join(WORKER_SORTS)}", field="sort")
        if self.region:
            self.region = codes.normalize(self.region, field="region")
        return self


def worker_list(actor: Any, filters: WorkerFilter, today: date | None = None) -> QuerySet[CareWorker]:
    filters.check()
    queryset = workers_visible(actor)
    if filters.organisation:
        queryset = queryset.filter(organisation_id=filters.organisation)
    if filters.region:
        queryset = queryset.filter(codes.within(filters.region, "organisation__region_id"))
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.grade:
        queryset = queryset.filter(
            Exists(Certificate.objects.filter(worker_id=OuterRef("pk"), grade=filters.grade))
        )
    if filters.expiring:
        today = today or timezone.localdate()
        limit = today + timedelta(days=policy.value(EXPIRY_WARNING, on=today))
        queryset = queryset.exclude(status=WorkerStatus.LEFT).filter(
            Q(health_certificate_expires__lte=limit)
            | Exists(_expiring_certificates(limit, worker=OuterRef("pk")))
        )
    if filters.q:
        queryset = queryset.filter(_search(filters.q))
    return queryset.order_by(*WORKER_SORTS[filters.sort])


def _search(raw: str) -> Q:
    """A full ID or phone number finds by its keyed hash (exact); anything else matches the name."""
    words = raw.strip().replace(" ", "").replace("-", "")
    if _ID_LIKE.match(words):
        return Q(id_number_hash=lookup_value(CareWorker, "id_number", words))
    if _PHONE_LIKE.match(words):
        return Q(phone_hash=lookup_value(CareWorker, "phone", words))
    return Q(name__contains=raw.strip())


def training_hours(worker: CareWorker) -> Decimal:
    total = worker.trainings.aggregate(total=Sum("hours"))["total"]
    return total or Decimal("0")


# --- documents that expire -----------------------------------------------------------------------
def _expiring_certificates(limit: date, **match: Any) -> QuerySet[Certificate]:
    """Certificates expiring by `limit` (or expired) that were not renewed: a later certificate of the
    same grade that outlasts the window ends the warning, so an old card does not warn forever."""
    renewed = (
        Certificate.objects.filter(
            worker_id=OuterRef("worker_id"), grade=OuterRef("grade"), issued_on__gte=OuterRef("issued_on")
        )
        .exclude(pk=OuterRef("pk"))
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=limit))
    )
    return Certificate.objects.filter(expires_on__lte=limit, **match).exclude(Exists(renewed))


@dataclass(frozen=True)
class ExpiringDocument:
    worker: CareWorker
    kind: str  # DocumentKind
    label: str
    expires_on: date
    days_left: int  # negative once expired
    certificate: Certificate | None = None

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_left)


def warning_days(today: date | None = None) -> int:
    return int(policy.value(EXPIRY_WARNING, on=today or timezone.localdate()))


def expiring_documents(
    actor: Any, *, within_days: int | None = None, today: date | None = None, worker: CareWorker | None = None
) -> list[ExpiringDocument]:
    """Health certificates and skill certificates of the actor's workers (still employed; or of one
    worker) that expire within the window (policy providers.expiry_warning_days) or have expired;
    soonest first."""
    today = today or timezone.localdate()
    days = warning_days(today) if within_days is None else within_days
    if not 0 <= days <= 3650:
        raise InvalidInput("预警天数应在0至3650之间", field="within_days")
    limit = today + timedelta(days=days)
    workers = workers_visible(actor).exclude(status=WorkerStatus.LEFT)
    if worker is not None:
        workers = workers.filter(pk=worker.pk)
    rows: list[ExpiringDocument] = []
    for holder in workers.filter(health_certificate_expires__lte=limit):
        expires = holder.health_certificate_expires
        assert expires is not None  # the filter above
        rows.append(
            ExpiringDocument(
                worker=holder,
                kind=DocumentKind.HEALTH,
                label=str(DocumentKind.HEALTH.label),
                expires_on=expires,
                days_left=(expires - today).days,
            )
        )
    certificates = _expiring_certificates(limit, worker__in=workers.values("pk")).select_related(
        "worker", "worker__organisation"
    )
    for certificate in certificates:
        expires = certificate.expires_on
        assert expires is not None  # the filter of _expiring_certificates
        rows.append(
            ExpiringDocument(
                worker=certificate.worker,
                kind=DocumentKind.CERTIFICATE,
                label=f"{certificate.get_grade_display()}证书 {certificate.number}",
                expires_on=expires,
                days_left=(expires - today).days,
                certificate=certificate,
            )
        )
    rows.sort(key=lambda row: (row.expires_on, row.worker.name, row.worker.pk))
    return rows
