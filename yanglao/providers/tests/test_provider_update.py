"""Changing a provider: facts, cooperation status and service areas; all audited, all scoped."""

import pytest
from django.db import connection

from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_DISTRICT, HOME_STREET, OTHER_DISTRICT
from yanglao.providers import services, signals
from yanglao.providers.tests.conftest import provider_facts


def test_an_update_touches_only_the_fields_given_and_audits_the_change(cast, provider):
    services.provider_update(
        actor=cast.city_admin, provider=provider, name="和平区新名称中心", daily_capacity=60
    )
    provider.refresh_from_db()
    provider.organisation.refresh_from_db()
    assert provider.organisation.name == "和平区新名称中心" and provider.daily_capacity == 60
    assert provider.legal_representative == "周静"
    log = AuditLog.objects.get(action="provider.update")
    assert set(log.changes["after"]) == {"name", "daily_capacity"}


def test_a_new_credit_code_is_checked_and_must_be_free(cast, provider):
    with pytest.raises(InvalidInput) as caught:
        services.provider_update(actor=cast.city_admin, provider=provider, credit_code="91120101MA00000000")
    assert caught.value.field == "credit_code"
    with pytest.raises(Conflict) as caught:
        services.provider_update(
            actor=cast.city_admin,
            provider=provider,
            credit_code=cast.organisations["other_provider"].credit_code,
        )
    assert caught.value.field == "credit_code"


def test_fields_that_cannot_be_changed_are_named(cast, provider):
    with pytest.raises(InvalidInput) as caught:
        services.provider_update(actor=cast.city_admin, provider=provider, rating=5)
    assert caught.value.field == "rating"


def test_district_staff_may_read_but_not_change_a_provider(cast, provider):
    with pytest.raises(PermissionDenied):
        services.provider_update(actor=cast.district_staff, provider=provider, daily_capacity=1)


def test_a_provider_outside_the_managers_region_is_answered_as_not_found(cast, other_provider):
    from yanglao.accounts.roles import Role
    from yanglao.core.testing import make_user

    district_admin = make_user("hp_admin", Role.CITY_ADMIN, HOME_DISTRICT)
    with pytest.raises(NotFound):
        services.provider_update(actor=district_admin, provider=other_provider, daily_capacity=1)


def test_suspending_needs_a_reason_and_is_announced_after_commit(
    cast, provider, django_capture_on_commit_callbacks
):
    with pytest.raises(InvalidInput) as caught:
        services.provider_set_status(actor=cast.city_admin, provider=provider, status="suspended")
    assert caught.value.field == "status_reason"
    heard = []

    def listener(sender, provider, before, **kw):
        heard.append((provider.status, before))

    signals.provider_status_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.provider_set_status(
                actor=cast.city_admin, provider=provider, status="暂停", reason="消防检查不合格"
            )
    finally:
        signals.provider_status_changed.disconnect(listener)
    provider.refresh_from_db()
    assert (provider.status, provider.status_reason) == ("suspended", "消防检查不合格")
    assert heard == [("suspended", "active")]
    with pytest.raises(Conflict) as caught:
        services.provider_set_status(actor=cast.city_admin, provider=provider, status="suspended", reason="x")
    assert caught.value.field == "status"
    with pytest.raises(InvalidInput) as caught:
        services.provider_set_status(actor=cast.city_admin, provider=provider, status="closed")
    assert caught.value.field == "status"


def test_service_areas_must_exist_and_lie_inside_the_actors_region(cast, provider):
    with pytest.raises(InvalidInput) as caught:
        services.provider_set_service_areas(actor=cast.city_admin, provider=provider, regions=["120101999"])
    assert caught.value.field == "service_areas"
    with pytest.raises(InvalidInput) as caught:
        services.provider_set_service_areas(actor=cast.city_admin, provider=provider, regions=["12010100"])
    assert caught.value.field == "service_areas"
    with pytest.raises(PermissionDenied) as caught:
        services.provider_set_service_areas(actor=cast.city_admin, provider=provider, regions=["12"])
    assert caught.value.field == "service_areas"


def test_setting_areas_replaces_them_and_records_what_changed(cast, provider):
    areas = services.provider_set_service_areas(
        actor=cast.city_admin, provider=provider, regions=[f"{HOME_DISTRICT}002", OTHER_DISTRICT]
    )
    assert areas == [f"{HOME_DISTRICT}002", OTHER_DISTRICT]
    assert sorted(provider.service_areas.values_list("code", flat=True)) == areas
    log = AuditLog.objects.get(action="provider.areas")
    assert log.changes["before"]["service_areas"] == [HOME_STREET]


def test_registration_through_a_superuser_without_region_sees_everything(cast):
    provider = services.provider_register(actor=cast.superuser, **provider_facts(region=OTHER_DISTRICT))
    assert provider.organisation.region_id == OTHER_DISTRICT


def test_the_contact_phone_is_stored_encrypted(cast, provider):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_phone, contact_phone_hash FROM providers_provider WHERE id = %s", [provider.pk]
        )
        stored, digest = cursor.fetchone()
    assert "13812345678" not in stored and digest and "13812345678" not in digest
