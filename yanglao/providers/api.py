"""The providers API: service organisations with their areas, offers and contracts, the question "who
serves this community and offers this item", the service catalogue, and care workers with their
certificates, training and expiring documents. Same services and selectors as the pages.

Money is returned as decimal strings ("80.00"). Personal numbers (care workers' ID and phone, a
provider's contact phone) are masked unless `unmasked=true` is asked by a caller with pii.view; each
such answer is audited.

(No `from __future__ import annotations` here: django-ninja reads `Query[...]` parameters at import.)"""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from yanglao.accounts.scope import require_perm
from yanglao.core import pii
from yanglao.core.permissions import Perm
from yanglao.providers import selectors, services
from yanglao.providers.enums import CertificateGrade
from yanglao.providers.models import CareWorker, CatalogueItem, Provider, ProviderOffer, PurchaseContract

router = Router(tags=["providers"])
CENTS = Decimal("0.01")


# --- catalogue -----------------------------------------------------------------------------------
class CatalogueItemIn(Schema):
    code: str = Field(description="lower-case letters, digits and _, e.g. bathing; fixed once made")
    name: str
    unit: str = Field(description="visit (次), hour (小时), meal (餐), day (天) or month (月)")
    standard_minutes: int
    reference_price: Decimal = Field(description="reference (guide) price in yuan per unit")
    description: str = ""
    is_active: bool = True
    account_payable: bool = Field(True, description="whether an elder's service account may pay for it")
    order: int = 100


class CatalogueItemPatch(Schema):
    name: str | None = None
    unit: str | None = None
    standard_minutes: int | None = None
    reference_price: Decimal | None = None
    description: str | None = None
    is_active: bool | None = None
    account_payable: bool | None = None
    order: int | None = None


class CatalogueItemOut(Schema):
    code: str
    name: str
    unit: str
    unit_label: str
    standard_minutes: int
    reference_price: Decimal
    description: str
    is_active: bool
    account_payable: bool
    order: int

    @staticmethod
    def resolve_unit_label(obj: CatalogueItem) -> str:
        return str(obj.get_unit_display())


@router.get("/catalogue", response=list[CatalogueItemOut], summary="The service catalogue")
def list_catalogue(request, active: bool = False):
    """The city's service items (DOMAIN.md §5) with unit, standard duration and reference price."""
    return list(selectors.catalogue_items(active_only=active))


@router.post("/catalogue", response={201: CatalogueItemOut}, summary="Add a catalogue item (city)")
def create_catalogue_item(request, body: CatalogueItemIn):
    return Status(201, services.catalogue_item_create(actor=request.user, **body.dict()))


@router.patch("/catalogue/{code}", response=CatalogueItemOut, summary="Change a catalogue item (city)")
def patch_catalogue_item(request, code: str, body: CatalogueItemPatch):
    item = selectors.catalogue_item_get(code, field="code")
    changes = {k: v for k, v in body.dict(exclude_unset=True).items() if v is not None}
    return services.catalogue_item_update(actor=request.user, item=item, **changes)


# --- who serves a community ----------------------------------------------------------------------
class ServingOut(Schema):
    provider: int
    organisation: int
    name: str
    price: Decimal
    offer: int
    rating: Decimal | None
    rating_count: int
    daily_capacity: int
    latitude: float | None
    longitude: float | None


@router.get(
    "/serving", response=list[ServingOut], summary="Providers serving a community and offering an item"
)
def serving(request, region: str, item: str):
    """Active providers whose service areas cover `region` (e.g. 120101001001) and that actively offer
    catalogue item `item` (e.g. bathing), with their price; best rated first."""
    return [
        {
            "provider": p.pk,
            "organisation": p.organisation_id,
            "name": p.organisation.name,
            # Quantized here: SQLite hands a subquery's decimal back without its scale.
            "price": Decimal(p.price).quantize(CENTS),
            "offer": p.offer_id,
            "rating": p.rating,
            "rating_count": p.rating_count,
            "daily_capacity": p.daily_capacity,
            "latitude": p.latitude,
            "longitude": p.longitude,
        }
        for p in selectors.providers_serving(region, item)
    ]


# --- care workers --------------------------------------------------------------------------------
class WorkerIn(Schema):
    organisation: int = Field(description="id of the provider organisation (accounts organisation id)")
    name: str
    id_number: str = Field(description="18 digits, or a legacy 15-digit number (converted)")
    phone: str = ""
    hired_on: date | None = None
    health_certificate_expires: date | None = None
    note: str = ""
    username: str = Field("", description="the worker's own sign-in (a 护理员 account of the organisation)")


