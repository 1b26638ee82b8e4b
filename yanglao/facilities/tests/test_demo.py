"""The demo step: every kind, in the seed's proportions scaled to the demo population, one district
centre per district with elders, real names and positions near the elders, valid by the same rules as
the services, and idempotent."""

import io
from collections import Counter

import pytest
from django.utils import timezone

from yanglao.core.demo import STEPS
from yanglao.core.models import AuditLog
from yanglao.facilities import demo, validation
from yanglao.facilities.models import Facility
from yanglao.regions.models import Region

DISTRICTS = 16  # Tianjin


def by_kind():
    return Counter(Facility.objects.values_list("kind_id", flat=True))


def test_the_step_is_registered_after_the_population():
    assert STEPS["facilities.demo"].order == 40 > STEPS["registry.population"].order


def test_a_second_run_adds_nothing(db):
    out = io.StringIO()
    created = demo.demo_facilities(elders=20_000, root="1201", stdout=out)
    assert created == Facility.objects.count() > 0
    assert "demo facilities" in out.getvalue()
    assert demo.demo_facilities(elders=20_000, root="1201", stdout=out) == 0
    assert Facility.objects.count() == created
    assert AuditLog.objects.filter(action="facility.demo").count() == 1


def test_every_kind_appears_and_each_district_has_its_centre(db):
    demo.demo_facilities(elders=20_000)
    counts = by_kind()
    assert len(counts) == 13 and min(counts.values()) >= demo.MIN_PER_KIND
    centres = Facility.objects.filter(kind_id="district_centre")
    assert sorted(f.region_id for f in centres) == sorted(
        Region.objects.filter(level="district", code__startswith="1201").values_list("code", flat=True)
    )
    assert centres.filter(name="和平区养老服务指导中心").exists()


def test_the_proportions_follow_seed_000(db):
    demo.demo_facilities(elders=600_000)  # a fifth of Tianjin's 60+ population
    counts = by_kind()
    assert counts["district_centre"] == DISTRICTS
    assert counts["street_centre"] == 36  # 180 / 5
    assert counts["day_care"] == 271  # 1,357 / 5
    assert counts["canteen"] == 340  # 1,701 / 5
    assert counts["station"] == 11  # 53 / 5
    assert counts["day_care"] / counts["canteen"] == pytest.approx(1357 / 1701, rel=0.01)
    institutions = Facility.objects.filter(kind_id="institution")
    assert institutions.filter(ltc_designated=True).count() / institutions.count() == pytest.approx(
        0.78, abs=0.1
    )


def test_demo_facilities_are_valid_by_the_services_rules(db):
    demo.demo_facilities(elders=100_000)
    today = timezone.localdate()
    for facility in Facility.objects.select_related("kind", "region", "operator"):
        facts = validation.facts_of(facility)
        assert validation._rules(facts) == [], facility.name
        assert len(facility.region_id) >= facility.kind.min_region_length
        assert facility.latitude is not None and 38.0 < facility.latitude < 41.0, facility.name
        assert facility.grade_date is None or facility.grade_date <= today
    names = Counter(Facility.objects.values_list("region_id", "name"))
    assert max(names.values()) == 1


def test_names_come_from_the_real_streets_and_communities(db):
    demo.demo_facilities(elders=20_000)
    street = Facility.objects.filter(kind_id="street_centre").select_related("region").first()
    assert street.name.startswith(street.region.name) and street.region.level == "street"
    community = Facility.objects.filter(kind_id="day_care").select_related("region").first()
    short = demo.place_name(community.region.name)
    assert community.name.startswith(short) and not community.name.startswith(
        community.region.name + "居委会"
    )
    assert all(
        f.region.level == "community" and f.region.code[9] in "23"
        for f in Facility.objects.filter(kind_id="rural_home").select_related("region")
    )
    townships = Facility.objects.filter(kind_id="township_home").select_related("region")
    assert all(f.region.name.endswith(("镇", "乡")) for f in townships)


def test_only_districts_with_elders_get_facilities(make_elder):
    make_elder("120101001001")
    make_elder("120116001016", name="李桂英")
    demo.demo_facilities(elders=20_000)
    assert {f[:6] for f in Facility.objects.values_list("region_id", flat=True)} == {"120101", "120116"}
    assert Facility.objects.filter(kind_id="district_centre").count() == 2


def test_helpers():
    assert demo.place_name("花园路社区居委会") == "花园路社区"
    assert demo.place_name("大王庄村委会") == "大王庄村"
    assert [demo.ordinal(n) for n in (1, 2, 10, 11, 20, 35)] == [
        "",
        "第二",
        "第十",
        "第十一",
        "第二十",
        "第三十五",
    ]
