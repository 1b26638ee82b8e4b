"""The synthetic demo population (registry/generator/, `yanglao generate_elders`)."""

import io
import json
import math
from collections import Counter

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone

from yanglao.core import idcard
from yanglao.core.errors import InvalidInput
from yanglao.core.models import AuditLog
from yanglao.regions.models import Region
from yanglao.registry import generator, groups
from yanglao.registry.enums import LivingArrangement, MaritalStatus
from yanglao.registry.models import Elder, Household

N = 2000


@pytest.fixture
def population(db):
    generator.elders_generate(actor="tests", count=N, seed=7)
    return list(Elder.objects.all())


def share(elders, condition):
    return sum(1 for e in elders if condition(e)) / len(elders)


def test_every_id_number_is_valid_and_its_area_code_is_the_district_of_residence(population):
    assert len(population) == N
    for elder in population:
        card = idcard.parse(elder.id_number)
        assert card.address_code == elder.residence_region_id[:6]
        assert card.birth_date == elder.birth_date
        assert card.sex == elder.sex
    assert len({e.id_number_hash for e in population}) == N
    assert len({e.id_number for e in population}) == N


def test_elders_live_in_real_communities_of_the_city(population):
    codes = {e.residence_region_id for e in population} | {e.hukou_region_id for e in population}
    found = Region.objects.filter(code__in=codes, level="community").count()
    assert found == len(codes)
    assert all(code.startswith("1201") for code in codes)
    districts = Counter(e.residence_region_id[:6] for e in population)
    assert len(districts) >= 14  # spread over the city, not piled into one district
    # Weighted by population: 滨海新区 (2 million people) holds more elders than 和平区 (355,000).
    assert districts["120116"] > 2 * districts["120101"]


def test_ages_and_shares_look_like_a_chinese_60_plus_population(population):
    today = timezone.localdate()
    ages = [groups.age_on(e.birth_date, today) for e in population]
    assert min(ages) >= 60
    assert max(ages) <= 105
    assert 0.45 <= share(ages, lambda a: a < 70) <= 0.65
    assert 0.10 <= share(ages, lambda a: a >= 80) <= 0.25
    old = [e for e, a in zip(population, ages, strict=True) if a >= 80]
    assert share(old, lambda e: e.sex == "female") > 0.5  # women outlive men
    assert 0.08 <= share(population, lambda e: e.living_arrangement == LivingArrangement.ALONE) <= 0.25
    assert 0.25 <= share(population, lambda e: e.living_arrangement == LivingArrangement.EMPTY_NEST) <= 0.55
    assert 0.04 <= share(population, lambda e: e.economic_status != "general") <= 0.16
    assert 0.002 <= share(population, lambda e: e.economic_status == "destitute") <= 0.03
    assert 0.03 <= share(population, lambda e: e.disability_grade is not None) <= 0.10
    assert all(
        (e.disability_grade is None) == (e.disability_category == "")
        and e.disability_grade in (None, 1, 2, 3, 4)
        for e in population
    )
    assert 0.02 <= share(population, lambda e: e.dementia) <= 0.10
    assert 0.002 <= share(population, lambda e: e.special_family) <= 0.025
    assert 0.55 <= share(population, lambda e: e.phone != "") <= 0.85
    assert all(e.phone == "" or (len(e.phone) == 11 and e.phone.startswith("1")) for e in population)
    gugua = Elder.objects.filter(groups.condition("gugua", today)).count() / N
    assert 0.003 <= gugua <= 0.04  # 孤寡 is rare
    assert all(e.name and 2 <= len(e.name) <= 3 for e in population)
    assert all(e.status == "active" and e.status_since == today for e in population)


def test_married_couples_share_a_household_and_everyone_has_one(population):
    assert all(e.household_id for e in population)
    members = Counter(e.household_id for e in population)
    assert set(members.values()) <= {1, 2}
    by_household = {}
    for elder in population:
        by_household.setdefault(elder.household_id, []).append(elder)
    couples = [pair for pair in by_household.values() if len(pair) == 2]
    for a, b in couples:
        assert {a.sex, b.sex} == {"male", "female"}
        assert a.marital_status == b.marital_status == MaritalStatus.MARRIED
        assert (a.residence_region_id, a.address, a.latitude) == (
            b.residence_region_id,
            b.address,
            b.latitude,
        )
        assert a.living_arrangement == b.living_arrangement != LivingArrangement.ALONE
        assert abs((a.birth_date - b.birth_date).days) < 15 * 366
    married = share(population, lambda e: e.marital_status == MaritalStatus.MARRIED)
    in_couples = 2 * len(couples) / N
    assert 0.4 <= in_couples / married <= 0.8
    assert Household.objects.count() == len(members)
    household = Household.objects.get(pk=couples[0][0].household_id)
    assert household.region_id == couples[0][0].residence_region_id
    assert household.address == couples[0][0].address


def test_homes_lie_near_their_district(population):
    centres = dict(
        (code, (lat, lng))
        for code, lat, lng in Region.objects.filter(level="district", code__startswith="1201").values_list(
            "code", "latitude", "longitude"
        )
    )
    for elder in population:
        lat, lng = centres[elder.residence_region_id[:6]]
        dy = (elder.latitude - lat) * 110.574
        dx = (elder.longitude - lng) * 111.320 * math.cos(math.radians(lat))
        assert math.hypot(dx, dy) < 10, elder.residence_region_id