class WorkerPatch(Schema):
    organisation: int | None = None
    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    hired_on: date | None = None
    health_certificate_expires: date | None = None
    note: str | None = None
    username: str | None = None


class WorkerOut(Schema):
    id: int
    name: str
    id_number: str = Field(description="masked, unless unmasked=true was asked by a caller with pii.view")
    phone: str
    sex: str
    birth_date: date
    age: int
    organisation: int
    organisation_name: str
    status: str
    status_reason: str
    status_since: date | None
    hired_on: date | None
    health_certificate_expires: date | None
    note: str
    username: str | None
    updated_at: datetime


class StatusIn(Schema):
    status: str
    reason: str = ""


class CertificateIn(Schema):
    grade: str = Field(description="junior, intermediate, senior, technician or senior_technician")
    number: str
    issued_on: date
    expires_on: date | None = None


class CertificateOut(Schema):
    id: int
    grade: str
    grade_label: str
    number: str
    issued_on: date
    expires_on: date | None

    @staticmethod
    def resolve_grade_label(obj) -> str:
        return str(CertificateGrade(obj.grade).label)


class TrainingIn(Schema):
    topic: str
    hours: Decimal = Field(description="more than 0, at most 200, one decimal")
    on: date


class TrainingOut(Schema):
    id: int
    topic: str
    hours: Decimal
    on: date


class ExpiringOut(Schema):
    worker: int
    worker_name: str
    organisation: int
    organisation_name: str
    kind: str = Field(description="health (健康证) or certificate (职业技能等级证书)")
    label: str
    expires_on: date
    days_left: int
    expired: bool


class WorkerFilters(Schema):
    organisation: int | None = None
    status: list[str] = []
    grade: str = ""
    q: str = ""
    expiring: bool = False
    region: str = ""
    sort: str = "name"
    unmasked: bool = False


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _worker_out(worker: CareWorker, clear: bool = False) -> dict:
    return {
        "id": worker.pk,
        "name": worker.name,
        "id_number": worker.id_number if clear else pii.mask_id_number(worker.id_number),
        "phone": worker.phone if clear else pii.mask_phone(worker.phone),
        "sex": worker.sex,
        "birth_date": worker.birth_date,
        "age": _age(worker.birth_date, timezone.localdate()),
        "organisation": worker.organisation_id,
        "organisation_name": worker.organisation.name,
        "status": worker.status,
        "status_reason": worker.status_reason,
        "status_since": worker.status_since,
        "hired_on": worker.hired_on,
        "health_certificate_expires": worker.health_certificate_expires,
        "note": worker.note,
        "username": worker.user.username if worker.user_id else None,
        "updated_at": worker.updated_at,
    }


# Dates a worker PATCH may clear by sending null; other fields ignore null (leave them out instead).
_CLEARABLE = {"hired_on", "health_certificate_expires"}


class _Rows:
    """A lazily sliced page that turns rows into API dicts; a page of full numbers is audited once."""

    def __init__(self, request, queryset, shape, clear: bool, audit):
        self.request, self.queryset, self.shape, self.clear, self.audit = (
            request,
            queryset,
            shape,
            clear,
            audit,
        )

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        rows = list(self.queryset[item])
        if self.clear:
            self.audit(actor=self.request.user, rows=rows)
        return [self.shape(row, self.clear) for row in rows]


@router.get(
    "/workers", response=list[WorkerOut], summary="List and search care workers in the caller's scope"
)
@paginate(PageNumberPagination, page_size=50)
def list_workers(request, filters: Query[WorkerFilters]):
    """`q` searches names, or finds a full ID or phone number by its keyed hash; `expiring=true` keeps
    workers with a document expiring within the warning window. `unmasked=true`: full numbers for a
    caller with pii.view (each page audited)."""
    queryset = selectors.worker_list(
        request.user,
        selectors.WorkerFilter(
            organisation=filters.organisation,
            statuses=filters.status,
            grade=filters.grade,
            q=filters.q,
            expiring=filters.expiring,
            region=filters.region,
            sort=filters.sort,
        ),
    ).select_related("user")
    if filters.unmasked:
        require_perm(request.user, Perm.PII_VIEW)
    return _Rows(
        request,
        queryset,
        _worker_out,
        filters.unmasked,
        lambda actor, rows: services.workers_personal_numbers_viewed(actor=actor, workers=rows),
    )


