"""Who sees which provider and which care worker: outside one's scope the answer is 404."""

import pytest

from yanglao.accounts.roles import Role
from yanglao.core.errors import NotFound, PermissionDenied
from yanglao.core.testing import OTHER_DISTRICT, make_user
from yanglao.providers import selectors, services
from yanglao.providers.tests.conftest import provider_facts, worker_id


def visible(user):
    return sorted(p.organisation.name for p in selectors.providers_visible(user))


def test_staff_see_providers_located_in_or_serving_their_region(cast, provider, other_provider):
    assert visible(cast.city_admin) == ["和平区测试服务中心", "河东区测试服务中心"]
    assert visible(cast.district_staff) == ["和平区测试服务中心"]
    assert visible(cast.other_district_staff) == ["河东区测试服务中心"]
    # A street clerk sees the provider serving their street; a community worker the one serving theirs.
    assert visible(cast.street_staff) == ["和平区测试服务中心"]
    assert visible(cast.community_worker) == ["和平区测试服务中心"]


def test_a_provider_registered_elsewhere_but_serving_the_district_is_visible_there(cast, other_provider):
    services.provider_set_service_areas(actor=cast.city_admin, provider=other_provider, regions=["120101"])
    assert visible(cast.district_staff) == ["河东区测试服务中心"]
    assert visible(cast.street_staff) == ["河东区测试服务中心"]  # the whole district covers the street


def test_district_staff_of_another_district_get_not_found(cast, provider):
    assert selectors.provider_get(cast.district_staff, provider.pk) == provider
    with pytest.raises(NotFound):
        selectors.provider_get(cast.other_district_staff, provider.pk)


def test_provider_staff_see_only_their_own_organisation(cast, provider, other_provider):
    assert visible(cast.provider_admin) == ["和平区测试服务中心"]
    assert visible(cast.other_provider_admin) == ["河东区测试服务中心"]
    with pytest.raises(NotFound):
        selectors.provider_get(cast.other_provider_admin, provider.pk)
    assert visible(cast.assessor) == [] and visible(cast.canteen_staff) == []


def test_elders_and_volunteers_see_no_providers_here(cast, provider):
    assert visible(cast.elder) == [] and visible(cast.volunteer) == []


def test_workers_are_seen_by_organisation_region_and_organisation(cast, make_worker):
    mine = make_worker(name="和平一号")
    theirs = make_worker(cast.organisations["other_provider"], name="河东一号")

    def names(user):
        return sorted(w.name for w in selectors.workers_visible(user))

    assert names(cast.city_admin) == ["和平一号", "河东一号"]
    assert names(cast.district_staff) == ["和平一号"]
    assert names(cast.other_district_staff) == ["河东一号"]
    assert names(cast.provider_admin) == ["和平一号"]
    assert names(cast.other_provider_admin) == ["河东一号"]
    assert names(cast.elder) == [] and names(cast.volunteer) == [] and names(cast.integration) == []
    with pytest.raises(NotFound):
        selectors.worker_get(cast.other_provider_admin, mine.pk)
    with pytest.raises(NotFound):
        selectors.worker_get(cast.district_staff, theirs.pk)


def test_a_care_worker_sees_only_their_own_record(cast, make_worker):
    make_worker(name="别人")
    assert list(selectors.workers_visible(cast.care_worker)) == []
    me = make_worker(name="护理员本人", username="care_worker")
    assert list(selectors.workers_visible(cast.care_worker)) == [me]


def test_provider_admins_edit_their_own_workers_only(cast, make_worker):
    mine = make_worker()
    services.worker_update(actor=cast.provider_admin, worker=mine, note="夜班")
    theirs = make_worker(cast.organisations["other_provider"])
    with pytest.raises(NotFound):
        services.worker_update(actor=cast.provider_admin, worker=theirs, note="x")
    with pytest.raises(PermissionDenied):
        services.worker_register(
            actor=cast.provider_admin,
            organisation=cast.organisations["other_provider"],
            name="x",
            id_number=worker_id(),
        )
    # District staff see the worker but may not change them.
    with pytest.raises(PermissionDenied):
        services.worker_update(actor=cast.district_staff, worker=mine, note="x")


def test_a_district_manager_manages_only_providers_of_their_district(cast):
    district_admin = make_user("hp_admin", Role.CITY_ADMIN, "120101")
    elsewhere = services.provider_register(actor=cast.city_admin, **provider_facts(region=OTHER_DISTRICT))
    with pytest.raises(NotFound):
        services.provider_set_status(actor=district_admin, provider=elsewhere, status="suspended", reason="x")
