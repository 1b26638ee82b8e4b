"""Who serves this community and offers this item: the question dispatch, meals and plans ask."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from yanglao.accounts.models import Organisation
from yanglao.core.errors import InvalidInput, NotFound
from yanglao.core.testing import HOME_COMMUNITY, HOME_DISTRICT, OTHER_DISTRICT, other_community
from yanglao.providers import selectors, services
from yanglao.providers.models import CatalogueItem
from yanglao.providers.tests.conftest import provider_facts


def serving(region, item="bathing"):
    return [(p.organisation.name, p.price) for p in selectors.providers_serving(region, item)]


def test_a_street_area_covers_its_communities_and_a_district_area_its_whole_district(
    cast, provider, other_provider
):
    assert serving(HOME_COMMUNITY) == [("和平区测试服务中心", Decimal("85.00"))]
    assert serving(other_community()) == [("河东区测试服务中心", Decimal("70.00"))]
    # Another street of 和平区 is not served by the provider of 劝业场街道.
    assert serving(f"{HOME_DISTRICT}002001") == []


def test_a_city_wide_provider_serves_every_community(cast, provider):
    wide = services.provider_register(
        actor=cast.city_admin, **provider_facts(name="全市助浴服务中心", service_areas=["1201"])
    )
    services.offer_set(actor=cast.city_admin, provider=wide, item="bathing", price="99")
    assert {name for name, _ in serving(HOME_COMMUNITY)} == {"和平区测试服务中心", "全市助浴服务中心"}
    assert serving(other_community()) == [("全市助浴服务中心", Decimal("99.00"))]


def test_a_withdrawn_offer_or_an_item_not_offered_is_excluded(cast, provider):
    assert serving(HOME_COMMUNITY, "cleaning") == []
    services.offer_withdraw(actor=cast.city_admin, provider=provider, item="bathing")
    assert serving(HOME_COMMUNITY) == []


def test_suspended_or_terminated_providers_and_disabled_organisations_are_excluded(cast, provider):
    services.provider_set_status(actor=cast.city_admin, provider=provider, status="suspended", reason="整改")
    assert serving(HOME_COMMUNITY) == []
    services.provider_set_status(actor=cast.city_admin, provider=provider, status="active")
    assert len(serving(HOME_COMMUNITY)) == 1
    Organisation.objects.filter(pk=provider.organisation_id).update(is_active=False)
    assert serving(HOME_COMMUNITY) == []


def test_an_inactive_catalogue_item_is_served_by_nobody(cast, provider):
    CatalogueItem.objects.filter(code="bathing").update(is_active=False)
    assert serving(HOME_COMMUNITY) == []


def test_best_rated_first_with_unrated_last(cast, provider, other_provider):
    services.provider_set_service_areas(actor=cast.city_admin, provider=other_provider, regions=["1201"])
    services.provider_record_rating(actor="orders", provider=other_provider, score=5)
    services.provider_record_rating(actor="orders", provider=provider, score=3)
    assert [name for name, _ in serving(HOME_COMMUNITY)] == ["河东区测试服务中心", "和平区测试服务中心"]


def test_the_answer_costs_two_queries_however_many_providers(cast, provider, other_provider):
    for n in range(5):
        extra = services.provider_register(
            actor=cast.city_admin, **provider_facts(name=f"机构{n}", service_areas=[HOME_DISTRICT])
        )
        services.offer_set(actor=cast.city_admin, provider=extra, item="bathing", price=80 + n)
    with CaptureQueriesContext(connection) as queries:
        rows = [
            (p.organisation.name, p.price, p.offer_id)
            for p in selectors.providers_serving(HOME_COMMUNITY, "bathing")
        ]
    assert len(rows) == 6 and all(offer for _, _, offer in rows)
    assert len(queries.captured_queries) == 2


def test_an_unknown_item_or_a_malformed_region_is_named(cast):
    with pytest.raises(NotFound) as caught:
        selectors.providers_serving(HOME_COMMUNITY, "massage")
    assert caught.value.field == "item"
    with pytest.raises(InvalidInput) as caught:
        selectors.providers_serving("12010100100", "bathing")
    assert caught.value.field == "region"
    # A code of OTHER_DISTRICT padded to 12 digits is read as the district itself.
    assert selectors.providers_serving(OTHER_DISTRICT.ljust(12, "0"), "bathing").count() == 0
