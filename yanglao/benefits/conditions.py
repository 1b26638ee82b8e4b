"""The eligibility language of policy packs: small declarative conditions that are checked when a pack
is loaded and compiled to database conditions (Q), so a monthly run selects every beneficiary in one
set-based query. Never Python `eval`, never a loop over people.

    {all: [c, …]}  {any: [c, …]}  {not: c}

Elders (target: elder) — registry facts, derived groups, the effective ability level, region:
    {status: [active, …]} {economic_status: [subsistence, …]} {living_arrangement: […]} {sex: […]}
    {marital_status: […]} {disability_category: […]} {disability_grade: [1, 2]}
    {special_family: true} {dementia: true} {group: [gaoling, alone, …]}
    {age_at_least: 80} {age_at_most: 89} {level: [mild, moderate, …]} {region: ["120101", …]}
Facilities (target: facility): {kind: […]} {operating_model: […]} {grade: [1..5]} {status: […]}
    {ltc_designated: true} {region: […]}
Care workers (target: worker): {certificate: [junior, …]} (holds one of these) {status: […]}
    {region: […]} (their organisation's region)

Ages and levels are taken on a day (the first day of the period paid).

Levels are read through one LEFT JOIN of the elder's effective assessment (`LEVEL`, added by
`base_queryset`), so a level in the eligibility and in every row of a `by_level` amount is a column
test, not a subquery per row of the rule: querysets the elder conditions filter must come from
`base_queryset("elder", on)` with the same day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.apps import apps
from django.db.models import FilteredRelation, Q

from yanglao.assessments.enums import Level
from yanglao.assessments.enums import Status as AssessmentStatus
from yanglao.regions import codes
from yanglao.registry import groups
from yanglao.registry.enums import (
    DisabilityCategory,
    EconomicStatus,
    LivingArrangement,
    MaritalStatus,
    Sex,
    Status,
)

TARGETS = ("elder", "facility", "worker")
# The elder's assessment in force on the day (at most one: the database allows one effective result
# per elder), joined by base_queryset; its final_level is the level the conditions test.
LEVEL = "benefit_assessment"


class ConditionError(ValueError):
    """A condition breaks the language; the message names the place and the problem."""


def _codes(values: Any, allowed: Any, where: str, key: str) -> list:
    if not isinstance(values, list) or not values:
        raise ConditionError(f"{where}.{key}: 应为非空列表")
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ConditionError(f"{where}.{key}: 无效的取值 {bad}，可用：{', '.join(map(str, allowed))}")
    return values


def _whole(value: Any, where: str, key: str, low: int = 0, high: int = 150) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConditionError(f"{where}.{key}: 应为 {low}～{high} 的整数，而不是 {value!r}")
    return value


def _flag(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConditionError(f"{where}.{key}: 应为 true 或 false")
    return value


def _regions(values: Any, where: str, key: str, field: str) -> Q:
    condition = Q(pk__in=[])
    for value in _codes(values, None, where, key):
        try:
            condition |= codes.within(codes.normalize(str(value), field=key), field)
        except Exception as error:  # noqa: BLE001 - any refusal of the code is a definition error here
            raise ConditionError(f"{where}.{key}: 区划代码 {value!r} 无效") from error
    return condition


def _elder_term(key: str, value: Any, where: str, on: date) -> Q:
    choices = {
        "status": Status,
        "economic_status": EconomicStatus,
        "living_arrangement": LivingArrangement,
        "sex": Sex,
        "marital_status": MaritalStatus,
        "disability_category": DisabilityCategory,
    }
    if key in choices:
        return Q(**{f"{key}__in": _codes(value, choices[key].values, where, key)})
    if key in ("special_family", "dementia"):
        return Q(**{key: _flag(value, where, key)})
    if key == "disability_grade":
        return Q(disability_grade__in=_codes(value, [1, 2, 3, 4], where, key))
    if key == "group":
        condition = Q()
        for code in _codes(value, list(groups.BY_CODE), where, key):
            condition &= groups.condition(code, on)
        return condition
    if key == "age_at_least":
        return groups.age_at_least(on, _whole(value, where, key))
    if key == "age_at_most":
        return ~groups.age_at_least(on, _whole(value, where, key) + 1)
    if key == "level":
        chosen = _codes(value, Level.values, where, key)
        return level_in(chosen)
    if key == "region":
        return _regions(value, where, key, "residence_region_id")
    raise ConditionError(f"{where}: 未知的条件 {key!r}")


def _facility_term(key: str, value: Any, where: str, on: date) -> Q:
    if key in ("kind", "operating_model", "status"):
        field = "kind_id" if key == "kind" else key
        return Q(**{f"{field}__in": _codes(value, None, where, key)})
    if key == "grade":
        return Q(grade__in=_codes(value, [1, 2, 3, 4, 5], where, key))
    if key == "ltc_designated":
        return Q(ltc_designated=_flag(value, where, key))
    if key == "region":
        return _regions(value, where, key, "region_id")
    raise ConditionError(f"{where}: 未知的条件 {key!r}")


CERTIFICATE_GRADES = ("junior", "intermediate", "senior", "technician", "senior_technician")


def _worker_term(key: str, value: Any, where: str, on: date) -> Q:
    if key == "certificate":
        certificate = apps.get_model("providers", "Certificate")
        chosen = _codes(value, CERTIFICATE_GRADES, where, key)
        held = certificate.objects.filter(grade__in=chosen, issued_on__lte=on).exclude(expires_on__lt=on)
        return Q(pk__in=held.values("worker_id"))
    if key == "status":
        return Q(status__in=_codes(value, None, where, key))
    if key == "region":
        return _regions(value, where, key, "organisation__region_id")
    raise ConditionError(f"{where}: 未知的条件 {key!r}")


TERMS: dict[str, Callable[[str, Any, str, date], Q]] = {
    "elder": _elder_term,
    "facility": _facility_term,
    "worker": _worker_term,
}


def compile_condition(condition: Any, target: str, on: date, where: str = "eligibility") -> Q:
    """The condition as a Q over the target's model; raises ConditionError naming the place."""
    if not isinstance(condition, dict) or len(condition) != 1:
        raise ConditionError(f"{where}: 每个条件应为只有一个键的映射，如 {{status: [active]}}")
    ((key, value),) = condition.items()
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise ConditionError(f"{where}.{key}: 应为非空的条件列表")
        parts = [compile_condition(c, target, on, f"{where}.{key}[{i}]") for i, c in enumerate(value)]
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if key == "all" else (combined | part)
        return combined
    if key == "not":
        return ~compile_condition(value, target, on, f"{where}.not")
    return TERMS[target](key, value, where, on)


def level_in(levels: list[str]) -> Q:
    """The elder's effective level is one of these (no effective result: none of them)."""
    return Q(**{f"{LEVEL}__final_level__in": levels})


def effective_assessment(on: date) -> FilteredRelation:
    """The same rule as assessments.selectors.effective_levels: the current effective result, within
    its validity on the day."""
    return FilteredRelation(
        "assessments",
        condition=Q(
            assessments__status=AssessmentStatus.EFFECTIVE,
            assessments__valid_from__lte=on,
            assessments__valid_until__gte=on,
        ),
    )


def base_queryset(target: str, on: date | None = None) -> Any:
    """Who a programme of this target can pay (looked up by name: benefits sits beside providers and
    facilities and imports neither); for elders with their effective assessment on `on` joinable as
    `LEVEL` (the join is made only when a condition reads the level)."""
    if target == "elder":
        elders = apps.get_model("registry", "Elder").objects.all()
        return elders.annotate(**{LEVEL: effective_assessment(on)}) if on is not None else elders
    if target == "facility":
        return apps.get_model("facilities", "Facility").objects.all()
    return apps.get_model("providers", "CareWorker").objects.all()
