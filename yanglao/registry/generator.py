"""A seeded synthetic population of elders for the demonstration city (issue: demo population).

`elders_generate` spreads `count` elders over the communities loaded under `root`, with the shape of
a real Chinese 60+ population: the age pyramid and sex ratios of the 2020 census, marriage, children,
living arrangement, economic status, disability certificates, 计划生育特殊家庭 and dementia in published
or (where marked) assumed shares. Every ID number is a valid GB 11643 number whose address code is the
elder's district, unique in the whole registry.

Set-based (DESIGN.md rule 7): columns are drawn with numpy for the whole run at once, then written in
batches of raw rows (`executemany` on SQLite, COPY on PostgreSQL), each batch in its own transaction.
Only what cannot be vectorised runs per value: AES-GCM encryption and the keyed lookup hash (core.crypto)
and the check character (core.idcard). A million elders take well under two minutes on two cores
(bench/bench_generate_elders.py).

Deterministic: the same seed over the same communities draws the same people. A second run with the
same seed continues the ID sequence numbers after the elders already registered on each district and
birth date, so it adds new elders and never collides; any remaining collision (an imported elder who
happens to hold the number) is found through the lookup hash and skipped to the next free number.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from yanglao.core import audit, crypto, idcard
from yanglao.core.errors import InvalidInput
from yanglao.regions import codes
from yanglao.regions.models import Level, Region
from yanglao.registry.enums import (
    DisabilityCategory,
    EconomicStatus,
    LivingArrangement,
    MaritalStatus,
    Sex,
    Status,
)
from yanglao.registry.groups import born_on_or_before
from yanglao.registry.models import Elder, Household

Progress = Callable[[int, int], None]

# --- the shape of the population -----------------------------------------------------------------
# Age pyramid of China's population aged 60+, 7th national census (2020, 第七次全国人口普查), in 5-year
# bands: 60-69 ≈ 55.8 %, 70-79 ≈ 30.6 %, 80+ 13.56 % (35.80 of 264.02 million), 90+ ≈ 2 %. The split
# inside each decade is read off the census tables and rounded; 100+ is capped at 104 here (assumed).
AGE_BANDS = [  # (first age, last age + 1, share %)
    (60, 65, 27.8),
    (65, 70, 28.0),
    (70, 75, 18.8),
    (75, 80, 11.8),
    (80, 85, 7.7),
    (85, 90, 3.9),
    (90, 95, 1.5),
    (95, 100, 0.4),
    (100, 105, 0.05),
]
# Men per 100 women by band, 2020 census shape (women outlive men: ~100 at 60-64, ~40 at 95+); rounded.
SEX_RATIO = [101, 98, 96, 92, 84, 73, 58, 45, 33]
# Share with a spouse by band, 2020 census shape (≈ 88 % at 60-64 falling to < 20 % at 90+); men are
# more often married than women at every age (women are widowed earlier), ± 8 points here (assumed).
MARRIED = [0.88, 0.84, 0.77, 0.67, 0.52, 0.36, 0.22, 0.14, 0.08]
MARRIED_SEX_GAP = 0.08
UNMARRIED = {True: 0.025, False: 0.005}  # never married, by male; mostly rural men (census shape)
DIVORCED = 0.06  # of the others without a spouse: ~1.5 % of elders divorced (census shape, rounded)
# Of married elders, the share registered together with a spouse who is also 60+ (a 2-person couple).
COUPLED = 0.60
# Children ever born, by decade of age (cohorts born 1955-65 often had 1-2, those born before 1945 3-5);
# shape of the census fertility questions, values assumed. Columns: 0, 1, 2, 3, 4, 5.
CHILDREN = {
    60: [0.02, 0.43, 0.36, 0.13, 0.04, 0.02],
    70: [0.02, 0.16, 0.32, 0.28, 0.14, 0.08],
    80: [0.02, 0.08, 0.20, 0.28, 0.22, 0.20],
}
UNMARRIED_CHILDLESS = 0.90  # never-married elders without children (assumed)
# Living arrangement. National surveys (CLASS, census household tables) put elders living alone at
# ~13-15 % and "empty nest" (alone or as a couple only) at roughly half; our "empty nest" is the couple
# only, ~40 %. Probabilities below are assumed and tuned to those totals.
EMPTY_NEST_COUPLE = 0.62  # a couple living on its own
EMPTY_NEST_MARRIED_SINGLE = 0.45  # a married elder whose spouse is under 60 or not registered here
ALONE_WITHOUT_SPOUSE = 0.60  # widowed, divorced or never married, with children
ALONE_GUGUA = 0.85  # no spouse and no children
LEFT_BEHIND_RURAL = 0.10  # children working away from a village household (assumed)
# Economic status (assumed, configurable only here: a demo, not a policy). 特困 comes mostly from
# 孤寡 elders (特困人员: no income and no one legally bound to support them).
DESTITUTE_GUGUA = 0.50
DESTITUTE_OTHER = 0.002
ECONOMIC = [  # the rest of the hardship scale, share of all elders
    (EconomicStatus.SUBSISTENCE, 0.03),
    (EconomicStatus.NEAR_SUBSISTENCE, 0.01),
    (EconomicStatus.LOW_INCOME, 0.03),
]
RURAL_HARDSHIP = 1.6  # hardship is more common in villages (assumed factor)
# Disability certificate (残疾人证) holders, rising with age, ≈ 6 % of elders overall (assumed from the
# 2006 second national disability sample survey: about half of disabled people are 60+).
DISABILITY_BY_DECADE = {60: 0.045, 70: 0.07, 80: 0.10, 90: 0.12}
DISABILITY_CATEGORY = [  # assumed shares among certificate holders aged 60+
    (DisabilityCategory.PHYSICAL, 0.48),
    (DisabilityCategory.VISUAL, 0.15),
    (DisabilityCategory.HEARING, 0.14),
    (DisabilityCategory.MENTAL, 0.07),
    (DisabilityCategory.INTELLECTUAL, 0.05),
    (DisabilityCategory.SPEECH, 0.01),
    (DisabilityCategory.MULTIPLE, 0.10),
]
DISABILITY_GRADE = [0.12, 0.25, 0.28, 0.35]  # grades 1-4 (1 most severe), assumed
# Dementia: 6.0 % of Chinese aged 60+ (Jia et al., Lancet Public Health 2020), rising steeply with age;
# the decade values are assumed to give ~5-6 % overall.
DEMENTIA_BY_DECADE = {60: 0.025, 70: 0.06, 80: 0.13, 90: 0.25}
# 计划生育特殊家庭 (the only child died or is severely disabled): ~1 % of elders; parents of only
# children born after 1980 are in their 60s and 70s now. Of those, the child died in 60 % (assumed).
SPECIAL_FAMILY_OF_ONE_CHILD = 0.035
SPECIAL_FAMILY_CHILD_DIED = 0.60
# Mobile phone, falling with age (assumed; ~70 % overall).
MOBILE_BY_DECADE = {60: 0.82, 70: 0.66, 80: 0.42, 90: 0.20}
HUKOU_ELSEWHERE = 0.10  # household registration in another community of the district (人户分离, assumed)

# Resident population by district, Tianjin 7th census bulletin (2020), in 10,000s, rounded. Elders are
# spread over districts in proportion (the 60+ share differs a little by district: assumed equal).
# A district not listed here (another city) is weighted by its communities.
DISTRICT_POPULATION = {
    "120101": 35.5,
    "120102": 85.9,
    "120103": 82.2,
    "120104": 89.0,
    "120105": 64.8,
    "120106": 48.3,
    "120110": 85.7,
    "120111": 119.5,
    "120112": 92.8,
    "120113": 91.0,
    "120114": 115.1,
    "120115": 72.3,
    "120116": 206.7,
    "120117": 39.5,
    "120118": 78.7,
    "120119": 79.6,
}
# Inside a district an urban residents' committee (居委会, village code 0xx/1xx) is ~3x as populous as
# a village (村委会, 2xx/3xx); other codes (4xx: campuses, development zones) count as one (assumed).
URBAN_WEIGHT = 3.0
# A community's centre lies within this radius of its district's centroid: compact urban districts
# 1.5 km, rural ones up to 6 km; a home within ~250 m of its community's centre (assumed).
RADIUS_URBAN_KM = 1.5
RADIUS_RURAL_KM = 6.0
HOME_JITTER_KM = 0.25

# Surnames by frequency (Ministry of Public Security name report 2020, rounded %; the tail assumed).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任"
    "卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔"
)
SURNAME_TOP = [7.1, 7.0, 6.6, 5.4, 4.6, 3.1, 2.3, 2.3, 2.0, 1.9, 1.6, 1.5, 1.5, 1.3, 1.3, 1.2, 1.2, 1.1]
# Given names typical of people born 1920-1965 (generation names of the time), by sex.
_MALE_NAMES_TEXT = (
    "建国 建华 建军 建平 建民 国庆 国强 国华 国良 国栋 志强 志刚 志明 志勇 德明 德福 德胜 文华 文明 文斌 "
    "振华 振国 树林 树森 宝山 宝林 凤山 长江 长林 玉林 玉山 福生 福来 永庆 永利 永胜 学文 学军 广志 广明 "
    "明德 家宝 保国 卫国 卫东 新民 立新 援朝 跃进 胜利 红旗 金山 金生 铁柱 春生 春林 秋生 冬生 海生 海涛 "
    "世杰 世昌 连生 连成 富贵 庆丰 庆林 恩荣 俊峰 大勇 满仓 兴旺 忠诚 继承 少华 万里 有才 双喜 福海 成林 "
    "刚 强 勇 军 伟 明 斌 杰 涛 林 山 峰 华 平 辉 忠 诚 义 仁 礼"
)
MALE_NAMES = _MALE_NAMES_TEXT.split()
_FEMALE_NAMES_TEXT = (
    "秀英 桂英 秀兰 玉兰 桂兰 淑珍 凤兰 淑英 玉珍 淑兰 桂芝 秀珍 凤英 玉梅 秀云 桂珍 淑华 玉英 兰英 素珍 "
    "丽华 秀芳 凤芝 桂荣 秀荣 淑琴 玉芬 桂香 玉霞 红梅 秀梅 秀华 桂花 凤琴 凤霞 淑芬 淑贞 玉凤 玉华 玉芳 "
    "素芬 素兰 素云 美华 美兰 翠兰 翠英 翠萍 金凤 金兰 金花 春兰 春梅 冬梅 腊梅 雪梅 月英 月华 宝珍 宝琴 "
    "慧敏 惠芳 惠珍 丽娟 丽萍 亚萍 爱华 爱琴 爱珍 文英 文华 淑云 桂云 凤云 瑞英 瑞芳 巧云 彩霞 德珍 振英 "
    "英 兰 珍 芳 华 梅 萍 霞 琴 娟 敏 洁 静 红 燕 云 玲 芬 荣 凤"
)
FEMALE_NAMES = _FEMALE_NAMES_TEXT.split()
# Mobile number prefixes of the three operators (numbers issued since the 1990s).
MOBILE_PREFIXES = [
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 198, 199,
]  # fmt: skip

# The sequence number of an ID (3 digits) is odd for men, even for women: 499 of each per district and
# birth date, k = 0..498 → 2k+1 (men) or 2k+2 (women), so 000 is never issued.
SEQUENCE_CAPACITY = 499
_EPOCH_SHIFT = 100_000  # keeps day numbers (days since 1970, negative for 1890-1969) positive in keys

_ELDER_COLUMNS = (
    "created_at",
    "updated_at",
    "name",
    "id_number",
    "id_number_hash",
    "birth_date",
    "sex",
    "phone",
    "phone_hash",
    "residence_region_id",
    "hukou_region_id",
    "address",
    "latitude",
    "longitude",
    "household_id",
    "living_arrangement",
    "economic_status",
    "marital_status",
    "children_count",
    "special_family",
    "disability_category",
    "disability_grade",
    "dementia",
    "family_doctor",
    "status",
    "status_since",
    "death_date",
    "registered_by_id",
)
_HOUSEHOLD_COLUMNS = ("id", "created_at", "updated_at", "region_id", "address", "note")
HOUSEHOLD_NOTE = "演示数据"  # marks synthetic households, so nobody mistakes them for registered ones


# --- where people live ---------------------------------------------------------------------------
@dataclass
class Places:
    """The communities under a root, their districts and a map position for each community."""

    codes: np.ndarray  # community codes (str), sorted
    district: np.ndarray  # index into district_codes
    weight: np.ndarray  # probability of a household living there
    urban: np.ndarray  # bool
    labels: list[str]  # "<street><community>" for addresses
    latitude: np.ndarray  # community centre, NaN when no centroid is known
    longitude: np.ndarray
    district_codes: list[str]
    district_start: np.ndarray  # first community index of each district (communities are sorted)
    district_size: np.ndarray


def _short_name(name: str) -> str:
    for suffix, replacement in (
        ("社区居民委员会", "社区"),
        ("社区居委会", "社区"),
        ("居民委员会", ""),
        ("居委会", ""),
        ("村民委员会", "村"),
        ("村委会", "村"),
    ):
        if name.endswith(suffix):
            return name[: -len(suffix)] + replacement
    return name


def _unit_hash(values: np.ndarray, salt: int) -> np.ndarray:
    """A stable number in [0, 1) per integer (splitmix64), so a community keeps its place on the map
    whatever the seed or the set of loaded communities."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15) * np.uint64(salt)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _centroid_fallback(root: str) -> tuple[float, float] | None:
    candidates = [root[:n] for n in (2, 4, 6, 9) if n <= len(root)]
    # The nearest ancestor with a centre: the longest code, first in descending text order.
    found = (
        Region.objects.filter(code__in=candidates, latitude__isnull=False, longitude__isnull=False)
        .order_by("-code")
        .values_list("latitude", "longitude")
        .first()
    )
    if found is None or found[0] is None or found[1] is None:
        return None
    return found[0], found[1]


