"""Derived groups (DOMAIN.md §1): each is a SQL condition over stored facts, so a list of a million
elders filters by "高龄" or "孤寡" with one indexed query and no Python loop over rows.

Age groups depend on the day asked about, so they are computed from `birth_date` against `today`
(an index range scan), never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yanglao.registry.enums import EconomicStatus, LivingArrangement, MaritalStatus


def born_on_or_before(today: date, years: int) -> date:
    """The latest birth date of someone at least `years` old on `today` (29 Feb → 28 Feb)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def age_at_least(today: date, years: int) -> Q:
    return Q(birth_date__lte=born_on_or_before(today, years))


def age_between(today: date, low: int, high: int | None) -> Q:
    """Age in [low, high] whole years (high None: no upper limit)."""
    condition = age_at_least(today, low)
    if high is not None:
        condition &= ~age_at_least(today, high + 1)
    return condition


@dataclass(frozen=True)
class Group:
    code: str
    label: object
    condition: Callable[[date], Q]
    note: object = ""


AGE_BANDS = [
    Group("age_60_69", _("60–69岁"), lambda t: age_between(t, 60, 69)),
    Group("age_70_79", _("70–79岁"), lambda t: age_between(t, 70, 79)),
    Group("age_80_89", _("80–89岁"), lambda t: age_between(t, 80, 89)),
    Group("age_90_99", _("90–99岁"), lambda t: age_between(t, 90, 99)),
    Group("age_100", _("100岁及以上"), lambda t: age_at_least(t, 100)),
]


def _gugua(today: date) -> Q:
    # 孤寡: no spouse and no children. An unknown marital status or child count is not assumed either way.
    return Q(marital_status__in=[MaritalStatus.WIDOWED, MaritalStatus.DIVORCED, MaritalStatus.UNMARRIED]) & Q(
        children_count=0
    )


HARDSHIP_ECONOMIC = [
    EconomicStatus.DESTITUTE,
    EconomicStatus.SUBSISTENCE,
    EconomicStatus.NEAR_SUBSISTENCE,
    EconomicStatus.LOW_INCOME,
]

GROUPS = [
    Group("gaoling", _("高龄（80岁及以上）"), lambda t: age_at_least(t, 80)),
    Group(
        "laolaoren",
        _("老老人"),
        lambda t: age_at_least(t, 80) | Q(disability_grade__in=[1, 2]) | Q(dementia=True),
        _("北京口径：80岁及以上、重度残疾或认知障碍；评估为失能者由能力评估模块补充"),
    ),
    Group("alone", _("独居"), lambda t: Q(living_arrangement=LivingArrangement.ALONE)),
    Group("empty_nest", _("空巢"), lambda t: Q(living_arrangement=LivingArrangement.EMPTY_NEST)),
    Group("left_behind", _("留守"), lambda t: Q(living_arrangement=LivingArrangement.LEFT_BEHIND)),
    Group("gugua", _("孤寡"), _gugua),
    Group("special_family", _("计划生育特殊家庭"), lambda t: Q(special_family=True)),
    Group("disabled", _("持证残疾"), lambda t: Q(disability_grade__isnull=False)),
    Group("dementia", _("认知障碍"), lambda t: Q(dementia=True)),
    Group(
        "special_hardship",
        _("特殊困难"),
        lambda t: Q(economic_status__in=HARDSHIP_ECONOMIC) | Q(special_family=True) | _gugua(t),
        _("默认口径：特困、低保、低保边缘、低收入、计划生育特殊家庭或孤寡；各市补贴口径见政策包"),
    ),
]

BY_CODE = {g.code: g for g in AGE_BANDS + GROUPS}


def condition(code: str, today: date) -> Q:
    return BY_CODE[code].condition(today)


def annotate(queryset: QuerySet, today: date, codes: list[str] | None = None) -> QuerySet:
    """Add a boolean column `g_<code>` per group, computed by the database."""
    chosen = codes or [g.code for g in GROUPS]
    return queryset.annotate(
        **{
            f"g_{code}": ExpressionWrapper(condition(code, today), output_field=BooleanField())
            for code in chosen
        }
    )


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def age_band_of(birth: date, today: date) -> str:
    """The age band code for display ("" under 60)."""
    age = age_on(birth, today)
    if age >= 100:
        return "age_100"
    if age < 60:
        return ""
    decade = age // 10 * 10
    return f"age_{decade}_{decade + 9}"