@router.post("/workers", response={201: WorkerOut}, summary="Register a care worker")
def create_worker(request, body: WorkerIn):
    worker = services.worker_register(actor=request.user, **body.dict())
    return Status(201, _worker_out(selectors.worker_get(request.user, worker.pk)))


@router.get("/workers/expiring", response=list[ExpiringOut], summary="Documents expiring soon")
def list_expiring(request, within_days: int | None = None):
    """Health certificates and skill certificates of the caller's workers (still employed) expiring within
    `within_days` (default: the policy value providers.expiry_warning_days) or already expired."""
    return [
        {
            "worker": row.worker.pk,
            "worker_name": row.worker.name,
            "organisation": row.worker.organisation_id,
            "organisation_name": row.worker.organisation.name,
            "kind": row.kind,
            "label": row.label,
            "expires_on": row.expires_on,
            "days_left": row.days_left,
            "expired": row.expired,
        }
        for row in selectors.expiring_documents(request.user, within_days=within_days)
    ]


@router.get("/workers/{worker_id}", response=WorkerOut, summary="One care worker")
def get_worker(request, worker_id: int, unmasked: bool = False):
    """`unmasked=true`: the full numbers, for a caller with pii.view (audited)."""
    worker = selectors.worker_get(request.user, worker_id)
    if unmasked:
        services.worker_reveal_personal_numbers(actor=request.user, worker=worker)
    return _worker_out(worker, clear=unmasked)


@router.patch("/workers/{worker_id}", response=WorkerOut, summary="Change a care worker's facts")
def patch_worker(request, worker_id: int, body: WorkerPatch):
    worker = selectors.worker_get(request.user, worker_id)
    changes = {k: v for k, v in body.dict(exclude_unset=True).items() if v is not None or k in _CLEARABLE}
    services.worker_update(actor=request.user, worker=worker, **changes)
    return _worker_out(selectors.worker_get(request.user, worker_id))


@router.post("/workers/{worker_id}/status", response=WorkerOut, summary="Put a worker on or off duty")
def set_worker_status(request, worker_id: int, body: StatusIn):
    """active (在岗), suspended (停岗, reason required) or left (离职, reason required)."""
    worker = selectors.worker_get(request.user, worker_id)
    services.worker_set_status(actor=request.user, worker=worker, status=body.status, reason=body.reason)
    return _worker_out(selectors.worker_get(request.user, worker_id))


@router.get(
    "/workers/{worker_id}/certificates", response=list[CertificateOut], summary="A worker's certificates"
)
def list_certificates(request, worker_id: int):
    return list(selectors.worker_get(request.user, worker_id).certificates.all())


@router.post(
    "/workers/{worker_id}/certificates", response={201: CertificateOut}, summary="Record a skill certificate"
)
def create_certificate(request, worker_id: int, body: CertificateIn):
    worker = selectors.worker_get(request.user, worker_id)
    return Status(201, services.worker_add_certificate(actor=request.user, worker=worker, **body.dict()))


@router.get(
    "/workers/{worker_id}/training", response=list[TrainingOut], summary="A worker's training records"
)
def list_training(request, worker_id: int):
    return list(selectors.worker_get(request.user, worker_id).trainings.all())


@router.post("/workers/{worker_id}/training", response={201: TrainingOut}, summary="Record a training")
def create_training(request, worker_id: int, body: TrainingIn):
    worker = selectors.worker_get(request.user, worker_id)
    return Status(201, services.worker_add_training(actor=request.user, worker=worker, **body.dict()))


# --- providers -----------------------------------------------------------------------------------
class ProviderIn(Schema):
    name: str
    credit_code: str = Field(description="unified social credit code, 18 characters (GB 32100-2015)")
    region: str = Field(description="division code where the organisation is registered (district or street)")
    legal_form: str = Field(description="enterprise (企业), social_org (社会组织) or public_unit (事业单位)")
    legal_representative: str
    contact_name: str = ""
    contact_phone: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    daily_capacity: int = 0
    service_areas: list[str] = Field(
        [], description="division codes served (districts, streets, communities)"
    )


class ProviderPatch(Schema):
    name: str | None = None
    credit_code: str | None = None
    region: str | None = None
    legal_form: str | None = None
    legal_representative: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    daily_capacity: int | None = None