def places_under(root: str) -> Places:
    """The loaded communities under `root` (virtual "虚拟社区" of development zones left out)."""
    root = codes.normalize(root, field="root")
    regions = Region.objects.filter(codes.within(root))
    rows = sorted(
        (code, name, parent)
        for code, name, parent in regions.filter(level=Level.COMMUNITY).values_list(
            "code", "name", "parent_id"
        )
        if "虚拟" not in name
    )
    if not rows:
        raise InvalidInput(
            f"区划“{root}”下没有已导入的社区，请先运行 yanglao load_regions --root {root[:4]}", field="root"
        )
    streets = dict(regions.filter(level=Level.STREET).values_list("code", "name"))
    districts = {
        code: (lat, lng)
        for code, lat, lng in Region.objects.filter(
            code__in={c[:6] for c, _, _ in rows}, level=Level.DISTRICT
        ).values_list("code", "latitude", "longitude")
    }
    fallback = _centroid_fallback(root)
    district_codes = sorted({c[:6] for c, _, _ in rows})
    index = {code: i for i, code in enumerate(district_codes)}
    community_codes = np.array([c for c, _, _ in rows])
    district = np.array([index[c[:6]] for c, _, _ in rows], dtype=np.int64)
    kind = np.array([int(c[9]) for c, _, _ in rows])
    urban = kind <= 1
    within = np.where(urban, URBAN_WEIGHT, 1.0)
    per_district = np.bincount(district, weights=within, minlength=len(district_codes))
    if all(code in DISTRICT_POPULATION for code in district_codes):
        people = np.array([DISTRICT_POPULATION[code] for code in district_codes])
    else:
        people = per_district  # no table for this city: as populous as its communities say
    weight = within * (people / per_district)[district]
    weight /= weight.sum()

    # Community centres around the district centroid (communities have no coordinates of their own yet).
    rural_share = 1 - np.bincount(
        district, weights=urban.astype(np.float64), minlength=len(district_codes)
    ) / np.bincount(district, minlength=len(district_codes))
    radius_km = (RADIUS_URBAN_KM + (RADIUS_RURAL_KM - RADIUS_URBAN_KM) * rural_share)[district]
    centre = [districts.get(code, (None, None)) for code in district_codes]
    centre = [c if c[0] is not None else (fallback or (math.nan, math.nan)) for c in centre]
    d_lat = np.array([c[0] for c in centre], dtype=np.float64)[district]
    d_lng = np.array([c[1] for c in centre], dtype=np.float64)[district]
    numbers = community_codes.astype(np.int64)
    distance = radius_km * np.sqrt(_unit_hash(numbers, 1))
    angle = 2 * math.pi * _unit_hash(numbers, 2)
    latitude = d_lat + distance * np.sin(angle) / 110.574
    longitude = d_lng + distance * np.cos(angle) / (111.320 * np.cos(np.radians(d_lat)))

    starts = np.searchsorted(district, np.arange(len(district_codes)))
    return Places(
        codes=community_codes,
        district=district,
        weight=weight,
        urban=urban,
        labels=[streets.get(parent, "") + _short_name(name) for _, name, parent in rows],
        latitude=latitude,
        longitude=longitude,
        district_codes=district_codes,
        district_start=starts,
        district_size=np.bincount(district, minlength=len(district_codes)),
    )


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


