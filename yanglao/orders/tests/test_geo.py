"""The dispatch index (orders.geo): the nearest provider that serves the community, offers the item and
has capacity (DOMAIN.md §5), from memory, agreeing with the database's own answer."""

import random
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yanglao.accounts.models import Organisation
from yanglao.core import policy
from yanglao.core.errors import InvalidInput
from yanglao.core.testing import CITY, HOME_COMMUNITY, HOME_DISTRICT, HOME_STREET, OTHER_DISTRICT
from yanglao.orders import geo
from yanglao.orders.enums import OrderStatus
from yanglao.orders.geo import ProviderIndex, haversine_m
from yanglao.orders.models import Order
from yanglao.providers import selectors, services
from yanglao.providers.models import CatalogueItem, Provider, ProviderOffer
from yanglao.providers.tests.conftest import provider_facts
from yanglao.regions.models import Region

# The elder lives at 和平区's centre; 0.001° of latitude is about 111 m.
HOME = (39.1172, 117.1950)
DAY = date(2026, 5, 20)


def north(metres: float) -> tuple[float, float]:
    return HOME[0] + metres / 111_195.0, HOME[1]


@pytest.fixture(autouse=True)
def fresh_shared_index():
    """The shared index outlives a test's rolled-back rows: start and end each test without one."""
    geo.invalidate()
    yield
    geo.invalidate()


@pytest.fixture
def items(db):
    return {item.code: item.pk for item in CatalogueItem.objects.all()}


@pytest.fixture
def make_provider(cast):
    """make_provider(name, metres north of the elder, areas=[劝业场街道], offers=("bathing",), capacity=10)."""

    def make(name, metres, *, areas=(HOME_STREET,), offers=("bathing",), capacity=10, position=None):
        latitude, longitude = position or north(metres)
        provider = services.provider_register(
            actor="tests",
            **provider_facts(
                name=name,
                latitude=latitude,
                longitude=longitude,
                daily_capacity=capacity,
                service_areas=list(areas),
            ),
        )
        for code in offers:
            services.offer_set(actor="tests", provider=provider, item=code, price="80")
        return provider

    return make


@pytest.fixture
def hold(make_elder, items):
    """hold(provider, n, on=DAY, status=DISPATCHED): n orders the provider holds, for a window on that day."""
    elder = None

    def make(provider, n=1, *, on=DAY, status=OrderStatus.DISPATCHED):
        nonlocal elder
        elder = elder or make_elder(HOME_COMMUNITY)
        start = timezone.make_aware(datetime.combine(on, clock(10)))
        Order.objects.bulk_create(
            Order(
                elder=elder,
                region_id=HOME_COMMUNITY,
                item_id=items["bathing"],
                channel="phone",
                status=status,
                window_start=start,
                window_end=start + timedelta(hours=1),
                provider=provider,
                confirm_code="123456",
            )
            for _ in range(n)
        )

    return make


def ask(index, items, item="bathing", region=HOME_COMMUNITY, position=HOME, **options):
    return index.nearest(
        latitude=position[0], longitude=position[1], item_id=items[item], region_code=region, **options
    )


def ids(candidates):
    return [c.provider_id for c in candidates]


# --- who is nearest ------------------------------------------------------------------------------------
def test_the_nearest_eligible_provider_is_chosen_with_its_distance_rating_and_capacity(make_provider, items):
    far = make_provider("远", 900)
    near = make_provider("近", 120, capacity=30)
    make_provider("中", 400)
    services.provider_record_rating(actor="orders", provider=near, score=4)
    (best,) = ask(ProviderIndex.build(today=DAY), items)
    assert best.provider_id == near.pk
    assert best.distance_m == pytest.approx(120, abs=0.5)
    assert best.distance_m == pytest.approx(haversine_m(*HOME, near.latitude, near.longitude), abs=1e-6)
    assert (best.rating, best.load, best.capacity) == (4.0, 0, 30)
    assert far.pk not in ids(ask(ProviderIndex.build(today=DAY), items, k=2))


def _not_serving(p, cast):
    services.provider_set_service_areas(actor="tests", provider=p, regions=[OTHER_DISTRICT])


def _not_offering(p, cast):
    services.offer_withdraw(actor="tests", provider=p, item="bathing")


def _suspended(p, cast):
    services.provider_set_status(actor="tests", provider=p, status="suspended", reason="整改")


def _terminated(p, cast):
    services.provider_set_status(actor="tests", provider=p, status="terminated", reason="合同到期")


