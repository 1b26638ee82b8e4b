"""Demo facilities for the demonstration city: every kind of DOMAIN.md §4, in the proportions Tianjin
publishes (seed 000), scaled to the demo population, placed where the demo elders live and named after
the real streets and communities of the Region table. Seeded, written with bulk_create in one
transaction, and idempotent: when facilities already exist under the root a second run adds nothing.

Scale: the demo's elders / Tianjin's 60+ population (≈3.0 million, 2020 census: 21.66 % of 13.87
million). Every district that has elders gets its district guidance centre (seed 000: all 16 districts
have one); every kind gets at least MIN_PER_KIND facilities, so each screen has something to show.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from yanglao.accounts.models import Organisation
from yanglao.accounts.services import organisation_create
from yanglao.core import audit, creditcode
from yanglao.facilities.enums import LEVEL_CODE_LENGTH, KindLevel, OperatingModel, ServiceCode, Status
from yanglao.facilities.kinds import ensure_kinds
from yanglao.facilities.models import Facility, FacilityKind
from yanglao.regions import codes
from yanglao.regions.models import Level, Region
from yanglao.registry.models import Elder

OLDER_POPULATION = 3_000_000  # Tianjin, aged 60+ (2020 census), the denominator of the scale
MIN_PER_KIND = 2
# Jitter around a place's centre by the level it is registered at (metres).
JITTER_M = {6: 3000, 9: 800, 12: 300}

_M = OperatingModel
PUBLIC_LED = ((_M.PUBLIC_PUBLIC, 40), (_M.PUBLIC_PRIVATE, 60))
PUBLIC_BUILT = ((_M.PUBLIC_PUBLIC, 30), (_M.PUBLIC_PRIVATE, 55), (_M.PRIVATE_SUBSIDISED, 15))
CANTEENS = ((_M.PUBLIC_PRIVATE, 40), (_M.PRIVATE_SUBSIDISED, 25), (_M.PRIVATE, 35))
HOMES = ((_M.PUBLIC_PUBLIC, 10), (_M.PUBLIC_PRIVATE, 25), (_M.PRIVATE_SUBSIDISED, 15), (_M.PRIVATE, 50))
TOWNSHIP = ((_M.PUBLIC_PUBLIC, 70), (_M.PUBLIC_PRIVATE, 30))


@dataclass(frozen=True)
class Plan:
    """How the demo draws one kind. `seed_count` is the Tianjin figure of seed 000 (0: not published
    for Tianjin, the minimum only)."""

    seed_count: int
    name: str  # {place}: the district, street or community; {ordinal}: 第二… for a second one there
    area: tuple[int, int]  # floor area, m²
    models: tuple[tuple[str, int], ...]
    beds: tuple[int, int] = (0, 0)
    ltc_share: float = 0.0
    per_district: bool = False


PLANS = {
    # 000: 16个区均完成区级养老服务指导中心建设
    "district_centre": Plan(
        16, "{place}{ordinal}养老服务指导中心", (1500, 4000), PUBLIC_LED, per_district=True
    ),
    # 000: 180家综合体相继投入使用
    "street_centre": Plan(180, "{place}{ordinal}养老服务综合体", (1000, 3200), PUBLIC_BUILT, (20, 80), 0.3),
    # 000: 建成照料中心1357个
    "day_care": Plan(1357, "{place}{ordinal}日间照料中心", (200, 800), PUBLIC_BUILT),
    # 000: 社区延伸服务机构53家
    "station": Plan(53, "{place}{ordinal}养老服务驿站", (60, 300), PUBLIC_BUILT),
    # 000: 老人家食堂1701家
    "canteen": Plan(1701, "{place}{ordinal}老人家食堂", (80, 400), CANTEENS),
    # 000: 托老所16家 (the community care homes of the seed; the nearest kind)
    "embedded_home": Plan(16, "{place}{ordinal}嵌入式养老院", (600, 2500), HOMES, (20, 60), 0.5),
    "mutual_aid": Plan(0, "{place}{ordinal}互助幸福屋", (40, 200), PUBLIC_BUILT),
    "self_help": Plan(0, "{place}{ordinal}宜老自助屋", (15, 60), PUBLIC_BUILT),
    "health_room": Plan(0, "{place}{ordinal}医养健康屋", (30, 150), PUBLIC_BUILT),
    "rural_home": Plan(0, "{place}{ordinal}农村幸福院", (150, 600), PUBLIC_BUILT),
    "township_home": Plan(0, "{place}{ordinal}敬老院", (1500, 6000), TOWNSHIP, (30, 150), 0.4),
    # 000: 380家养老服务机构成为长护险定点机构，占比78% → ≈487 institutions, 78 % designated
    "institution": Plan(487, "{place}{ordinal}养老院", (2000, 20000), HOMES, (50, 400), 0.78),
    # 000: 开设老年人认知障碍照护专区10个
    "dementia_unit": Plan(10, "{place}{ordinal}认知障碍照护专区", (300, 1500), HOMES, (10, 40), 0.5),
}
DEFAULT_PLAN = Plan(0, "{place}{ordinal}{kind}", (50, 500), PUBLIC_BUILT)
GRADE_WEIGHTS = ((1, 10), (2, 25), (3, 35), (4, 20), (5, 10))
SHARE_GRADED = 0.5
SHARE_FILED = 0.95
STATUS_WEIGHTS = ((Status.OPERATING, 96), (Status.SUSPENDED, 3), (Status.CLOSED, 1))
STATUS_REASONS = {Status.SUSPENDED: "消防设施整改，暂停运营", Status.CLOSED: "场地到期，已停止运营"}
_SUFFIXES = (
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("居民委员会", "社区"),
    ("居委会", "社区"),
    ("村民委员会", "村"),
    ("村委会", "村"),
)
_DIGITS = "零一二三四五六七八九"


def place_name(name: str) -> str:
    """A community's name as people say it: 花园路社区居委会 → 花园路社区, 大王庄村委会 → 大王庄村."""
    for suffix, replacement in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)] + replacement
    return name


