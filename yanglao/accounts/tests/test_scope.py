"""The one scoping helper: each role sees the people of its region and organisation, nothing else.
Users themselves are people with a region, so the helper is exercised on the user table."""

import pytest

from yanglao.accounts.models import ApiToken, User
from yanglao.accounts.scope import covers, people, require_region
from yanglao.core.errors import NotFound, PermissionDenied


def visible(actor, **extra):
    return set(
        people(actor, User.objects.all(), region_field="region_id", **extra).values_list(
            "username", flat=True
        )
    )


def test_the_city_sees_everyone_in_the_city(cast):
    assert visible(cast.city_admin) == set(
        User.objects.exclude(region=None).values_list("username", flat=True)
    )


def test_a_district_sees_its_district_and_not_its_neighbour(cast):
    seen = visible(cast.district_staff)
    assert {"district_staff", "street_staff", "community_worker", "provider_admin"} <= seen
    assert not seen & {"other_district_staff", "other_community_worker", "city_admin"}


def test_a_community_worker_sees_only_their_community(cast):
    assert visible(cast.community_worker) == {"community_worker", "volunteer", "elder"}


def test_an_organisation_bound_role_sees_nothing_without_an_organisation_link(cast):
    assert visible(cast.provider_admin) == set()
    linked = visible(cast.provider_admin, organisation_field="organisation_id")
    assert linked == {"provider_admin", "care_worker"}
    assert "other_provider_admin" not in visible(cast.other_provider_admin) | linked


def test_an_elder_sees_only_what_is_linked_to_them(cast):
    assert visible(cast.elder) == set()
    from yanglao.accounts.services import token_create

    mine, _ = token_create(actor="test", user=cast.elder)
    token_create(actor="test", user=cast.volunteer)
    rows = people(cast.elder, ApiToken.objects.all(), region_field="user__region_id", self_field="user")
    assert list(rows) == [mine]


def test_inactive_and_anonymous_users_see_nothing(cast):
    from django.contrib.auth.models import AnonymousUser

    cast.city_admin.is_active = False
    assert visible(cast.city_admin) == set()
    assert visible(AnonymousUser()) == set()


def test_superusers_see_everything(cast):
    assert visible(cast.superuser) == set(User.objects.values_list("username", flat=True))


def test_require_region_refuses_or_hides_outside_the_scope(cast):
    require_region(cast.district_staff, "120101001001")
    with pytest.raises(PermissionDenied):
        require_region(cast.district_staff, "120102")
    with pytest.raises(NotFound):
        require_region(cast.district_staff, "120102", hide=True)
    assert covers(cast.city_admin, "120102001001")
    assert not covers(cast.community_worker, "120101001")
