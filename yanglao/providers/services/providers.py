"""Writes of service providers (DOMAIN.md §4): registration with the organisation, facts, cooperation
status, service areas, rating, the items they offer and the government's purchase contracts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, FloatField
from django.db.models.functions import Cast, Coalesce

from yanglao.accounts import services as accounts_services
from yanglao.accounts.models import Organisation
from yanglao.accounts.scope import covers, require_perm
from yanglao.core import audit, creditcode, pii
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.providers import signals, validation
from yanglao.providers.enums import LegalForm, ProviderStatus
from yanglao.providers.models import CatalogueItem, Provider, ProviderOffer, PurchaseContract
from yanglao.providers.services._common import (
    MAX_BUDGET,
    MAX_CAPACITY,
    MAX_PRICE,
    clean_status,
    is_person,
    known_region,
    require_manage,
    today,
)
from yanglao.providers.validation import Problems
from yanglao.regions import codes
from yanglao.regions.models import Region

PROFILE_FIELDS = (
    "legal_form",
    "legal_representative",
    "contact_name",
    "contact_phone",
    "address",
    "latitude",
    "longitude",
    "daily_capacity",
)
PROVIDER_FIELDS = ("name", "credit_code", "region", *PROFILE_FIELDS)
_REQUIRED = ("name", "credit_code", "region", "legal_form", "legal_representative")
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def _phone(value: Any) -> str:
    return pii.parse_phone(value, field="contact_phone") if str(value or "").strip() else ""


def _capacity(value: Any) -> int:
    return validation.integer(
        0 if value in (None, "") else value,
        field="daily_capacity",
        label="日服务能力",
        minimum=0,
        maximum=MAX_CAPACITY,
        unit="单",
    )


_STEPS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: validation.text(v, field="name", label="机构名称", max_length=200, required=True),
    "credit_code": lambda v: creditcode.parse(v, field="credit_code"),
    "region": lambda v: known_region(v, field="region", label="所在区域"),
    "legal_form": lambda v: validation.choice(v, LegalForm, field="legal_form", label="机构性质"),
    "legal_representative": lambda v: validation.text(
        v, field="legal_representative", label="法定代表人", max_length=50, required=True
    ),
    "contact_name": lambda v: validation.text(v, field="contact_name", label="联系人", max_length=50),
    "contact_phone": _phone,
    "address": lambda v: validation.text(v, field="address", label="地址", max_length=200),
    "daily_capacity": _capacity,
}


def _clean_provider(values: dict[str, Any], *, partial: bool, problems: Problems) -> dict[str, Any]:
    cleaned = validation.clean_fields(values, _STEPS, required=_REQUIRED, partial=partial, problems=problems)
    if "latitude" in values or "longitude" in values:
        position = problems.check(
            "latitude", lambda: validation.position(values.get("latitude"), values.get("longitude"))
        )
        if position is not None:
            cleaned["latitude"], cleaned["longitude"] = position
    return cleaned


def _clean_areas(actor: Any, raw: Iterable[Any] | None) -> list[str]:
    """Existing divisions inside the actor's region; a code inside another chosen code is dropped, since
    the wider area already covers it."""
    field = "service_areas"
    wanted: set[str] = set()
    for value in raw or []:
        text = value.code if isinstance(value, Region) else str(value or "")
        wanted.update(codes.normalize(part, field=field) for part in _SEPARATORS.split(text) if part)
    found = set(Region.objects.filter(code__in=wanted).values_list("code", flat=True))
    missing = sorted(wanted - found)
    if missing:
        raise InvalidInput("服务区域代码不存在：" + "、".join(missing), field=field)
    if is_person(actor):
        outside = sorted(c for c in wanted if not covers(actor, c))
        if outside:
            raise PermissionDenied("服务区域不在您的管辖范围内：" + "、".join(outside), field=field)
    return sorted(c for c in wanted if not any(c != o and c.startswith(o) for o in wanted))


def _set_areas(provider: Provider, areas: list[str]) -> None:
    provider.service_areas.set(Region.objects.filter(code__in=areas))


def _snapshot(provider: Provider) -> dict[str, Any]:
    organisation = provider.organisation
    values: dict[str, Any] = {
        "name": organisation.name,
        "credit_code": organisation.credit_code,
        "region": organisation.region_id,
    }
    for name in PROFILE_FIELDS:
        values[name] = getattr(provider, name)
    # The audit module masks "phone" and "id_number" keys only; an organisation's contact is masked too.
    values["contact_phone"] = pii.mask_phone(provider.contact_phone)
    return values


def _create_profile(
    actor: Any, organisation: Organisation, cleaned: dict[str, Any], areas: list[str]
) -> Provider:
    provider = Provider.objects.create(
        organisation=organisation,
        status=ProviderStatus.ACTIVE,
        status_since=today(),
        **{k: v for k, v in cleaned.items() if k in PROFILE_FIELDS},
    )
    if areas:
        _set_areas(provider, areas)
    audit.record(
        actor,
        "provider.register",
        provider,
        region_code=organisation.region_id,
        after={**_snapshot(provider), "service_areas": areas},
    )
    return provider


@transaction.atomic
def provider_register(
    *,
    actor: Any,
    name: str,
    credit_code: str,
    region: str,
    legal_form: str,
    legal_representative: str,
    contact_name: str = "",
    contact_phone: str = "",
    address: str = "",
    latitude: Any = None,
    longitude: Any = None,
    daily_capacity: Any = 0,
    service_areas: Iterable[Any] | None = None,
) -> Provider:
    """Register a service organisation and its provider profile together; the unified social credit code
    is checked by GB 32100-2015 and registered once in the platform."""
    if is_person(actor):
        require_perm(actor, Perm.PROVIDERS_MANAGE)
    problems = Problems()
    cleaned = _clean_provider(
        {
            "name": name,
            "credit_code": credit_code,
            "region": region,
            "legal_form": legal_form,
            "legal_representative": legal_representative,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
            "address": address,
            "latitude": latitude,
            "longitude": longitude,
            "daily_capacity": daily_capacity,
        },
        partial=False,
        problems=problems,
    )
    areas = problems.check("service_areas", lambda: _clean_areas(actor, service_areas)) or []
    problems.raise_any()
    place: Region = cleaned["region"]
    if is_person(actor) and not covers(actor, place.code):
        raise PermissionDenied(f"所在区域 {place.name} 不在您的管辖范围内", field="region")
    code = cleaned["credit_code"]
    if Organisation.objects.filter(credit_code=code).exists():
        raise Conflict(f"统一社会信用代码 {code} 已登记", field="credit_code")
    try:
        with transaction.atomic():  # a concurrent registration of the same code loses here, cleanly
            organisation = accounts_services.organisation_create(
                actor=actor,
                name=cleaned["name"],
                kind=Organisation.Kind.PROVIDER,
                region_code=place.code,
                credit_code=code,
            )
    except IntegrityError:
        raise Conflict(f"统一社会信用代码 {code} 已登记", field="credit_code") from None
    return _create_profile(actor, organisation, cleaned, areas)


@transaction.atomic
def provider_attach(
    *,
    actor: Any,
    organisation: Organisation,
    legal_form: str,
    legal_representative: str,
    service_areas: Iterable[Any] | None = None,
    **profile: Any,
) -> Provider:
    """Give an organisation already registered in accounts (kind 服务机构) its provider profile."""
    require_manage(actor, organisation.region_id)
    if organisation.kind != Organisation.Kind.PROVIDER:
        raise InvalidInput(f"“{organisation.name}”不是服务机构类别的机构", field="organisation")
    if Provider.objects.filter(organisation=organisation).exists():
        raise Conflict(f"“{organisation.name}”已有服务机构档案", field="organisation")
    unknown = sorted(set(profile) - set(PROFILE_FIELDS))
    if unknown:
        raise InvalidInput("不能填写的字段：" + "、".join(unknown), field=unknown[0])
    problems = Problems()
    values = {"legal_form": legal_form, "legal_representative": legal_representative, **profile}
    cleaned = _clean_provider(values, partial=True, problems=problems)
    areas = problems.check("service_areas", lambda: _clean_areas(actor, service_areas)) or []
    problems.raise_any()
    return _create_profile(actor, organisation, cleaned, areas)


@transaction.atomic
def provider_update(*, actor: Any, provider: Provider, **changes: Any) -> Provider:
    """Change a provider's organisation facts or profile; only the fields given are touched. A new credit
    code is checked by GB 32100 and must not belong to another organisation."""
    require_manage(actor, provider.organisation.region_id, hide=True)
    unknown = sorted(set(changes) - set(PROVIDER_FIELDS))
    if unknown:
        raise InvalidInput("不能修改的字段：" + "、".join(unknown), field=unknown[0])
    problems = Problems()
    cleaned = _clean_provider(changes, partial=True, problems=problems)
    problems.raise_any()
    if "region" in cleaned and is_person(actor) and not covers(actor, cleaned["region"].code):
        raise PermissionDenied(f"所在区域 {cleaned['region'].name} 不在您的管辖范围内", field="region")
    if (
        "credit_code" in cleaned
        and Organisation.objects.filter(credit_code=cleaned["credit_code"])
        .exclude(pk=provider.organisation_id)
        .exists()
    ):
        raise Conflict(f"统一社会信用代码 {cleaned['credit_code']} 已被其他机构登记", field="credit_code")
    locked = Provider.objects.select_for_update().select_related("organisation").get(pk=provider.pk)
    organisation = locked.organisation
    before = _snapshot(locked)
    # accounts has no organisation_update service; the provider profile owns these facts of a provider.
    for name in ("name", "credit_code", "region"):
        if name in cleaned:
            setattr(organisation, name, cleaned[name])
    for name in PROFILE_FIELDS:
        if name in cleaned:
            setattr(locked, name, cleaned[name])
    old, new = audit.changed_fields(before, _snapshot(locked))
    if not new:
        return locked
    organisation.save()
    locked.save()
    audit.record(actor, "provider.update", locked, region_code=organisation.region_id, before=old, after=new)
    return locked


@transaction.atomic
def provider_set_status(*, actor: Any, provider: Provider, status: str, reason: str = "") -> Provider:
    """Suspend, terminate or resume cooperation with a provider; leaving 正常 needs a reason on record.
    Suspended and terminated providers are not offered to dispatch (selectors.providers_serving)."""
    require_manage(actor, provider.organisation.region_id, hide=True)
    stopping = (ProviderStatus.SUSPENDED, ProviderStatus.TERMINATED)
    status, reason = clean_status(status, reason, ProviderStatus, stopping, "合作状态")
    locked = Provider.objects.select_for_update().select_related("organisation").get(pk=provider.pk)
    before = locked.status
    if before == status:
        raise Conflict(f"该机构已是“{ProviderStatus(status).label}”状态", field="status")
    locked.status, locked.status_reason, locked.status_since = status, reason, today()
    locked.save(update_fields=["status", "status_reason", "status_since", "updated_at"])
    audit.record(
        actor,
        "provider.status",
        locked,
        region_code=locked.organisation.region_id,
        before={"status": before},
        after={"status": status, "reason": reason},
    )
    transaction.on_commit(
        lambda: signals.provider_status_changed.send(sender=Provider, provider=locked, before=before)
    )
    return locked


@transaction.atomic
def provider_set_service_areas(*, actor: Any, provider: Provider, regions: Iterable[Any]) -> list[str]:
    """Set the divisions a provider serves (districts, streets or communities); each must exist and lie
    inside the actor's region. Dispatch offers the provider to elders living in these areas."""
    require_manage(actor, provider.organisation.region_id, hide=True)
    areas = _clean_areas(actor, regions)
    locked = Provider.objects.select_for_update().select_related("organisation").get(pk=provider.pk)
    before = sorted(locked.service_areas.values_list("code", flat=True))
    if before == areas:
        return areas
    _set_areas(locked, areas)
    added, removed = sorted(set(areas) - set(before)), sorted(set(before) - set(areas))
    audit.record(
        actor,
        "provider.areas",
        locked,
        region_code=locked.organisation.region_id,
        before={"service_areas": before},
        after={"service_areas": areas},
    )
    transaction.on_commit(
        lambda: signals.provider_areas_changed.send(
            sender=Provider, provider=locked, added=added, removed=removed
        )
    )
    return areas


