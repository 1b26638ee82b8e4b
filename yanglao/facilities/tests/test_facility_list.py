"""facilities_visible / facility_list / facility_get: scoped reads with one meaning for every filter."""

import pytest

from yanglao.core.errors import InvalidInput, NotFound, PermissionDenied
from yanglao.facilities import selectors
from yanglao.facilities.selectors import FacilityFilter
from yanglao.facilities.tests.conftest import institution


@pytest.fixture
def spread(cast, make_facility):
    """Facilities in the home community, the home street, the home district and another district."""
    return {
        "day_care": make_facility(),
        "canteen": make_facility(
            name="花园路社区老人家食堂", kind="canteen", services=["meals"], ltc_designated=True
        ),
        "institution": make_facility(institution(operator=cast.organisations["provider"].pk)),
        "other_street": make_facility(
            name="泰安道社区日间照料中心", region="120101002002", address="和平区小白楼街道泰安道5号"
        ),
        "other_district": make_facility(
            institution(
                name="河东区颐康养老院",
                region="120102001",
                operator=cast.organisations["other_provider"].pk,
                filing_number="120102-2020-00009",
                grade=5,
                ltc_designated=False,
            )
        ),
    }


def names(queryset):
    return sorted(f.name for f in queryset)


def test_each_role_sees_its_own_region(cast, spread):
    everyone = names(spread.values())
    assert names(selectors.facilities_visible(cast.city_admin)) == everyone
    assert names(selectors.facilities_visible(cast.superuser)) == everyone
    district = names(selectors.facilities_visible(cast.district_staff))
    assert "河东区颐康养老院" not in district and len(district) == 4
    assert names(selectors.facilities_visible(cast.other_district_staff)) == ["河东区颐康养老院"]
    assert names(selectors.facilities_visible(cast.street_staff)) == [
        "和平区颐年养老院",
        "花园路社区日间照料中心",
        "花园路社区老人家食堂",
    ]
    assert names(selectors.facilities_visible(cast.community_worker)) == [
        "花园路社区日间照料中心",
        "花园路社区老人家食堂",
    ]


def test_an_operator_also_sees_the_facilities_it_runs_elsewhere(cast, spread):
    spread["other_district"].operator = cast.organisations["provider"]
    spread["other_district"].save()
    visible = names(selectors.facilities_visible(cast.provider_admin))
    assert "河东区颐康养老院" in visible and len(visible) == 5


@pytest.mark.parametrize("role", ["elder", "volunteer", "integration"])
def test_roles_that_read_neither_dashboard_nor_elders_are_refused(cast, role):
    with pytest.raises(PermissionDenied):
        selectors.facilities_visible(getattr(cast, role))


def test_a_facility_outside_the_scope_is_not_found(cast, spread):
    with pytest.raises(NotFound):
        selectors.facility_get(cast.other_district_staff, spread["day_care"].pk)
    assert selectors.facility_get(cast.district_staff, spread["day_care"].pk) == spread["day_care"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"kinds": ["canteen"]}, ["花园路社区老人家食堂"]),
        ({"kinds": ["day_care", ""]}, ["泰安道社区日间照料中心", "花园路社区日间照料中心"]),
        ({"region": "120101002"}, ["泰安道社区日间照料中心"]),
        ({"region": "120101002000"}, ["泰安道社区日间照料中心"]),
        ({"operating_models": ["private"]}, ["和平区颐年养老院", "河东区颐康养老院"]),
        ({"grades": ["5"]}, ["河东区颐康养老院"]),
        ({"grades": ["3", "5"]}, ["和平区颐年养老院", "河东区颐康养老院"]),
        ({"grades": ["none"], "kinds": ["canteen"]}, ["花园路社区老人家食堂"]),
        ({"ltc": True}, ["和平区颐年养老院", "花园路社区老人家食堂"]),
        ({"ltc": False, "region": "120101"}, ["泰安道社区日间照料中心", "花园路社区日间照料中心"]),
        (
            {"services": ["meals"]},
            ["泰安道社区日间照料中心", "花园路社区日间照料中心", "花园路社区老人家食堂"],
        ),
        ({"services": ["meals", "day_care"]}, ["泰安道社区日间照料中心", "花园路社区日间照料中心"]),
        ({"services": ["rehabilitation"]}, ["和平区颐年养老院", "河东区颐康养老院"]),
        ({"q": "颐"}, ["和平区颐年养老院", "河东区颐康养老院"]),
        ({"q": "花园路12号"}, ["花园路社区日间照料中心", "花园路社区老人家食堂"]),
        ({"statuses": ["closed"]}, []),
    ],
)
def test_filters(cast, spread, filters, expected):
    assert names(selectors.facility_list(cast.city_admin, FacilityFilter(**filters))) == expected


def test_sorting(cast, spread):
    by_beds = [f.name for f in selectors.facility_list(cast.city_admin, FacilityFilter(sort="-beds"))][:2]
    assert sorted(by_beds) == ["和平区颐年养老院", "河东区颐康养老院"]
    by_kind = [f.kind_id for f in selectors.facility_list(cast.city_admin, FacilityFilter())]
    assert by_kind == ["day_care", "day_care", "canteen", "institution", "institution"]
    occupancy = list(selectors.facility_list(cast.city_admin, FacilityFilter(sort="-occupancy")))
    assert occupancy[0].occupancy is not None and occupancy[-1].occupancy is None
    graded = [f.grade for f in selectors.facility_list(cast.city_admin, FacilityFilter(sort="-grade"))]
    assert graded[:2] == [5, 3] and graded[2:] == [None, None, None]


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"kinds": ["hospital"]}, "kinds"),
        ({"operating_models": ["state"]}, "operating_models"),
        ({"grades": ["6"]}, "grades"),
        ({"statuses": ["open"]}, "statuses"),
        ({"services": ["flying"]}, "services"),
        ({"sort": "age"}, "sort"),
        ({"region": "12x"}, "region"),
    ],
)
def test_unknown_filter_values_are_refused_naming_the_filter(cast, filters, field):
    with pytest.raises(InvalidInput) as caught:
        selectors.facility_list(cast.city_admin, FacilityFilter(**filters))
    assert caught.value.field == field


def test_totals_give_beds_and_the_occupancy_rate(cast, spread):
    totals = selectors.totals(selectors.facility_list(cast.city_admin, FacilityFilter()))
    assert totals == {"count": 5, "beds": 240, "occupied": 180, "occupancy_percent": 75.0}
    assert (
        selectors.totals(selectors.facility_list(cast.city_admin, FacilityFilter(kinds=["canteen"])))[
            "occupancy_percent"
        ]
        is None
    )