def ordinal(n: int) -> str:
    """Nothing for the first of a kind in a place, then 第二, 第三, … 第九十九."""
    if n <= 1:
        return ""
    if n < 10:
        return f"第{_DIGITS[n]}"
    if n < 100:
        tens, ones = divmod(n, 10)
        return f"第{'' if tens == 1 else _DIGITS[tens]}十{_DIGITS[ones] if ones else ''}"
    return f"第{n}"


def _is_village(code: str) -> bool:
    # The last three digits of a village code: 001–199 residents' committees, 200–399 village committees.
    return len(code) == 12 and code[9] in "23"


def _is_township(name: str) -> bool:
    return name.endswith(("镇", "乡"))


def _weighted_sample(
    rng: random.Random, units: list[str], weights: dict[str, float], count: int
) -> list[str]:
    """`count` units, each at most once while there are enough (Efraimidis–Spirakis keys), then again
    in turn, so a kind fills every unit before any gets a second one."""
    if not units or count <= 0:
        return []
    keyed = sorted(units, key=lambda u: rng.random() ** (1.0 / max(weights.get(u, 0.0), 1e-9)), reverse=True)
    chosen = keyed[: min(count, len(keyed))]
    while len(chosen) < count:
        chosen += keyed[: count - len(chosen)]
    return chosen


def _jitter(rng: random.Random, lat: float, lng: float, radius_m: float) -> tuple[float, float]:
    distance = radius_m * math.sqrt(rng.random())
    angle = 2 * math.pi * rng.random()
    d_lat = distance * math.sin(angle) / 110_574
    d_lng = distance * math.cos(angle) / (111_320 * math.cos(math.radians(lat)))
    return round(lat + d_lat, 6), round(lng + d_lng, 6)


