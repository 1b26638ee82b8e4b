"""Government purchase contracts: unique number, end on or after start, budget not negative."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_DISTRICT
from yanglao.providers import services


def contract_facts(**overrides):
    facts = {
        "number": "HPMZ-2026-001",
        "title": "2026年度居家养老上门服务",
        "region": HOME_DISTRICT,
        "start_on": date(2026, 1, 1),
        "end_on": date(2026, 12, 31),
        "budget": "1200000",
        "items": ["bathing", "cleaning"],
        "signed_on": date(2025, 12, 20),
    }
    facts.update(overrides)
    return facts


def test_a_contract_is_recorded_with_its_items_and_audited(cast, provider):
    contract = services.contract_create(actor=cast.city_admin, provider=provider, **contract_facts())
    assert contract.budget == Decimal("1200000.00")
    assert sorted(contract.items.values_list("code", flat=True)) == ["bathing", "cleaning"]
    log = AuditLog.objects.get(action="provider.contract.create")
    assert log.changes["after"]["items"] == ["bathing", "cleaning"]


def test_every_bad_value_is_named_by_its_field(cast, provider):
    future = timezone.localdate().replace(year=timezone.localdate().year + 1)
    with pytest.raises(InvalidInput) as caught:
        services.contract_create(
            actor=cast.city_admin,
            provider=provider,
            number="",
            title="",
            region="120199",
            start_on="2026-13-01",
            end_on=None,
            budget="-1",
            items=["massage"],
            signed_on=future,
        )
    fields = {d["field"] for d in caught.value.details}
    assert fields == {"number", "title", "region", "start_on", "end_on", "budget", "items", "signed_on"}


def test_the_end_may_not_precede_the_start(cast, provider):
    with pytest.raises(InvalidInput) as caught:
        services.contract_create(
            actor=cast.city_admin, provider=provider, **contract_facts(end_on=date(2025, 12, 31))
        )
    assert caught.value.field == "end_on"
    contract = services.contract_create(actor=cast.city_admin, provider=provider, **contract_facts())
    with pytest.raises(InvalidInput) as caught:
        services.contract_update(actor=cast.city_admin, contract=contract, start_on=date(2027, 1, 1))
    assert caught.value.field == "end_on"


def test_a_number_already_used_is_a_conflict(cast, provider, other_provider):
    services.contract_create(actor=cast.city_admin, provider=provider, **contract_facts())
    with pytest.raises(Conflict) as caught:
        services.contract_create(actor=cast.city_admin, provider=other_provider, **contract_facts())
    assert caught.value.field == "number"


def test_an_update_changes_items_and_budget(cast, provider):
    contract = services.contract_create(actor=cast.city_admin, provider=provider, **contract_facts())
    services.contract_update(actor=cast.city_admin, contract=contract, items=["meals"], budget="0")
    contract.refresh_from_db()
    assert contract.budget == Decimal("0.00")
    assert list(contract.items.values_list("code", flat=True)) == ["meals"]
    log = AuditLog.objects.get(action="provider.contract.update")
    assert log.changes["after"] == {"budget": "0.00", "items": ["meals"]}


def test_a_purchasing_region_outside_the_actor_s_is_refused(cast, provider):
    with pytest.raises(InvalidInput) as caught:
        services.contract_create(actor=cast.city_admin, provider=provider, **contract_facts(region="12"))
    assert caught.value.field == "region"
    with pytest.raises(PermissionDenied):
        services.contract_create(actor=cast.district_staff, provider=provider, **contract_facts())