# --- ID numbers ----------------------------------------------------------------------------------
def _group_keys(district: np.ndarray, birth_day: np.ndarray, male: np.ndarray) -> np.ndarray:
    return ((district.astype(np.int64) * 1_000_000 + birth_day + _EPOCH_SHIFT) * 2) + male


def _existing_counts(root: str, district_codes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted group keys, counts) of elders already living under root, per district, birth date, sex."""
    low, high = codes.code_range(root)
    table = connection.ops.quote_name(Elder._meta.db_table)
    where = "residence_region_id >= %s" + (" AND residence_region_id < %s" if high else "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUBSTR(residence_region_id, 1, 6), birth_date, sex, COUNT(*) FROM {table} "  # noqa: S608 (quoted name)
            f"WHERE {where} GROUP BY 1, 2, 3",
            [low, high] if high else [low],
        )
        rows = cursor.fetchall()
    index = {code: i for i, code in enumerate(district_codes)}
    rows = [row for row in rows if row[0] in index]
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    keys = _group_keys(
        np.array([index[r[0]] for r in rows]),
        np.array([str(r[1]) for r in rows], dtype="datetime64[D]").astype(np.int64),
        np.array([r[2] == Sex.MALE for r in rows]),
    )
    order = np.argsort(keys)
    return keys[order], np.array([r[3] for r in rows], dtype=np.int64)[order]


def sequence_numbers(
    population: Population, places: Places, existing: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The 3-digit sequence number of every row, and its group key.

    Within one district, birth date and sex the numbers run on from a stable starting point (so they
    look scattered, as real ones do) after those already registered in that group: unique within
    the run by construction, and after earlier runs too."""
    keys = _group_keys(places.district[population.community], population.birth_day, population.male)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    boundary = np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))
    group_start = np.flatnonzero(boundary)
    group_size = np.diff(np.append(group_start, len(keys)))
    if len(group_size) and group_size.max() > SEQUENCE_CAPACITY:
        raise InvalidInput(
            f"同一区、同一出生日期、同一性别的老人超过{SEQUENCE_CAPACITY}人，身份证顺序码不够用；请减少生成数量",
            field="count",
        )
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - np.repeat(group_start, group_size)
    already = np.zeros(len(keys), dtype=np.int64)
    if existing is not None and len(existing[0]):
        known, counts = existing
        at = np.clip(np.searchsorted(known, keys), 0, len(known) - 1)
        already = np.where(known[at] == keys, counts[at], 0)
    start = (_unit_hash(keys, 3) * 200).astype(np.int64)
    k = (start + already + rank) % SEQUENCE_CAPACITY
    return np.where(population.male, 2 * k + 1, 2 * k + 2), keys