def _organisation_disabled(p, cast):
    Organisation.objects.filter(pk=p.organisation_id).update(is_active=False)


def _no_position(p, cast):
    Provider.objects.filter(pk=p.pk).update(latitude=None, longitude=None)


def _no_capacity(p, cast):
    Provider.objects.filter(pk=p.pk).update(daily_capacity=0)


@pytest.mark.parametrize(
    "spoil",
    [
        _not_serving,
        _not_offering,
        _suspended,
        _terminated,
        _organisation_disabled,
        _no_position,
        _no_capacity,
    ],
)
def test_a_nearer_provider_that_may_not_take_the_order_is_skipped(make_provider, items, cast, spoil):
    near = make_provider("近", 100)
    far = make_provider("远", 2000, areas=[HOME_DISTRICT])
    assert ids(ask(ProviderIndex.build(today=DAY), items)) == [near.pk]
    spoil(near, cast)
    assert ids(ask(ProviderIndex.build(today=DAY), items)) == [far.pk]


def test_an_item_withdrawn_from_the_catalogue_is_served_by_nobody(make_provider, items, cast):
    make_provider("近", 100)
    CatalogueItem.objects.filter(code="bathing").update(is_active=False)
    assert ask(ProviderIndex.build(today=DAY), items) == []


def test_a_provider_at_capacity_is_skipped_unless_capacity_is_ignored(make_provider, hold, items):
    near = make_provider("近", 100, capacity=2)
    far = make_provider("远", 2000)
    hold(near, 1)
    assert ids(ask(ProviderIndex.build(today=DAY), items)) == [near.pk]
    hold(near, 1)
    index = ProviderIndex.build(today=DAY)
    assert ids(ask(index, items)) == [far.pk]
    (full,) = ask(index, items, with_capacity=False)
    assert (full.provider_id, full.load, full.capacity) == (near.pk, 2, 2)


def test_load_counts_only_orders_held_for_today(make_provider, hold, items):
    provider = make_provider("近", 100)
    hold(provider, 2)  # dispatched
    hold(provider, 1, status=OrderStatus.CHECKED_IN)
    hold(provider, 1, status=OrderStatus.CREATED)  # not yet offered to anyone
    hold(provider, 1, status=OrderStatus.CANCELLED)
    hold(provider, 1, status=OrderStatus.CONFIRMED)  # done: no longer held
    hold(provider, 1, on=DAY - timedelta(days=1))
    hold(provider, 1, on=DAY + timedelta(days=1))
    (found,) = ask(ProviderIndex.build(today=DAY), items)
    assert found.load == 3


def test_added_load_fills_capacity_until_the_next_build(make_provider, items):
    near = make_provider("近", 100, capacity=2)
    far = make_provider("远", 2000)
    index = ProviderIndex.build(today=DAY)
    index.add_load(near.pk, 1)
    assert ids(ask(index, items)) == [near.pk]
    index.add_load(near.pk, 1)
    assert ids(ask(index, items)) == [far.pk]
    index.add_load(near.pk, -1)
    assert ids(ask(index, items)) == [near.pk]
    index.add_load(near.pk, -5)
    assert index.load_of(near.pk) == 0  # never below zero
    index.add_load(10**9, 1)  # a provider not in the index: nothing to keep


def test_excluded_providers_are_passed_over(make_provider, items):
    first = make_provider("一", 100)
    second = make_provider("二", 200)
    third = make_provider("三", 300)
    index = ProviderIndex.build(today=DAY)
    assert ids(ask(index, items, exclude=[first.pk])) == [second.pk]
    assert ids(ask(index, items, exclude={first.pk, second.pk}, k=3)) == [third.pk]
    assert ask(index, items, exclude=(first.pk, second.pk, third.pk)) == []


def test_k_nearest_come_nearest_first_with_ties_broken_by_provider_id(make_provider, items):
    a = make_provider("甲", 500)
    b = make_provider("乙", 100)
    twin_one = make_provider("丙", 0, position=north(250))
    twin_two = make_provider("丁", 0, position=north(250))
    index = ProviderIndex.build(today=DAY)
    found = ask(index, items, k=3)
    assert ids(found) == [b.pk, min(twin_one.pk, twin_two.pk), max(twin_one.pk, twin_two.pk)]
    assert [c.distance_m for c in found] == sorted(c.distance_m for c in found)
    assert ids(ask(index, items, k=10)) == [b.pk, twin_one.pk, twin_two.pk, a.pk]  # fewer than k exist