@transaction.atomic
def provider_record_rating(*, actor: Any, provider: Provider, score: Any) -> Provider:
    """Add one rating (1–5) to a provider's running mean. The orders app calls this after an elder
    confirms a visit (its own rules decide who may rate); a person calling it needs PROVIDERS_MANAGE."""
    if is_person(actor):
        require_perm(actor, Perm.PROVIDERS_MANAGE)
    value = validation.decimal(score, field="score", label="评分", places=1, minimum=1, maximum=5)
    # One UPDATE computes the new mean from the row's current values, so ratings recorded at the same
    # moment all count. Cast to float: SQLite would otherwise divide integers and truncate.
    total = Cast(Coalesce(F("rating"), Decimal("0")) * F("rating_count"), FloatField()) + float(value)
    Provider.objects.filter(pk=provider.pk).update(
        rating=total / (F("rating_count") + 1), rating_count=F("rating_count") + 1
    )
    provider.refresh_from_db(fields=["rating", "rating_count"])
    audit.record(
        actor,
        "provider.rating",
        provider,
        region_code=provider.organisation.region_id,
        after={"score": value, "rating": provider.rating, "rating_count": provider.rating_count},
    )
    return provider


@transaction.atomic
def provider_reveal_contact_phone(*, actor: Any, provider: Provider) -> str:
    """The provider's contact phone in full, for a role that may see personal numbers (audited)."""
    if is_person(actor):
        require_perm(actor, Perm.PII_VIEW)
    audit.record(actor, "provider.view_contact_phone", provider, region_code=provider.organisation.region_id)
    return provider.contact_phone