class ProviderOut(Schema):
    id: int
    organisation: int
    name: str
    credit_code: str | None
    region: str
    region_name: str
    legal_form: str
    legal_representative: str
    contact_name: str
    contact_phone: str = Field(description="masked, unless unmasked=true was asked by a caller with pii.view")
    address: str
    latitude: float | None
    longitude: float | None
    service_areas: list[str]
    status: str
    status_reason: str
    status_since: date | None
    daily_capacity: int
    rating: Decimal | None
    rating_count: int
    updated_at: datetime


class AreasIn(Schema):
    regions: list[str] = Field(description="division codes; each must exist and lie in the caller's region")


class OfferIn(Schema):
    price: Decimal = Field(description="the provider's price in yuan per unit, above 0")
    is_active: bool = True


class OfferOut(Schema):
    item: str
    item_name: str
    unit: str
    price: Decimal
    reference_price: Decimal
    is_active: bool
    updated_at: datetime


class ContractIn(Schema):
    number: str
    title: str
    region: str = Field(description="division code of the purchasing government (city or district)")
    start_on: date
    end_on: date
    budget: Decimal
    items: list[str] = Field([], description="catalogue item codes the contract buys")
    signed_on: date | None = None
    note: str = ""


class ContractPatch(Schema):
    number: str | None = None
    title: str | None = None
    region: str | None = None
    start_on: date | None = None
    end_on: date | None = None
    budget: Decimal | None = None
    items: list[str] | None = None
    signed_on: date | None = None
    note: str | None = None


class ContractOut(Schema):
    id: int
    provider: int
    number: str
    title: str
    region: str
    start_on: date
    end_on: date
    budget: Decimal
    items: list[str]
    signed_on: date | None
    note: str
    in_force: bool


class ProviderFilters(Schema):
    region: str = ""
    status: list[str] = []
    item: str = ""
    legal_form: str = ""
    q: str = ""
    sort: str = "name"


def _provider_out(provider: Provider, clear: bool = False) -> dict:
    organisation = provider.organisation
    return {
        "id": provider.pk,
        "organisation": organisation.pk,
        "name": organisation.name,
        "credit_code": organisation.credit_code,
        "region": organisation.region_id,
        "region_name": organisation.region.name,
        "legal_form": provider.legal_form,
        "legal_representative": provider.legal_representative,
        "contact_name": provider.contact_name,
        "contact_phone": provider.contact_phone if clear else pii.mask_phone(provider.contact_phone),
        "address": provider.address,
        "latitude": provider.latitude,
        "longitude": provider.longitude,
        # Read from the prefetch when the list gave one, so a page costs no query per row.
        "service_areas": sorted(r.code for r in provider.service_areas.all()),
        "status": provider.status,
        "status_reason": provider.status_reason,
        "status_since": provider.status_since,
        "daily_capacity": provider.daily_capacity,
        "rating": provider.rating,
        "rating_count": provider.rating_count,
        "updated_at": provider.updated_at,
    }


def _offer_out(offer: ProviderOffer) -> dict:
    return {
        "item": offer.item.code,
        "item_name": offer.item.name,
        "unit": offer.item.unit,
        "price": offer.price,
        "reference_price": offer.item.reference_price,
        "is_active": offer.is_active,
        "updated_at": offer.updated_at,
    }


def _contract_out(contract: PurchaseContract) -> dict:
    return {
        "id": contract.pk,
        "provider": contract.provider_id,
        "number": contract.number,
        "title": contract.title,
        "region": contract.region_id,
        "start_on": contract.start_on,
        "end_on": contract.end_on,
        "budget": contract.budget,
        "items": sorted(i.code for i in contract.items.all()),
        "signed_on": contract.signed_on,
        "note": contract.note,
        "in_force": contract.in_force_on(timezone.localdate()),
    }


@router.get("", response=list[ProviderOut], summary="List and search providers in the caller's scope")
@paginate(PageNumberPagination, page_size=50)
def list_providers(request, filters: Query[ProviderFilters]):
    """`region`: providers located in or serving the division; `item`: those actively offering a
    catalogue item; `q`: a part of the name, or a full credit code."""
    queryset = selectors.provider_list(
        request.user,
        selectors.ProviderFilter(
            region=filters.region,
            statuses=filters.status,
            item=filters.item,
            legal_form=filters.legal_form,
            q=filters.q,
            sort=filters.sort,
        ),
    ).prefetch_related("service_areas")
    return _Rows(request, queryset, _provider_out, False, None)


