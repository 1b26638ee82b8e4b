"""facilities_serving: the operating facilities offering a service to a region — those in it, and those
whose kind serves a wider area containing it (a district centre its district, a street centre its street)."""

import pytest

from yanglao.core.errors import InvalidInput
from yanglao.core.testing import HOME_COMMUNITY
from yanglao.facilities import selectors, services

NEIGHBOUR = "120101001002"  # 滨西社区, same street as the home community
OTHER_STREET = "120101002002"


@pytest.fixture
def network(make_facility):
    return {
        "district": make_facility(
            name="和平区养老服务指导中心",
            kind="district_centre",
            region="120101",
            services=["meals", "medical"],
        ),
        "street": make_facility(
            name="劝业场街道养老服务综合体",
            kind="street_centre",
            region=NEIGHBOUR,  # lies in one community, serves the whole street
            services=["meals", "bathing"],
            beds=30,
            floor_area_m2=1500,
        ),
        "home": make_facility(),  # day care in the home community, meals and day care
        "other_street": make_facility(name="泰安道社区日间照料中心", region=OTHER_STREET),
        "other_district": make_facility(
            name="河东区养老服务指导中心", kind="district_centre", region="120102", services=["meals"]
        ),
    }


def names(queryset):
    return sorted(f.name for f in queryset)


def test_a_community_is_served_by_its_own_street_and_district_facilities(network):
    assert names(selectors.facilities_serving(HOME_COMMUNITY, "meals")) == [
        "劝业场街道养老服务综合体",
        "和平区养老服务指导中心",
        "花园路社区日间照料中心",
    ]
    assert names(selectors.facilities_serving(OTHER_STREET, "meals")) == [
        "和平区养老服务指导中心",
        "泰安道社区日间照料中心",
    ]
    assert names(selectors.facilities_serving(HOME_COMMUNITY, "bathing")) == ["劝业场街道养老服务综合体"]
    assert names(selectors.facilities_serving(HOME_COMMUNITY, "repair")) == []


def test_a_street_is_served_by_everything_inside_it_and_its_district_centre(network):
    assert names(selectors.facilities_serving("120101001", "meals")) == [
        "劝业场街道养老服务综合体",
        "和平区养老服务指导中心",
        "花园路社区日间照料中心",
    ]


def test_closed_facilities_serve_no_one(network):
    services.facility_set_status(actor="tests", facility=network["home"], status="closed", reason="停业")
    assert "花园路社区日间照料中心" not in names(selectors.facilities_serving(HOME_COMMUNITY, "meals"))


def test_an_unknown_service_is_refused(db):
    with pytest.raises(InvalidInput):
        selectors.facilities_serving(HOME_COMMUNITY, "flying")