def test_addresses_name_the_real_street(population):
    streets = dict(Region.objects.filter(level="street", code__startswith="1201").values_list("code", "name"))
    for elder in population[:200]:
        assert elder.address.startswith(streets[elder.residence_region_id[:9]])
        assert elder.address.endswith(("室", "号"))


def test_the_same_seed_draws_the_same_people(db):
    places = generator.places_under("1201")
    today = timezone.localdate()
    first = generator.population_draw(places, N, seed=11, today=today)
    second = generator.population_draw(places, N, seed=11, today=today)
    other = generator.population_draw(places, N, seed=12, today=today)
    for name in first.__dataclass_fields__:
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert not np.array_equal(first.birth_day, other.birth_day)
    assert np.array_equal(
        generator.sequence_numbers(first, places)[0], generator.sequence_numbers(second, places)[0]
    )


def test_two_databases_with_one_seed_get_the_same_names_and_numbers(db):
    generator.elders_generate(actor="tests", count=300, seed=5)
    once = sorted(Elder.objects.values_list("name", "id_number_hash", "residence_region_id", "birth_date"))
    Elder.objects.all().delete()
    Household.objects.all().delete()
    generator.elders_generate(actor="tests", count=300, seed=5)
    again = sorted(Elder.objects.values_list("name", "id_number_hash", "residence_region_id", "birth_date"))
    assert once == again


def test_a_second_run_with_the_same_seed_adds_new_unique_elders(db):
    assert generator.elders_generate(actor="tests", count=N, seed=3) == N
    assert generator.elders_generate(actor="tests", count=N, seed=3) == N
    assert Elder.objects.count() == 2 * N
    assert Elder.objects.values("id_number_hash").distinct().count() == 2 * N
    # The sequence numbers ran on after the first run's: nothing had to be renumbered.
    assert AuditLog.objects.filter(action="elder.generate").latest("id").changes["after"]["renumbered"] == 0
    for elder in Elder.objects.order_by("-id")[:300]:
        assert idcard.parse(elder.id_number).address_code == elder.residence_region_id[:6]


def test_an_id_number_already_registered_elsewhere_is_skipped(db, make_elder):
    # Someone living in another district already holds the number the generator would give first.
    places = generator.places_under("1201")
    drawn = generator.population_draw(places, 50, seed=9, today=timezone.localdate())
    sequence, _ = generator.sequence_numbers(drawn, places)
    district = places.district_codes[places.district[drawn.community[0]]]
    born = np.datetime_as_string(drawn.birth_day[0].astype("datetime64[D]")).replace("-", "")
    first17 = f"{district}{born}{int(sequence[0]):03d}"
    number = first17 + idcard.check_character(first17)
    elsewhere = "120119" if district != "120119" else "120101"
    community = Region.objects.filter(code__startswith=elsewhere, level="community").order_by("code").first()
    holder = make_elder(community.code, id_number=number)

    assert generator.elders_generate(actor="tests", count=50, seed=9) == 50
    assert Elder.objects.count() == 51
    assert Elder.objects.values("id_number_hash").distinct().count() == 51
    holder.refresh_from_db()
    assert holder.id_number == number
    log = AuditLog.objects.filter(action="elder.generate").latest("id")
    assert log.changes["after"]["renumbered"] == 1


def test_one_audit_row_records_the_run(population):
    logs = AuditLog.objects.filter(action="elder.generate")
    assert logs.count() == 1
    after = logs.get().changes["after"]
    assert after["count"] == N
    assert after["seed"] == 7
    assert after["root"] == "1201"
    assert after["households"] == Household.objects.count()


def test_progress_is_reported_per_batch(db):
    seen = []
    generator.elders_generate(
        actor="tests", count=250, batch=100, progress=lambda done, total: seen.append(done)
    )
    assert seen == [100, 200, 250]
    # A couple split across two batches still shares its household.
    sizes = Elder.objects.values("household_id").annotate(n=Count("id")).values_list("n", flat=True)
    assert set(sizes) <= {1, 2}
    assert Elder.objects.filter(household__isnull=True).count() == 0


def test_a_root_without_communities_is_refused(db):
    with pytest.raises(InvalidInput, match="没有已导入的社区"):
        generator.elders_generate(actor="tests", count=10, root="1301")
    assert Elder.objects.count() == 0


def test_the_command_prints_the_count_and_the_time(db):
    out = io.StringIO()
    call_command("generate_elders", "--count", "120", "--seed", "4", stdout=out, stderr=io.StringIO())
    assert "generated 120 elders under 1201 (seed 4)" in out.getvalue()
    out = io.StringIO()
    call_command("generate_elders", "--count", "30", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["count"] == 30
    assert result["seconds"] >= 0
    assert Elder.objects.count() == 150


def test_the_command_is_refused_in_production(db):
    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="production"):
        call_command("generate_elders", "--count", "10")
    assert Elder.objects.count() == 0


def test_ordinary_writes_still_work_after_a_bulk_run(db, make_elder):
    generator.elders_generate(actor="tests", count=100)
    household = Household.objects.create(region_id="120101001001", address="新加的家庭户")
    assert household.pk > max(Elder.objects.values_list("household_id", flat=True))
    elder = make_elder()
    assert Elder.objects.count() == 101
    assert elder.pk > 0