# --- offers --------------------------------------------------------------------------------------
def _item(item: CatalogueItem | str) -> CatalogueItem:
    if isinstance(item, CatalogueItem):
        return item
    found = CatalogueItem.objects.filter(code=str(item or "").strip()).first()
    if found is None:
        raise InvalidInput(f"服务目录中没有代码为“{item}”的项目", field="item")
    return found


@transaction.atomic
def offer_set(
    *, actor: Any, provider: Provider, item: CatalogueItem | str, price: Any, is_active: bool = True
) -> ProviderOffer:
    """Offer a catalogue item at the provider's price, or change the price of an existing offer (one offer
    per provider and item). The price must be above zero."""
    require_manage(actor, provider.organisation.region_id, hide=True)
    problems = Problems()
    found = problems.check("item", lambda: _item(item))
    amount = problems.check(
        "price",
        lambda: validation.decimal(
            price, field="price", label="价格", positive=True, maximum=MAX_PRICE, unit="元"
        ),
    )
    problems.raise_any()
    assert found is not None and amount is not None  # raise_any raised otherwise
    if not found.is_active and is_active:
        raise InvalidInput(f"服务项目“{found.name}”已停用，不能报价", field="item")
    # The status as it is now (the caller's object may be older), and a lock against a concurrent change.
    status = Provider.objects.select_for_update().values_list("status", flat=True).get(pk=provider.pk)
    if status == ProviderStatus.TERMINATED and is_active:
        raise Conflict("已终止合作的机构不能新增或修改报价", field="item")
    offer = ProviderOffer.objects.filter(provider=provider, item=found).first()
    before = {"price": offer.price, "is_active": offer.is_active} if offer else None
    if offer is None:
        offer = ProviderOffer.objects.create(provider=provider, item=found, price=amount, is_active=is_active)
    else:
        offer.price, offer.is_active = amount, is_active
        offer.save(update_fields=["price", "is_active", "updated_at"])
    audit.record(
        actor,
        "provider.offer.set",
        provider,
        region_code=provider.organisation.region_id,
        before=before,
        after={"item": found.code, "price": amount, "is_active": is_active},
    )
    return offer