class _Places:
    """The loaded divisions under the root, with a centre for each (own coordinates when the Region
    table has them, else the mean of its communities' demo centres, else the nearest ancestor's)."""

    def __init__(self, root: str) -> None:
        from yanglao.registry.generator import places_under  # numpy, only when the demo runs

        regions = Region.objects.filter(codes.within(root)).exclude(name__contains="虚拟")
        self.by_code = {r.code: r for r in regions}
        self.ancestors = {
            r.code: r
            for r in Region.objects.filter(code__in=[root[:n] for n in (2, 4, 6, 9) if n < len(root)])
        }
        places = places_under(root)
        self.centre: dict[str, tuple[float, float]] = {}
        sums: dict[str, list[float]] = {}
        for code, lat, lng in zip(
            places.codes.tolist(), places.latitude.tolist(), places.longitude.tolist(), strict=True
        ):
            if math.isnan(lat) or math.isnan(lng):
                continue
            self.centre[code] = (lat, lng)
            street = sums.setdefault(code[:9], [0.0, 0.0, 0])
            street[0], street[1], street[2] = street[0] + lat, street[1] + lng, street[2] + 1
        for code, (lat, lng, n) in sums.items():
            self.centre[code] = (lat / n, lng / n)
        for region in self.by_code.values():  # own coordinates win
            if region.latitude is not None and region.longitude is not None:
                self.centre[region.code] = (region.latitude, region.longitude)
        for region in self.ancestors.values():
            if region.latitude is not None and region.longitude is not None:
                self.centre.setdefault(region.code, (region.latitude, region.longitude))
        self.communities = sorted(
            c for c, r in self.by_code.items() if r.level == Level.COMMUNITY and c in self.centre
        )
        self.streets = sorted(c for c, r in self.by_code.items() if r.level == Level.STREET)
        self.districts = sorted(c for c, r in self.by_code.items() if r.level == Level.DISTRICT)

    def position(self, code: str) -> tuple[float, float] | None:
        for n in (12, 9, 6, 4, 2):
            if len(code) >= n and code[:n] in self.centre:
                return self.centre[code[:n]]
        return None

    def name(self, code: str) -> str:
        region = self.by_code.get(code) or self.ancestors.get(code)
        return place_name(region.name) if region else code

    def address(self, code: str, rng: random.Random) -> str:
        parts = [self.by_code[code[:n]].name for n in (6, 9) if n < len(code) and code[:n] in self.by_code]
        place = self.name(code)
        if len(code) == 6:
            # A district-level facility still stands in one of the district's streets.
            streets = [s for s in self.streets if s.startswith(code)]
            if streets:
                place += self.by_code[rng.choice(streets)].name
        return "".join(parts) + f"{place}{rng.randint(1, 199)}号"


def _operators(districts: list[str], places: _Places, actor: str) -> dict[tuple[str, bool], Organisation]:
    """Two demo operators per district: a care provider (民办非企业单位, credit code 52…) and a meal
    company (企业, 91…), found again by their credit codes on a later run."""
    found: dict[tuple[str, bool], Organisation] = {}
    for district in districts:
        for meals, prefix, kind, suffix in (
            (False, "52", Organisation.Kind.PROVIDER, "颐康养老服务中心"),
            (True, "91", Organisation.Kind.CANTEEN, "惠民老年餐饮服务有限公司"),
        ):
            first17 = f"{prefix}{district}MK0000001"
            code = first17 + creditcode.check_character(first17)
            organisation = Organisation.objects.filter(credit_code=code).first() or organisation_create(
                actor=actor,
                name=f"{places.name(district)}{suffix}",
                kind=kind,
                region_code=district,
                credit_code=code,
            )
            found[(district, meals)] = organisation
    return found


def _draw(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _ in weighted], weights=[w for _, w in weighted])[0]


def _random_date(rng: random.Random, today: date, earliest_days: int, latest_days: int = 30) -> date:
    return today - timedelta(days=rng.randint(latest_days, earliest_days))


