"""The city's service catalogue: seeded with the twelve items of DOMAIN.md §5, edited by the city."""

from decimal import Decimal

import pytest

from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.providers import services
from yanglao.providers.models import CatalogueItem

DOMAIN_ITEMS = {
    "meals": "助餐",
    "bathing": "助浴",
    "cleaning": "助洁",
    "medical": "助医",
    "mobility": "助行",
    "shopping": "代购",
    "day_care": "日托",
    "personal_care": "生活照料",
    "rehabilitation": "康复护理",
    "escort": "陪诊",
    "companionship": "精神慰藉",
    "repair": "家政维修",
}


def test_the_migration_seeds_the_twelve_items_with_unit_duration_and_reference_price(db):
    items = {i.code: i for i in CatalogueItem.objects.all()}
    assert {code: i.name for code, i in items.items()} == DOMAIN_ITEMS
    assert all(i.is_active and i.standard_minutes > 0 and i.reference_price > 0 for i in items.values())
    assert items["meals"].unit == "meal" and items["day_care"].unit == "day"
    assert list(CatalogueItem.objects.values_list("code", flat=True))[:2] == ["meals", "bathing"]


def test_a_city_admin_adds_an_item_and_it_is_audited(cast):
    item = services.catalogue_item_create(
        actor=cast.city_admin,
        code="foot_care",
        name="足部护理",
        unit="次",  # the Chinese label is accepted
        standard_minutes="45",
        reference_price="60.5",
    )
    assert (item.unit, item.standard_minutes, item.reference_price) == ("visit", 45, Decimal("60.50"))
    assert AuditLog.objects.filter(action="catalogue.create", object_id=str(item.pk)).exists()


def test_every_bad_value_is_named_by_its_field(cast):
    with pytest.raises(InvalidInput) as caught:
        services.catalogue_item_create(
            actor=cast.city_admin,
            code="Foot Care",
            name="",
            unit="桶",
            standard_minutes=0,
            reference_price="-1",
        )
    fields = {d["field"] for d in caught.value.details}
    assert fields == {"code", "name", "unit", "standard_minutes", "reference_price"}
    assert CatalogueItem.objects.filter(code="Foot Care").count() == 0


def test_a_code_or_name_already_in_the_catalogue_is_a_conflict(cast):
    with pytest.raises(Conflict) as caught:
        services.catalogue_item_create(
            actor=cast.city_admin,
            code="bathing",
            name="洗澡",
            unit="visit",
            standard_minutes=60,
            reference_price=80,
        )
    assert caught.value.field == "code"
    with pytest.raises(Conflict) as caught:
        services.catalogue_item_create(
            actor=cast.city_admin,
            code="bath2",
            name="助浴",
            unit="visit",
            standard_minutes=60,
            reference_price=80,
        )
    assert caught.value.field == "name"


def test_an_update_changes_only_what_is_given_and_records_before_and_after(cast):
    item = CatalogueItem.objects.get(code="bathing")
    services.catalogue_item_update(actor=cast.city_admin, item=item, reference_price="88.00")
    item.refresh_from_db()
    assert item.reference_price == Decimal("88.00") and item.name == "助浴"
    log = AuditLog.objects.get(action="catalogue.update")
    assert log.changes == {"before": {"reference_price": "80.00"}, "after": {"reference_price": "88.00"}}


def test_the_code_cannot_be_changed_and_bad_values_are_refused(cast):
    item = CatalogueItem.objects.get(code="bathing")
    with pytest.raises(InvalidInput) as caught:
        services.catalogue_item_update(actor=cast.city_admin, item=item, code="bath")
    assert caught.value.field == "code"
    with pytest.raises(InvalidInput) as caught:
        services.catalogue_item_update(actor=cast.city_admin, item=item, standard_minutes=2000)
    assert caught.value.field == "standard_minutes"


@pytest.mark.parametrize("who", ["district_staff", "provider_admin", "community_worker"])
def test_only_city_level_holders_of_providers_manage_edit_the_catalogue(cast, who):
    item = CatalogueItem.objects.get(code="bathing")
    with pytest.raises(PermissionDenied):
        services.catalogue_item_update(actor=getattr(cast, who), item=item, reference_price="1")


def test_a_district_user_with_providers_manage_is_still_refused(cast):
    from yanglao.accounts.roles import Role
    from yanglao.core.testing import make_user

    # A city admin account mistakenly scoped to a district (as a deployment might grant) is not the city.
    district_admin = make_user("district_admin", Role.CITY_ADMIN, "120101")
    with pytest.raises(PermissionDenied, match="市级"):
        services.catalogue_item_update(
            actor=district_admin, item=CatalogueItem.objects.get(code="bathing"), name="x"
        )


def test_the_city_decides_which_items_the_service_account_may_pay(cast, client):
    item = services.catalogue_item_update(
        actor=cast.city_admin, item=CatalogueItem.objects.get(code="repair"), account_payable=False
    )
    assert item.account_payable is False
    assert AuditLog.objects.filter(action="catalogue.update", changes__after__account_payable=False).exists()
    client.force_login(cast.city_admin)
    listed = {i["code"]: i for i in client.get("/api/v1/providers/catalogue").json()}
    assert listed["repair"]["account_payable"] is False and listed["bathing"]["account_payable"] is True
    assert "仅自付" in client.get("/providers/catalogue/").content.decode()
