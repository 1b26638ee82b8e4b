"""Registering a provider: the organisation and its profile in one transaction, the credit code checked
by GB 32100, every bad value named by its field, and scope."""

import pytest

from yanglao.accounts.models import Organisation
from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_DISTRICT, HOME_STREET, OTHER_DISTRICT
from yanglao.providers import services
from yanglao.providers.models import Provider
from yanglao.providers.tests.conftest import provider_facts


def test_registering_creates_the_organisation_and_the_profile_together(cast):
    provider = services.provider_register(
        actor=cast.city_admin, **provider_facts(service_areas=[HOME_STREET, f"{HOME_STREET}001"])
    )
    organisation = provider.organisation
    assert organisation.kind == "provider" and organisation.region_id == HOME_DISTRICT
    assert provider.status == "active" and provider.contact_phone == "02223456789"
    # The community lies inside the street already chosen, so only the street is kept.
    assert list(provider.service_areas.values_list("code", flat=True)) == [HOME_STREET]
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {"organisation.create", "provider.register"} <= actions
    log = AuditLog.objects.get(action="provider.register")
    assert log.changes["after"]["contact_phone"] == "022****6789"  # masked in the trail


def test_a_credit_code_failing_the_gb32100_check_is_refused_with_its_field(cast):
    facts = provider_facts()
    code = facts["credit_code"]
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as caught:
        services.provider_register(actor=cast.city_admin, **{**facts, "credit_code": wrong})
    assert caught.value.field == "credit_code" and "校验位" in caught.value.message
    assert not Organisation.objects.filter(credit_code=wrong).exists()


def test_a_credit_code_already_registered_is_a_conflict_naming_the_field(cast):
    taken = cast.organisations["provider"].credit_code
    with pytest.raises(Conflict) as caught:
        services.provider_register(actor=cast.city_admin, **provider_facts(credit_code=taken.lower()))
    assert caught.value.field == "credit_code"
    assert Provider.objects.count() == 0


def test_every_bad_value_is_reported_at_once_with_its_field(cast):
    with pytest.raises(InvalidInput) as caught:
        services.provider_register(
            actor=cast.city_admin,
            name="  ",
            credit_code="12345",
            region="9999",
            legal_form="company",
            legal_representative="",
            contact_phone="12345",
            latitude=117.2,  # swapped with the longitude
            longitude=39.1,
            daily_capacity=-3,
            service_areas=["120101999"],
        )
    fields = {d["field"] for d in caught.value.details}
    assert fields == {
        "name",
        "credit_code",
        "region",
        "legal_form",
        "legal_representative",
        "contact_phone",
        "latitude",
        "longitude",
        "daily_capacity",
        "service_areas",
    }
    assert all(d["message"] for d in caught.value.details)
    assert Organisation.objects.filter(kind="provider").count() == 2  # only the cast's


def test_a_position_needs_both_coordinates(cast):
    with pytest.raises(InvalidInput) as caught:
        services.provider_register(actor=cast.city_admin, **provider_facts(latitude=39.1))
    assert caught.value.field == "longitude"


def test_the_legal_form_may_be_given_by_its_chinese_label(cast):
    provider = services.provider_register(actor=cast.city_admin, **provider_facts(legal_form="事业单位"))
    assert provider.legal_form == "public_unit"


@pytest.mark.parametrize("who", ["district_staff", "provider_admin", "community_worker", "operator"])
def test_only_holders_of_providers_manage_register(cast, who):
    with pytest.raises(PermissionDenied):
        services.provider_register(actor=getattr(cast, who), **provider_facts())


def test_a_region_or_service_area_outside_the_actor_s_region_is_refused(cast):
    from yanglao.accounts.roles import Role
    from yanglao.core.testing import make_user

    district_admin = make_user("hp_admin", Role.CITY_ADMIN, HOME_DISTRICT)
    with pytest.raises(PermissionDenied) as caught:
        services.provider_register(actor=district_admin, **provider_facts(region=OTHER_DISTRICT))
    assert caught.value.field == "region"
    with pytest.raises(PermissionDenied) as caught:
        services.provider_register(actor=district_admin, **provider_facts(service_areas=[OTHER_DISTRICT]))
    assert caught.value.field == "service_areas"


def test_an_existing_organisation_gets_a_profile_once(cast):
    organisation = cast.organisations["provider"]
    services.provider_attach(
        actor=cast.city_admin, organisation=organisation, legal_form="enterprise", legal_representative="周"
    )
    with pytest.raises(Conflict) as caught:
        services.provider_attach(
            actor=cast.city_admin,
            organisation=organisation,
            legal_form="enterprise",
            legal_representative="周",
        )
    assert caught.value.field == "organisation"
    with pytest.raises(InvalidInput) as caught:
        services.provider_attach(
            actor=cast.city_admin,
            organisation=cast.organisations["canteen"],
            legal_form="enterprise",
            legal_representative="冯",
        )
    assert caught.value.field == "organisation"
