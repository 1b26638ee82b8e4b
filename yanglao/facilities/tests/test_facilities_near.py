"""facilities_near: the bounding box in SQL, the exact great-circle distance in Python; the answer
equals a brute-force haversine over every facility, nearest first."""

import math
import random

import pytest

from yanglao.core.errors import InvalidInput
from yanglao.facilities import selectors, services
from yanglao.facilities.models import Facility

CENTRE = (39.1172, 117.1950)  # 和平区


def offset(lat, lng, north_m, east_m):
    return lat + north_m / 111_195.0, lng + east_m / (111_195.0 * math.cos(math.radians(lat)))


@pytest.fixture
def scattered(make_facility):
    rng = random.Random(7)
    made = []
    for n in range(40):
        lat, lng = offset(*CENTRE, rng.uniform(-3000, 3000), rng.uniform(-3000, 3000))
        kind = "canteen" if n % 3 == 0 else "day_care"
        made.append(
            make_facility(name=f"测试设施{n}", kind=kind, latitude=round(lat, 6), longitude=round(lng, 6))
        )
    return made


def test_distance_is_the_great_circle_distance():
    assert selectors.distance_m(39.0, 117.0, 40.0, 117.0) == pytest.approx(111_195, rel=1e-3)
    assert selectors.distance_m(*CENTRE, *CENTRE) == 0
    # 北京 (Tiananmen) to 天津 (the railway station): about 109 km.
    assert selectors.distance_m(39.9042, 116.4074, 39.1356, 117.2009) == pytest.approx(109_000, rel=0.03)


@pytest.mark.parametrize("radius", [300, 1000, 1500, 2500, 5000])
def test_the_answer_equals_a_brute_force_search(scattered, radius):
    found = selectors.facilities_near(*CENTRE, radius)
    expected = sorted(
        (f for f in scattered if selectors.distance_m(*CENTRE, f.latitude, f.longitude) <= radius),
        key=lambda f: selectors.distance_m(*CENTRE, f.latitude, f.longitude),
    )
    assert [f.pk for f in found] == [f.pk for f in expected]
    distances = [f.distance_m for f in found]
    assert distances == sorted(distances) and all(d <= radius for d in distances)


def test_a_facility_in_the_boxs_corner_but_outside_the_circle_is_left_out(make_facility):
    corner = offset(*CENTRE, 900, 900)  # inside the 1 km box, 1.27 km away
    inside = offset(*CENTRE, 0, 950)
    make_facility(name="角落", latitude=corner[0], longitude=corner[1])
    make_facility(name="近处", latitude=inside[0], longitude=inside[1])
    assert [f.name for f in selectors.facilities_near(*CENTRE, 1000)] == ["近处"]


def test_kinds_and_status_narrow_the_search(cast, scattered):
    canteens = selectors.facilities_near(*CENTRE, 5000, kinds=["canteen"])
    assert canteens and {f.kind_id for f in canteens} == {"canteen"}
    nearest = selectors.facilities_near(*CENTRE, 5000)[0]
    services.facility_set_status(actor="tests", facility=nearest, status="closed", reason="停业")
    assert nearest.pk not in {f.pk for f in selectors.facilities_near(*CENTRE, 5000)}
    assert nearest.pk in {f.pk for f in selectors.facilities_near(*CENTRE, 5000, statuses=["closed"])}


def test_facilities_without_coordinates_are_never_near(make_facility):
    make_facility(latitude=None, longitude=None)
    assert selectors.facilities_near(*CENTRE, 100_000) == []
    assert Facility.objects.count() == 1


@pytest.mark.parametrize(
    ("lat", "lng", "radius", "field"),
    [
        (60, 117, 100, "latitude"),
        (39, 10, 100, "longitude"),
        (39, 117, 0, "radius_m"),
        (39, 117, 10**7, "radius_m"),
    ],
)
def test_bad_points_are_refused(db, lat, lng, radius, field):
    with pytest.raises(InvalidInput) as caught:
        selectors.facilities_near(lat, lng, radius)
    assert caught.value.field == field