# --- writing -------------------------------------------------------------------------------------
def _check_columns() -> None:
    """Fail loudly if the Elder table gained or lost a column this generator does not fill."""
    actual = {str(f.column) for f in Elder._meta.concrete_fields if not f.primary_key}
    if actual != set(_ELDER_COLUMNS):
        raise RuntimeError(
            "registry_elder columns changed; update registry/generator.py: "
            f"missing {sorted(actual - set(_ELDER_COLUMNS))}, unknown {sorted(set(_ELDER_COLUMNS) - actual)}"
        )


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)  # noqa: S608


def _reserve_household_ids(count: int) -> list[int]:
    """Primary keys for `count` new households, so elders can point at them without reading them back.
    Runs inside the batch's transaction (SQLite holds the write lock; PostgreSQL draws from the
    sequence, safe alongside other writers)."""
    table = Household._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # noqa: S608
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        first = max(top, row[0] if row else 0) + 1
    return list(range(first, first + count))


def _taken_hashes(digests: list[str]) -> set[str]:
    table = connection.ops.quote_name(Elder._meta.db_table)
    taken: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(digests), 900):
            chunk = digests[start : start + 900]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT id_number_hash FROM {table} WHERE id_number_hash IN ({marks})", chunk)  # noqa: S608
            taken.update(row[0] for row in cursor.fetchall())
    return taken