def demo_facilities(
    *, elders: int = 20_000, root: str = "1201", stdout: Any = None, seed: int = 40, **options: Any
) -> int:
    """The demo step: facilities of every kind under `root`, scaled to `elders`; a second run adds nothing."""
    root = codes.normalize(root, field="root")
    ensure_kinds()
    if Facility.objects.filter(codes.within(root, "region_id")).exists():
        if stdout is not None:
            stdout.write(f"demo facilities: already present under {root}, nothing added")
        return 0
    rng = random.Random(seed)
    today = timezone.localdate()
    places = _Places(root)
    per_community = dict(
        Elder.objects.filter(codes.within(root, "residence_region_id"))
        .values_list("residence_region_id")
        .annotate(n=Count("id"))
        .values_list("residence_region_id", "n")
    )
    weights: dict[str, float] = {}
    for code, n in per_community.items():
        for length in (6, 9, 12):
            weights[code[:length]] = weights.get(code[:length], 0.0) + n
    districts = sorted({c[:6] for c in per_community} & set(places.districts)) or places.districts
    in_districts = set(districts)
    factor = max(elders, 0) / OLDER_POPULATION
    operators = _operators(districts, places, "demo")

    rows: list[Facility] = []
    counts: dict[str, int] = {}
    filing_serial = 0
    for kind in FacilityKind.objects.order_by("order", "code"):
        plan = PLANS.get(kind.code, DEFAULT_PLAN)
        count = max(MIN_PER_KIND, round(plan.seed_count * factor))
        if plan.per_district:
            count = max(count, len(districts))
        length = LEVEL_CODE_LENGTH[KindLevel(kind.level)]
        units = {6: districts, 9: places.streets, 12: places.communities}[length]
        units = [u for u in units if u[:6] in in_districts]
        rural_units = [u for u in units if _is_village(u) or (len(u) == 9 and _is_township(places.name(u)))]
        if (kind.rural or kind.level == KindLevel.VILLAGE) and rural_units:
            units = rural_units
        seen: dict[str, int] = {}
        for code in _weighted_sample(rng, units, {u: weights.get(u, 0.0) + 1.0 for u in units}, count):
            seen[code] = seen.get(code, 0) + 1
            rows.append(_facility(rng, kind, plan, code, seen[code], places, operators, today))
            if kind.requires_filing and rng.random() < SHARE_FILED:
                filing_serial += 1
                rows[-1].filing_number = f"{code[:6]}-{rows[-1].filing_date.year}-{filing_serial:05d}"
            else:
                rows[-1].filing_date = None
        counts[kind.code] = count
    with transaction.atomic():
        Facility.objects.bulk_create(rows, batch_size=1000)
        audit.record(
            "demo",
            "facility.demo",
            object_type="facilities.facility",
            object_id=root,
            region_code=root,
            after={"created": len(rows), "by_kind": counts, "elders": elders, "factor": round(factor, 6)},
        )
    if stdout is not None:
        stdout.write(
            f"demo facilities: {len(rows)} created under {root} ({', '.join(f'{k} {n}' for k, n in counts.items())})"
        )
    return len(rows)


def _facility(
    rng: random.Random,
    kind: FacilityKind,
    plan: Plan,
    code: str,
    nth: int,
    places: _Places,
    operators: dict[tuple[str, bool], Organisation],
    today: date,
) -> Facility:
    model = _draw(rng, plan.models)
    meals = ServiceCode.MEALS in (kind.required_services or [])
    operator = operators.get((code[:6], meals)) if model != OperatingModel.PUBLIC_PUBLIC else None
    typical = [s for s in kind.typical_services or [] if s in ServiceCode.values]
    offered = set(kind.required_services or []) | set(
        rng.sample(typical, rng.randint(min(2, len(typical)), len(typical)))
    )
    area = Decimal(rng.randint(*plan.area))
    if kind.min_floor_area_m2 is not None:
        area = max(area, kind.min_floor_area_m2)
    beds = occupied = 0
    if kind.has_beds:
        low, high = plan.beds if plan.beds[1] else (10, 50)
        beds = rng.randint(low, high)
        occupied = round(beds * rng.uniform(0.4, 0.95))
    grade = grade_date = None
    if kind.gradable and rng.random() < SHARE_GRADED:
        grade = _draw(rng, GRADE_WEIGHTS)
        grade_date = _random_date(rng, today, 4 * 365)
    fee_min = fee_max = None
    if kind.has_beds:
        fee_min = Decimal(rng.randrange(1800, 4600, 100))
        fee_max = fee_min + rng.randrange(500, 3600, 100)
    status = _draw(rng, STATUS_WEIGHTS)
    position = places.position(code)
    latitude = longitude = None
    if position is not None:
        latitude, longitude = _jitter(rng, *position, JITTER_M[len(code)])
    if kind.has_beds:
        hours = "全天24小时"
    elif meals:
        hours = "每日 10:30-13:00，16:30-18:30"
    else:
        hours = "周一至周日 8:00-17:30"
    return Facility(
        name=plan.name.format(place=places.name(code), ordinal=ordinal(nth), kind=kind.name),
        kind=kind,
        region_id=code,
        address=places.address(code, rng),
        latitude=latitude,
        longitude=longitude,
        floor_area_m2=area,
        beds=beds,
        occupied_beds=occupied,
        operator=operator,
        operating_model=model,
        services=[s for s in ServiceCode.values if s in offered],
        opening_hours=hours,
        filing_date=_random_date(rng, today, 6 * 365, 60),  # kept only when a filing number is drawn
        grade=grade,
        grade_date=grade_date,
        ltc_designated=rng.random() < plan.ltc_share,
        monthly_fee_min=fee_min,
        monthly_fee_max=fee_max,
        status=status,
        status_since=_random_date(rng, today, 3 * 365),
        status_reason=STATUS_REASONS.get(status, ""),
    )