@transaction.atomic
def offer_withdraw(*, actor: Any, provider: Provider, item: CatalogueItem | str) -> ProviderOffer:
    """Stop offering an item; the offer stays on record (inactive) for the orders that used it."""
    require_manage(actor, provider.organisation.region_id, hide=True)
    found = _item(item)
    Provider.objects.select_for_update().values_list("pk", flat=True).get(pk=provider.pk)
    offer = ProviderOffer.objects.filter(provider=provider, item=found).first()
    if offer is None:
        raise NotFound(f"该机构没有“{found.name}”的报价", field="item")
    if not offer.is_active:
        raise Conflict(f"“{found.name}”的报价已撤下", field="item")
    offer.is_active = False
    offer.save(update_fields=["is_active", "updated_at"])
    audit.record(
        actor,
        "provider.offer.withdraw",
        provider,
        region_code=provider.organisation.region_id,
        after={"item": found.code},
    )
    return offer


# --- purchase contracts --------------------------------------------------------------------------
CONTRACT_FIELDS = ("number", "title", "region", "start_on", "end_on", "budget", "items", "signed_on", "note")
_CONTRACT_REQUIRED = ("number", "title", "region", "start_on", "end_on", "budget")


def _items(raw: Any) -> list[CatalogueItem]:
    wanted = sorted({(i.code if isinstance(i, CatalogueItem) else str(i).strip()) for i in raw or [] if i})
    found = {i.code: i for i in CatalogueItem.objects.filter(code__in=wanted)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise InvalidInput("服务目录中没有这些项目：" + "、".join(missing), field="items")
    return [found[c] for c in wanted]


_CONTRACT_STEPS: dict[str, Callable[[Any], Any]] = {
    "number": lambda v: validation.text(v, field="number", label="合同编号", max_length=60, required=True),
    "title": lambda v: validation.text(v, field="title", label="合同名称", max_length=200, required=True),
    "region": lambda v: known_region(v, field="region", label="采购方所在区域"),
    "start_on": lambda v: validation.day(v, field="start_on", label="开始日期"),
    "end_on": lambda v: validation.day(v, field="end_on", label="结束日期"),
    "budget": lambda v: validation.decimal(
        v, field="budget", label="合同金额", minimum=0, maximum=MAX_BUDGET, unit="元"
    ),
    "items": _items,
    "signed_on": lambda v: validation.day(v, field="signed_on", label="签订日期", required=False),
    "note": lambda v: validation.text(v, field="note", label="备注", max_length=300),
}


def _clean_contract(actor: Any, values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    unknown = sorted(set(values) - set(CONTRACT_FIELDS))
    if unknown:
        raise InvalidInput("不能填写的字段：" + "、".join(unknown), field=unknown[0])
    problems = Problems()
    cleaned = validation.clean_fields(
        values, _CONTRACT_STEPS, required=_CONTRACT_REQUIRED, partial=partial, problems=problems
    )
    place = cleaned.get("region")
    if place is not None and is_person(actor) and not covers(actor, place.code):
        problems.add("region", f"采购方所在区域 {place.name} 不在您的管辖范围内")
    signed = cleaned.get("signed_on")
    if signed is not None and signed > today():
        problems.add("signed_on", f"签订日期 {signed.isoformat()} 晚于今天")
    problems.raise_any()
    return cleaned


def _check_period(start_on: date, end_on: date) -> None:
    if end_on < start_on:
        raise InvalidInput(
            f"结束日期 {end_on.isoformat()} 早于开始日期 {start_on.isoformat()}", field="end_on"
        )


def _number_taken(number: str, contract: PurchaseContract | None = None) -> None:
    others = PurchaseContract.objects.filter(number=number)
    if contract is not None:
        others = others.exclude(pk=contract.pk)
    if others.exists():
        raise Conflict(f"合同编号 {number} 已登记", field="number")


def _contract_snapshot(contract: PurchaseContract, items: list[str]) -> dict[str, Any]:
    values = {name: getattr(contract, name) for name in CONTRACT_FIELDS if name not in ("region", "items")}
    return {**values, "region": contract.region_id, "items": items}


@transaction.atomic
def contract_create(*, actor: Any, provider: Provider, **values: Any) -> PurchaseContract:
    """Record a government purchase-of-services contract: unique number, end on or after start, budget
    not negative, purchasing government inside the actor's region."""
    require_manage(actor, provider.organisation.region_id, hide=True)
    cleaned = _clean_contract(actor, values, partial=False)
    _check_period(cleaned["start_on"], cleaned["end_on"])
    _number_taken(cleaned["number"])
    items = cleaned.pop("items", [])
    try:
        with transaction.atomic():
            contract = PurchaseContract.objects.create(provider=provider, **cleaned)
    except IntegrityError:
        _number_taken(cleaned["number"])  # the number was taken meanwhile: say so
        raise
    contract.items.set(items)
    audit.record(
        actor,
        "provider.contract.create",
        contract,
        region_code=contract.region_id,
        after={"provider": provider.pk, **_contract_snapshot(contract, [i.code for i in items])},
    )
    return contract


@transaction.atomic
def contract_update(*, actor: Any, contract: PurchaseContract, **changes: Any) -> PurchaseContract:
    """Change a contract's facts; the same rules as when it was recorded."""
    require_manage(actor, contract.provider.organisation.region_id, hide=True)
    cleaned = _clean_contract(actor, changes, partial=True)
    locked = PurchaseContract.objects.select_for_update().get(pk=contract.pk)
    _check_period(cleaned.get("start_on", locked.start_on), cleaned.get("end_on", locked.end_on))
    if "number" in cleaned:
        _number_taken(cleaned["number"], locked)
    before_items = sorted(locked.items.values_list("code", flat=True))
    before = _contract_snapshot(locked, before_items)
    items = cleaned.pop("items", None)
    for name, value in cleaned.items():
        setattr(locked, name, value)
    after_items = sorted(i.code for i in items) if items is not None else before_items
    old, new = audit.changed_fields(before, _contract_snapshot(locked, after_items))
    if not new:
        return locked
    locked.save()
    if items is not None:
        locked.items.set(items)
    audit.record(
        actor, "provider.contract.update", locked, region_code=locked.region_id, before=old, after=new
    )
    return locked