class _Renumber:
    """Finds a free sequence number for an ID that is already registered (rare: an imported elder)."""

    def __init__(self) -> None:
        self.next_extra: dict[int, int] = {}

    def free_number(self, first17: str, key: int, male: bool, used: set[str]) -> tuple[str, str]:
        k0 = (int(first17[14:17]) - (1 if male else 2)) // 2
        while True:
            extra = self.next_extra.get(key, 1)
            if extra >= SEQUENCE_CAPACITY:
                raise InvalidInput(
                    f"出生日期 {first17[6:14]}、地址码 {first17[:6]} 的身份证顺序码已用尽", field="count"
                )
            self.next_extra[key] = extra + 1
            k = (k0 + extra) % SEQUENCE_CAPACITY
            candidate = first17[:14] + f"{2 * k + (1 if male else 2):03d}"
            number = candidate + idcard.check_character(candidate)
            digest = crypto.lookup_hash(number)
            if digest not in used and not _taken_hashes([digest]):
                return number, digest


def _sqlite_cache(size_kib: int | None) -> int | None:
    """Set SQLite's page cache for this connection (random inserts into the hash and name indexes
    thrash the default 2 MB cache); returns the previous value."""
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        if size_kib is not None:
            cursor.execute(f"PRAGMA cache_size = {int(size_kib)}")
    return previous