@router.post("", response={201: ProviderOut}, summary="Register a provider (organisation and profile)")
def create_provider(request, body: ProviderIn):
    provider = services.provider_register(actor=request.user, **body.dict())
    return Status(201, _provider_out(selectors.provider_get(request.user, provider.pk)))


@router.get("/{provider_id}", response=ProviderOut, summary="One provider")
def get_provider(request, provider_id: int, unmasked: bool = False):
    """`unmasked=true`: the contact phone in full, for a caller with pii.view (audited)."""
    provider = selectors.provider_get(request.user, provider_id)
    if unmasked:
        services.provider_reveal_contact_phone(actor=request.user, provider=provider)
    return _provider_out(provider, clear=unmasked)


@router.patch("/{provider_id}", response=ProviderOut, summary="Change a provider's facts")
def patch_provider(request, provider_id: int, body: ProviderPatch):
    provider = selectors.provider_get(request.user, provider_id)
    changes = body.dict(exclude_unset=True)
    # Null clears the position; other fields ignore null (not sent is the way to leave them).
    changes = {k: v for k, v in changes.items() if v is not None or k in ("latitude", "longitude")}
    services.provider_update(actor=request.user, provider=provider, **changes)
    return _provider_out(selectors.provider_get(request.user, provider_id))


@router.post("/{provider_id}/status", response=ProviderOut, summary="Suspend, terminate or resume")
def set_provider_status(request, provider_id: int, body: StatusIn):
    """active (正常), suspended (暂停, reason required) or terminated (终止合作, reason required)."""
    provider = selectors.provider_get(request.user, provider_id)
    services.provider_set_status(
        actor=request.user, provider=provider, status=body.status, reason=body.reason
    )
    return _provider_out(selectors.provider_get(request.user, provider_id))


@router.put("/{provider_id}/areas", response=ProviderOut, summary="Set the areas a provider serves")
def set_provider_areas(request, provider_id: int, body: AreasIn):
    provider = selectors.provider_get(request.user, provider_id)
    services.provider_set_service_areas(actor=request.user, provider=provider, regions=body.regions)
    return _provider_out(selectors.provider_get(request.user, provider_id))


@router.get("/{provider_id}/offers", response=list[OfferOut], summary="A provider's offered items and prices")
def list_offers(request, provider_id: int, active: bool = False):
    provider = selectors.provider_get(request.user, provider_id)
    return [_offer_out(o) for o in selectors.offers_of(provider, active_only=active)]


@router.put("/{provider_id}/offers/{item}", response=OfferOut, summary="Offer an item or change its price")
def put_offer(request, provider_id: int, item: str, body: OfferIn):
    provider = selectors.provider_get(request.user, provider_id)
    offer = services.offer_set(
        actor=request.user,
        provider=provider,
        item=selectors.catalogue_item_get(item),
        price=body.price,
        is_active=body.is_active,
    )
    return _offer_out(offer)


@router.delete("/{provider_id}/offers/{item}", response=OfferOut, summary="Withdraw an offer")
def delete_offer(request, provider_id: int, item: str):
    provider = selectors.provider_get(request.user, provider_id)
    offer = services.offer_withdraw(
        actor=request.user, provider=provider, item=selectors.catalogue_item_get(item)
    )
    return _offer_out(offer)


@router.get("/{provider_id}/contracts", response=list[ContractOut], summary="A provider's purchase contracts")
def list_contracts(request, provider_id: int):
    provider = selectors.provider_get(request.user, provider_id)
    return [_contract_out(c) for c in selectors.contracts_of(provider)]


@router.post("/{provider_id}/contracts", response={201: ContractOut}, summary="Record a purchase contract")
def create_contract(request, provider_id: int, body: ContractIn):
    provider = selectors.provider_get(request.user, provider_id)
    contract = services.contract_create(actor=request.user, provider=provider, **body.dict())
    return Status(201, _contract_out(contract))


@router.patch(
    "/{provider_id}/contracts/{contract_id}", response=ContractOut, summary="Change a purchase contract"
)
def patch_contract(request, provider_id: int, contract_id: int, body: ContractPatch):
    provider = selectors.provider_get(request.user, provider_id)
    contract = selectors.contract_get(provider, contract_id)
    changes = {k: v for k, v in body.dict(exclude_unset=True).items() if v is not None or k == "signed_on"}
    contract = services.contract_update(actor=request.user, contract=contract, **changes)
    return _contract_out(contract)