def test_a_district_or_city_wide_area_covers_the_community(make_provider, items):
    street = make_provider("街道", 300)
    district = make_provider("区", 200, areas=[HOME_DISTRICT])
    city = make_provider("全市", 100, areas=[CITY])
    make_provider("河东", 50, areas=[OTHER_DISTRICT])
    index = ProviderIndex.build(today=DAY)
    assert ids(ask(index, items, k=5)) == [city.pk, district.pk, street.pk]
    # A padded 12-digit code is the same community; another street of 和平区 is not 劝业场街道's.
    assert ids(ask(index, items, region=HOME_COMMUNITY.ljust(12, "0"), k=5)) == [
        city.pk,
        district.pk,
        street.pk,
    ]
    other_street = Region.objects.filter(level="community", code__startswith=HOME_DISTRICT).exclude(
        code__startswith=HOME_STREET
    )[0]
    assert ids(ask(index, items, region=other_street.code, k=5)) == [city.pk, district.pk]
    with pytest.raises(InvalidInput):
        ask(index, items, region="12010100100")


def test_an_empty_index_or_an_item_nobody_offers_answers_nothing(make_provider, items, cast):
    empty = ProviderIndex.build(today=DAY)
    assert len(empty) == 0
    assert ask(empty, items) == []
    make_provider("近", 100)
    index = ProviderIndex.build(today=DAY)
    assert len(index) == 1
    assert ask(index, items, item="repair") == []
    assert ask(index, items, k=0) == []


def test_building_costs_four_queries_however_many_providers(make_provider, hold, items):
    for n in range(3):
        hold(make_provider(f"机构{n}", 100 * n, offers=("bathing", "cleaning")))
    with CaptureQueriesContext(connection) as few:
        ProviderIndex.build(today=DAY)
    for n in range(3, 9):
        hold(make_provider(f"机构{n}", 100 * n, areas=[HOME_DISTRICT, CITY], offers=("meals",)))
    with CaptureQueriesContext(connection) as more:
        index = ProviderIndex.build(today=DAY)
    assert len(index) == 9
    assert len(few.captured_queries) == len(more.captured_queries) == 4


# --- the shared index ----------------------------------------------------------------------------------
def test_the_shared_index_sees_a_change_after_its_signal(make_provider, items, cast):
    provider = make_provider("近", 100)
    assert ask(geo.shared_index(), items, item="cleaning") == []
    services.offer_set(actor="tests", provider=provider, item="cleaning", price="40")  # post_save
    assert ids(ask(geo.shared_index(), items, item="cleaning")) == [provider.pk]

    services.provider_set_service_areas(actor="tests", provider=provider, regions=[OTHER_DISTRICT])
    assert ask(geo.shared_index(), items) == []  # m2m_changed
    services.provider_set_service_areas(actor="tests", provider=provider, regions=[HOME_DISTRICT])
    assert ids(ask(geo.shared_index(), items)) == [provider.pk]

    organisation = Organisation.objects.get(pk=provider.organisation_id)
    organisation.is_active = False
    organisation.save()
    assert ask(geo.shared_index(), items) == []
    organisation.is_active = True
    organisation.save()

    ProviderOffer.objects.filter(provider=provider, item__code="bathing").delete()  # post_delete
    assert ask(geo.shared_index(), items) == []


def test_a_change_invalidates_again_when_its_transaction_commits(
    make_provider, items, django_capture_on_commit_callbacks
):
    """Another thread may rebuild between the signal and the commit, reading the rows as they were."""
    provider = make_provider("近", 100)
    with django_capture_on_commit_callbacks(execute=True):
        services.offer_set(actor="tests", provider=provider, item="cleaning", price="40")
        during = geo.shared_index()
    assert geo.shared_index() is not during


def test_the_shared_index_is_kept_until_invalidated_stale_or_a_new_day(make_provider, items, monkeypatch):
    make_provider("近", 100)
    index = geo.shared_index()
    assert geo.shared_index() is index
    # A change another process made sends no signal here: the freshness interval picks it up.
    Provider.objects.update(daily_capacity=0)
    assert geo.shared_index() is index
    index.expires_at = time.monotonic() - 1
    rebuilt = geo.shared_index()
    assert rebuilt is not index and ask(rebuilt, items) == []
    monkeypatch.setattr(geo.timezone, "localdate", lambda: rebuilt.day + timedelta(days=1))
    assert geo.shared_index() is not rebuilt


