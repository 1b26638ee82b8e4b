"""The people: one seeded draw of the whole population as numpy columns (age, sex, marriage and
couples, households, children, living arrangement, economic status, disability, dementia, names,
mobile numbers, household registration, home), deterministic for a seed, places and day. Pure
columnar code with no database, so the benchmark and the tests can draw without writing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from yanglao.registry.enums import EconomicStatus, LivingArrangement, MaritalStatus
from yanglao.registry.generator.places import Places
from yanglao.registry.generator.shape import (
    AGE_BANDS,
    ALONE_GUGUA,
    ALONE_WITHOUT_SPOUSE,
    CHILDREN,
    COUPLED,
    DEMENTIA_BY_DECADE,
    DESTITUTE_GUGUA,
    DESTITUTE_OTHER,
    DISABILITY_BY_DECADE,
    DISABILITY_CATEGORY,
    DISABILITY_GRADE,
    DIVORCED,
    ECONOMIC,
    EMPTY_NEST_COUPLE,
    EMPTY_NEST_MARRIED_SINGLE,
    FEMALE_NAMES,
    HOME_JITTER_KM,
    HUKOU_ELSEWHERE,
    LEFT_BEHIND_RURAL,
    MALE_NAMES,
    MARRIED,
    MARRIED_SEX_GAP,
    MOBILE_BY_DECADE,
    MOBILE_PREFIXES,
    RURAL_HARDSHIP,
    SEX_RATIO,
    SPECIAL_FAMILY_CHILD_DIED,
    SPECIAL_FAMILY_OF_ONE_CHILD,
    SURNAME_TOP,
    SURNAMES,
    UNMARRIED,
    UNMARRIED_CHILDLESS,
)
from yanglao.registry.groups import born_on_or_before


# --- the people ----------------------------------------------------------------------------------
@dataclass
class Population:
    """One synthetic population as columns, in insertion order (a couple's two rows are adjacent)."""

    community: np.ndarray  # index into Places
    hukou: np.ndarray  # index into Places
    household: np.ndarray  # 0..households-1, increasing in row order
    birth_day: np.ndarray  # days since 1970-01-01
    male: np.ndarray
    surname: np.ndarray  # index into SURNAMES
    given: np.ndarray  # index into MALE_NAMES or FEMALE_NAMES
    marital: np.ndarray  # index into MARITAL
    children: np.ndarray
    living: np.ndarray  # index into LIVING
    economic: np.ndarray  # index into ECONOMIC_CODES
    special_family: np.ndarray
    disability_category: np.ndarray  # index into DISABILITY_CODES, -1 none
    disability_grade: np.ndarray  # 0 none, 1-4
    dementia: np.ndarray
    mobile: np.ndarray  # int64 11-digit number, 0 none
    latitude: np.ndarray
    longitude: np.ndarray
    building: np.ndarray  # address parts
    unit: np.ndarray
    room: np.ndarray

    @property
    def households(self) -> int:
        return int(self.household[-1]) + 1 if len(self.household) else 0

    def __len__(self) -> int:
        return len(self.male)


MARITAL = [MaritalStatus.MARRIED, MaritalStatus.WIDOWED, MaritalStatus.DIVORCED, MaritalStatus.UNMARRIED]
LIVING = [
    LivingArrangement.ALONE,
    LivingArrangement.EMPTY_NEST,
    LivingArrangement.LEFT_BEHIND,
    LivingArrangement.WITH_FAMILY,
]
ECONOMIC_CODES = [
    EconomicStatus.GENERAL,
    EconomicStatus.DESTITUTE,
    *(status for status, _ in ECONOMIC),
]
DISABILITY_CODES = [category for category, _ in DISABILITY_CATEGORY]


def _by_decade(table: dict[int, float], age: np.ndarray) -> np.ndarray:
    decades = sorted(table)
    keys = np.clip(age // 10 * 10, decades[0], decades[-1])
    return np.select([keys == d for d in decades], [table[d] for d in decades])


def _surname_weights() -> np.ndarray:
    top = list(SURNAME_TOP)
    # The tail falls off like the published ranking (Zipf-like), summing to ~35 % for these names.
    tail = [0.9 * 0.965**i for i in range(len(SURNAMES) - len(top))]
    weights = np.array(top + tail)
    return weights / weights.sum()


def population_draw(places: Places, count: int, *, seed: int, today: date) -> Population:
    """Draw `count` elders as columns; the same seed, places and day give the same people."""
    rng = np.random.default_rng(seed)
    n = count
    # Age: a 5-year band from the census pyramid, then a day within it counted back from the last
    # birthday that makes someone 60 today, so everybody is at least 60.
    shares = np.array([s for _, _, s in AGE_BANDS])
    band = rng.choice(len(AGE_BANDS), size=n, p=shares / shares.sum())
    first = np.array([a for a, _, _ in AGE_BANDS])[band]
    last = np.array([b for _, b, _ in AGE_BANDS])[band]
    youngest = np.datetime64(born_on_or_before(today, 60), "D").astype(np.int64)
    low = np.floor((first - 60) * 365.2425).astype(np.int64)
    high = np.floor((last - 60) * 365.2425).astype(np.int64)
    birth_day = youngest - (low + np.floor(rng.random(n) * (high - low)).astype(np.int64))
    age = 60 + (youngest - birth_day) * 10_000 // 3_652_425
    ratio = np.array(SEX_RATIO, dtype=np.float64)[band]
    male = rng.random(n) < ratio / (100 + ratio)

    # Marriage: a spouse by age and sex; the others widowed, divorced or never married.
    married_p = np.clip(np.array(MARRIED)[band] + np.where(male, MARRIED_SEX_GAP, -MARRIED_SEX_GAP), 0, 1)
    unmarried = rng.random(n) < np.where(male, UNMARRIED[True], UNMARRIED[False])
    married = ~unmarried & (rng.random(n) < married_p)
    divorced = ~married & ~unmarried & (rng.random(n) < DIVORCED)
    marital = np.full(n, 1)  # widowed
    marital[married] = 0
    marital[divorced] = 2
    marital[unmarried] = 3

    # Couples: pair married men and women registered together, matched by age rank, so husbands are
    # as old as or a little older than their wives, as in the population.
    men = np.flatnonzero(married & male)
    women = np.flatnonzero(married & ~male)
    pairs = min(len(men), len(women), int(COUPLED * (len(men) + len(women)) / 2))
    husbands = rng.choice(men, size=pairs, replace=False)
    wives = rng.choice(women, size=pairs, replace=False)
    husbands = husbands[np.argsort(-birth_day[husbands], kind="stable")]
    wives = wives[np.argsort(-birth_day[wives], kind="stable")]
    spouse_of = np.full(n, -1)
    spouse_of[husbands] = wives
    coupled = np.zeros(n, dtype=bool)
    coupled[husbands] = True
    coupled[wives] = True

    # Households: each couple one, everybody else one of their own (other members are not 60+ or not
    # registered). A household's lead is the husband or the single elder.
    leads = np.flatnonzero(~coupled | (spouse_of >= 0))
    community_of_lead = rng.choice(len(places.codes), size=len(leads), p=places.weight)
    # Rows in community order: index pages of the insert stay local; a couple's rows are adjacent.
    order = np.lexsort((leads, community_of_lead))
    leads, community_of_lead = leads[order], community_of_lead[order]
    has_spouse = spouse_of[leads] >= 0
    size = 1 + has_spouse
    first_row = np.concatenate(([0], np.cumsum(size)[:-1]))
    rows = np.empty(n, dtype=np.int64)
    rows[first_row] = leads
    rows[first_row[has_spouse] + 1] = spouse_of[leads[has_spouse]]
    household = np.repeat(np.arange(len(leads)), size)
    community = np.repeat(community_of_lead, size)
    is_lead = np.zeros(n, dtype=bool)
    is_lead[first_row] = True

    # From here on, columns are in row order.
    birth_day, age, male, marital, coupled = (
        birth_day[rows],
        age[rows],
        male[rows],
        marital[rows],
        coupled[rows],
    )
    wife_rows = np.flatnonzero(~is_lead)  # the second row of a couple: copies household facts
    husband_rows = wife_rows - 1

    def share_household(values: np.ndarray) -> np.ndarray:
        values[wife_rows] = values[husband_rows]
        return values

    rural = ~places.urban[community]

    # Children, shared by a couple; most never-married elders have none.
    decade = np.clip(age // 10 * 10, 60, 80)
    children = np.zeros(n, dtype=np.int64)
    for d, probabilities in CHILDREN.items():
        chosen = np.flatnonzero(decade == d)
        children[chosen] = rng.choice(len(probabilities), size=len(chosen), p=probabilities)
    never = marital == 3
    children[never & (rng.random(n) < UNMARRIED_CHILDLESS)] = 0
    children = share_household(children)

    # 计划生育特殊家庭: parents of an only child (60-79 now) whose child died or is disabled.
    special = (children == 1) & (age < 80) & (rng.random(n) < SPECIAL_FAMILY_OF_ONE_CHILD)
    special = share_household(special)
    died = share_household(special & (rng.random(n) < SPECIAL_FAMILY_CHILD_DIED))
    children[died] = 0
    gugua = (marital != 0) & (children == 0)

    # Living arrangement.
    u = share_household(rng.random(n))
    living = np.full(n, 3)  # with family
    living[coupled & (u < EMPTY_NEST_COUPLE)] = 1
    single_married = (marital == 0) & ~coupled
    living[single_married & (u < EMPTY_NEST_MARRIED_SINGLE)] = 1
    alone_p = np.where(children == 0, ALONE_GUGUA, ALONE_WITHOUT_SPOUSE)
    living[(marital != 0) & (u < alone_p)] = 0
    living[(living == 3) & rural & (share_household(rng.random(n)) < LEFT_BEHIND_RURAL)] = 2

    # Economic status (of the household): 特困 mostly 孤寡, then 低保 / 低保边缘 / 低收入.
    hardship = rng.random(n) / np.where(rural, RURAL_HARDSHIP, 1.0)
    step = np.searchsorted(np.cumsum([p for _, p in ECONOMIC]), hardship, side="right")
    economic = np.where(step < len(ECONOMIC), step + 2, 0)
    destitute = np.where(gugua, rng.random(n) < DESTITUTE_GUGUA, rng.random(n) < DESTITUTE_OTHER)
    economic[destitute & ~coupled] = 1
    economic = share_household(economic)

    # Disability certificate, dementia: personal, rising with age.
    disabled = rng.random(n) < _by_decade(DISABILITY_BY_DECADE, age)
    category_p = np.array([p for _, p in DISABILITY_CATEGORY])
    category = np.where(disabled, rng.choice(len(category_p), size=n, p=category_p / category_p.sum()), -1)
    grade = np.where(disabled, 1 + rng.choice(4, size=n, p=DISABILITY_GRADE), 0)
    dementia = rng.random(n) < _by_decade(DEMENTIA_BY_DECADE, age)

    # Names: surname by frequency, a given name typical of the generation and sex.
    surname = rng.choice(len(SURNAMES), size=n, p=_surname_weights())
    given = np.where(
        male, rng.integers(0, len(MALE_NAMES), size=n), rng.integers(0, len(FEMALE_NAMES), size=n)
    )

    # Mobile phone (11 digits): a real operator prefix and 8 random digits.
    has_mobile = rng.random(n) < _by_decade(MOBILE_BY_DECADE, age)
    prefix = np.array(MOBILE_PREFIXES, dtype=np.int64)[rng.integers(0, len(MOBILE_PREFIXES), size=n)]
    mobile = np.where(has_mobile, prefix * 100_000_000 + rng.integers(0, 100_000_000, size=n), 0)

    # Household registration: mostly where they live, some in another community of the district.
    elsewhere = rng.random(n) < HUKOU_ELSEWHERE
    district = places.district[community]
    other = places.district_start[district] + np.floor(rng.random(n) * places.district_size[district]).astype(
        np.int64
    )
    hukou = np.where(elsewhere, other, community)

    # Home: near the community centre; address numbers; shared by a couple.
    latitude = share_household(places.latitude[community] + rng.normal(0, HOME_JITTER_KM / 110.574, n))
    longitude = share_household(
        places.longitude[community]
        + rng.normal(0, HOME_JITTER_KM, n) / (111.320 * np.cos(np.radians(places.latitude[community])))
    )
    building = share_household(rng.integers(1, 60, size=n))
    unit = share_household(rng.integers(1, 12, size=n))
    room = share_household(rng.integers(1, 19, size=n) * 100 + rng.integers(1, 5, size=n))

    return Population(
        community=community,
        hukou=hukou,
        household=household,
        birth_day=birth_day,
        male=male,
        surname=surname,
        given=given,
        marital=marital,
        children=children,
        living=living,
        economic=economic,
        special_family=special,
        disability_category=category,
        disability_grade=grade,
        dementia=dementia,
        mobile=mobile,
        latitude=np.round(latitude, 6),
        longitude=np.round(longitude, 6),
        building=building,
        unit=unit,
        room=room,
    )