def elders_generate(
    *,
    actor: Any,
    count: int,
    seed: int = 2026,
    root: str = "1201",
    batch: int = 50_000,
    progress: Progress | None = None,
) -> int:
    """Add `count` synthetic elders (a demo population) under `root`, deterministic for a seed, with
    valid unique ID numbers of the elder's district (GB 11643). Never for production data."""
    if count < 0:
        raise InvalidInput("生成数量不能为负数", field="count")
    if batch < 1:
        raise InvalidInput("批次大小至少为1", field="batch")
    root = codes.normalize(root, field="root")
    _check_columns()
    if count == 0:
        return 0
    started = time.monotonic()
    today = timezone.localdate()
    places = places_under(root)
    population = population_draw(places, count, seed=seed, today=today)
    registry_had_rows = Elder.objects.exists()
    existing = _existing_counts(root, places.district_codes) if registry_had_rows else None
    sequence, group_key = sequence_numbers(population, places, existing)

    now = connection.ops.adapt_datetimefield_value(timezone.now())
    since = connection.ops.adapt_datefield_value(today)
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    district_codes = np.array(places.district_codes)[places.district[population.community]]
    community_codes = places.codes[population.community]
    hukou_codes = places.codes[population.hukou]
    births = population.birth_day.astype("datetime64[D]")
    iso = np.datetime_as_string(births, unit="D")
    compact = np.char.replace(iso, "-", "")
    names = np.char.add(
        np.array(list(SURNAMES))[population.surname],
        np.where(
            population.male,
            np.array(MALE_NAMES)[np.minimum(population.given, len(MALE_NAMES) - 1)],
            np.array(FEMALE_NAMES)[np.minimum(population.given, len(FEMALE_NAMES) - 1)],
        ),
    )
    sex = np.where(population.male, Sex.MALE.value, Sex.FEMALE.value)
    marital = np.array([m.value for m in MARITAL])[population.marital]
    living = np.array([m.value for m in LIVING])[population.living]
    economic = np.array([e.value for e in ECONOMIC_CODES])[population.economic]
    category = np.array(["", *(c.value for c in DISABILITY_CODES)])[population.disability_category + 1]
    household_ids = np.zeros(population.households, dtype=np.int64)
    renumber = _Renumber()
    previous_cache = _sqlite_cache(-262_144)  # 256 MiB
    done = households_made = 0
    try:
        for lo in range(0, count, batch):
            hi = min(lo + batch, count)
            first17 = [
                f"{d}{b}{s:03d}"
                for d, b, s in zip(
                    district_codes[lo:hi].tolist(),
                    compact[lo:hi].tolist(),
                    sequence[lo:hi].tolist(),
                    strict=True,
                )
            ]
            numbers = [x + idcard.check_character(x) for x in first17]
            digests = [crypto.lookup_hash(x) for x in numbers]
            mobiles = population.mobile[lo:hi].tolist()
            phones = [str(m) if m else "" for m in mobiles]
            with transaction.atomic():
                if registry_had_rows:  # else nothing but this run's own, unique numbers
                    taken = _taken_hashes(digests)
                    if taken:
                        used = set(digests)
                        for i, digest in enumerate(digests):
                            if digest in taken:
                                numbers[i], digests[i] = renumber.free_number(
                                    first17[i],
                                    int(group_key[lo + i]),
                                    bool(population.male[lo + i]),
                                    used,
                                )
                                used.add(digests[i])
                # Households whose first member is in this batch.
                hh = population.household[lo:hi]
                new = np.flatnonzero(np.concatenate(([True], hh[1:] != hh[:-1])))
                if lo > 0 and hh[0] == population.household[lo - 1]:
                    new = new[1:]  # the couple's household was made with the previous batch
                ids = _reserve_household_ids(len(new))
                household_ids[hh[new]] = ids
                labels = [places.labels[c] for c in population.community[lo:hi].tolist()]
                urban = places.urban[population.community[lo:hi]].tolist()
                addresses = [
                    f"{label}{b}号院{u}号楼{r}室" if city else f"{label}{b * 10 + u}号"
                    for label, city, b, u, r in zip(
                        labels,
                        urban,
                        population.building[lo:hi].tolist(),
                        population.unit[lo:hi].tolist(),
                        population.room[lo:hi].tolist(),
                        strict=True,
                    )
                ]
                regions = community_codes[lo:hi].tolist()
                _insert(
                    Household._meta.db_table,
                    _HOUSEHOLD_COLUMNS,
                    [(ids[j], now, now, regions[i], addresses[i], HOUSEHOLD_NOTE) for j, i in enumerate(new)],
                )
                households_made += len(new)
                grades = population.disability_grade[lo:hi].tolist()
                rows = list(
                    zip(
                        [now] * (hi - lo),
                        [now] * (hi - lo),
                        names[lo:hi].tolist(),
                        [crypto.encrypt(x) for x in numbers],
                        digests,
                        iso[lo:hi].tolist(),
                        sex[lo:hi].tolist(),
                        [crypto.encrypt(p) if p else "" for p in phones],
                        [crypto.lookup_hash(p) if p else "" for p in phones],
                        regions,
                        hukou_codes[lo:hi].tolist(),
                        addresses,
                        [None if v != v else v for v in population.latitude[lo:hi].tolist()],
                        [None if v != v else v for v in population.longitude[lo:hi].tolist()],
                        household_ids[hh].tolist(),
                        living[lo:hi].tolist(),
                        economic[lo:hi].tolist(),
                        marital[lo:hi].tolist(),
                        population.children[lo:hi].tolist(),
                        population.special_family[lo:hi].tolist(),
                        category[lo:hi].tolist(),
                        [g or None for g in grades],
                        population.dementia[lo:hi].tolist(),
                        [""] * (hi - lo),
                        [Status.ACTIVE.value] * (hi - lo),
                        [since] * (hi - lo),
                        [None] * (hi - lo),
                        [actor_id] * (hi - lo),
                        strict=True,
                    )
                )
                _insert(Elder._meta.db_table, _ELDER_COLUMNS, rows)
            done = hi
            if progress is not None:
                progress(done, count)
    finally:
        _sqlite_cache(previous_cache)
    with transaction.atomic():
        audit.record(
            actor,
            "elder.generate",
            object_type=Elder._meta.label_lower,
            object_id=root,
            region_code=root,
            after={
                "count": done,
                "households": households_made,
                "seed": seed,
                "root": root,
                "renumbered": sum(v - 1 for v in renumber.next_extra.values()),
                "seconds": round(time.monotonic() - started, 1),
            },
        )
    return done


def elders_under(root: str) -> int:
    """How many elders the registry holds under `root` (all statuses)."""
    return Elder.objects.filter(
        codes.within(codes.normalize(root, field="root"), "residence_region_id")
    ).count()


def demo_population(*, elders: int = 20_000, root: str = "1201", stdout: Any = None, **options: Any) -> int:
    """The demo step: top the registry up to `elders` under `root`; a second run adds nothing."""
    have = elders_under(root)
    missing = max(0, elders - have)
    if missing:
        elders_generate(actor="demo", count=missing, root=root)
    if stdout is not None:
        stdout.write(f"demo elders: {missing} generated, {have} already present under {root}")
    return missing