def test_the_refresh_interval_is_a_policy_value_read_at_rebuild(make_provider, cast):
    policy.policy_set(actor="tests", key="orders.index_refresh_seconds", value=5, valid_from=date(2020, 1, 1))
    index = geo.shared_index()
    assert 0 < index.expires_at - time.monotonic() <= 5


# --- agreement with the database -----------------------------------------------------------------------
COMMUNITIES_PER_DISTRICT = 6
ITEMS = ("bathing", "cleaning", "meals")


@pytest.fixture
def random_world(cast, items):
    """80 providers with random positions around two districts' centres, random service areas (city,
    district, street, community), offers, ratings, capacities and loads; a few without a position."""
    rng = random.Random(2026)
    districts = {HOME_DISTRICT: (39.1172, 117.1950), OTHER_DISTRICT: (39.1282, 117.2519)}
    communities = []
    for district in districts:
        communities += list(
            Region.objects.filter(level="community", code__startswith=district)
            .order_by("code")
            .values_list("code", flat=True)[:COMMUNITIES_PER_DISTRICT]
        )
    areas = [CITY, *districts, *sorted({c[:9] for c in communities}), *communities]
    organisations = Organisation.objects.bulk_create(
        Organisation(name=f"随机机构{n}", kind="provider", region_id=HOME_DISTRICT) for n in range(80)
    )
    providers = []
    for organisation in organisations:
        centre = districts[rng.choice(list(districts))]
        placed = rng.random() > 0.05
        providers.append(
            Provider(
                organisation=organisation,
                legal_form="enterprise",
                legal_representative="张三",
                # Coarse positions (3 decimals) so some providers share a place and tie.
                latitude=round(centre[0] + rng.uniform(-0.03, 0.03), 3) if placed else None,
                longitude=round(centre[1] + rng.uniform(-0.03, 0.03), 3) if placed else None,
                daily_capacity=rng.choice([0, 1, 2, 5]),
                rating=rng.choice([None, 3, 4.5]),
                status="active" if rng.random() > 0.1 else "suspended",
            )
        )
    providers = Provider.objects.bulk_create(providers)
    Through = Provider.service_areas.through
    Through.objects.bulk_create(
        Through(provider_id=p.pk, region_id=area)
        for p in providers
        for area in rng.sample(areas, rng.randint(1, 2))
    )
    ProviderOffer.objects.bulk_create(
        ProviderOffer(provider=p, item_id=items[code], price=50, is_active=rng.random() > 0.1)
        for p in providers
        for code in rng.sample(ITEMS, rng.randint(1, 3))
    )
    return communities


def brute_force(region, item, position, k, exclude, load):
    """providers_serving (the ORM's answer), then a haversine per row in Python."""
    rows = []
    for p in selectors.providers_serving(region, item):
        if p.latitude is None or p.pk in exclude or load.get(p.pk, 0) >= p.daily_capacity:
            continue
        rows.append((haversine_m(position[0], position[1], p.latitude, p.longitude), p.pk))
    rows.sort()
    return rows[:k]


@pytest.mark.parametrize("direct_limit", [geo.DIRECT_LIMIT, 0], ids=["direct", "tree"])
def test_answers_agree_with_a_brute_force_haversine_over_the_same_rows(
    random_world, items, hold, monkeypatch, direct_limit
):
    monkeypatch.setattr(geo, "DIRECT_LIMIT", direct_limit)
    rng = random.Random(7)
    held = Provider.objects.filter(daily_capacity__gt=0).order_by("pk")[:10]
    for provider in held:
        hold(provider, 1)
    load = {p.pk: 1 for p in held}
    index = ProviderIndex.build(today=DAY)
    all_ids = list(Provider.objects.values_list("pk", flat=True))
    for _ in range(150):
        region = rng.choice(random_world)
        item = rng.choice(ITEMS)
        position = (39.12 + rng.uniform(-0.05, 0.05), 117.22 + rng.uniform(-0.06, 0.06))
        k = rng.randint(1, 5)
        exclude = set(rng.sample(all_ids, rng.randint(0, 3)))
        found = ask(index, items, item=item, region=region, position=position, k=k, exclude=exclude)
        expected = brute_force(region, item, position, k, exclude, load)
        assert ids(found) == [pid for _, pid in expected], (region, item, position, k)
        for candidate, (metres, _) in zip(found, expected, strict=True):
            assert candidate.distance_m == pytest.approx(metres, abs=1e-6)
