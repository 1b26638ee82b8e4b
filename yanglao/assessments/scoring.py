"""Scoring an instrument's answers: a pure function of the definition and the answers (no database).

GB/T 42195-2022: the total is the sum of the 26 items (0–90); the preliminary level follows the total
(chapter 6); the final level applies appendix C.4 (coma → 完全失能; dementia F00–F03 or another mental
and behavioural disorder F04–F99 → one level worse; two or more care-risk events in 30 days → one level
worse; never worse than 完全失能). The same function scores every instrument the definitions describe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from yanglao.assessments.instruments import Instrument, Level
from yanglao.core.errors import Unprocessable

_ICD10 = re.compile(r"^[A-Z]\d{2}(\.[0-9A-Z]{1,4})?$")
MAX_RISK_EVENTS = 99  # more than three a day for a month is a typing mistake, not an elder


@dataclass(frozen=True)
class AppliedAdjustment:
    code: str
    label: str
    effect: str  # "set:<level>" or "worsen:<n>"


@dataclass(frozen=True)
class Score:
    instrument: str
    answers: dict[str, int]
    total: int
    max_total: int
    groups: dict[str, dict[str, Any]]
    preliminary: Level
    final: Level
    adjustments: list[AppliedAdjustment] = field(default_factory=list)
    capped: bool = False  # an adjustment would have gone past the worst level

    def as_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "total": self.total,
            "max_total": self.max_total,
            "groups": self.groups,
            "preliminary_level": self.preliminary.code,
            "preliminary_level_label": self.preliminary.label,
            "final_level": self.final.code,
            "final_level_label": self.final.label,
            "adjustments": [{"code": a.code, "label": a.label, "effect": a.effect} for a in self.adjustments],
            "capped": self.capped,
        }


def normalize_diagnosis(value: Any) -> str:
    """'f01.9 ' → 'F01.9'; full-width letters and digits are folded first."""
    text = str(value).strip().upper().translate(_FULLWIDTH)
    return text


_FULLWIDTH = (
    {0xFF10 + i: ord("0") + i for i in range(10)}
    | {0xFF21 + i: ord("A") + i for i in range(26)}
    | {0xFF0E: ord(".")}
)


def check_answers(
    instrument: Instrument, answers: Mapping[Any, Any], *, partial: bool = False
) -> dict[str, int]:
    """The answers as {item key: score}; every problem (missing, unknown, not a whole number, not one of
    the item's scores) is collected and raised together, each naming its item."""
    problems: list[dict[str, str]] = []
    clean: dict[str, int] = {}
    if not isinstance(answers, Mapping):
        raise Unprocessable("answers 应为 {条目编号: 分值} 的映射", field="answers")
    for raw_key, value in answers.items():
        key = str(raw_key).strip()
        item = instrument.items.get(key)
        if item is None:
            problems.append(
                {
                    "field": f"answers.{key}",
                    "message": f"没有第 {key} 项（{instrument.name} 共 {len(instrument.items)} 项）",
                }
            )
            continue
        if value is None and partial:
            continue  # a draft may clear an answer
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                {
                    "field": f"answers.{key}",
                    "message": f"第 {key} 项“{item.name}”的分值应为整数，而不是 {value!r}",
                }
            )
            continue
        if value not in item.scores:
            allowed = "、".join(str(s) for s in sorted(item.scores))
            problems.append(
                {
                    "field": f"answers.{key}",
                    "message": f"第 {key} 项“{item.name}”的分值 {value} 超出范围，可选：{allowed}",
                }
            )
            continue
        clean[key] = value
    if not partial:
        for key, item in instrument.items.items():
            if key not in clean and not any(p["field"] == f"answers.{key}" for p in problems):
                problems.append({"field": f"answers.{key}", "message": f"第 {key} 项“{item.name}”未作答"})
    if problems:
        problems.sort(key=lambda p: _item_order(p["field"]))
        keys = [p["field"].removeprefix("answers.") for p in problems]
        named = "、".join(keys[:6]) + (f" 等 {len(keys)} 项" if len(keys) > 6 else " 项")
        raise Unprocessable(f"评估答案有误：第 {named}", details=problems)
    return clean


def check_diagnoses(values: Iterable[Any] | None) -> list[str]:
    found, problems = [], []
    for index, value in enumerate(values or []):
        code = normalize_diagnosis(value)
        if not _ICD10.match(code):
            problems.append(
                {
                    "field": f"diagnoses.{index}",
                    "message": f"诊断编码“{value}”不是 ICD-10 编码（如 F01、F03.9）",
                }
            )
        elif code not in found:
            found.append(code)
    if problems:
        raise Unprocessable("诊断编码有误", details=problems)
    return found


def check_risk_events(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RISK_EVENTS:
        raise Unprocessable(
            f"近30天照护风险事件次数应为 0～{MAX_RISK_EVENTS} 的整数", field="risk_events_30d"
        )
    return value


def _item_order(field_name: str) -> tuple[int, str]:
    key = field_name.removeprefix("answers.")
    return (int(key), "") if key.isdigit() else (10**9, key)


def score(
    instrument: Instrument,
    answers: Mapping[Any, Any],
    *,
    coma: bool = False,
    diagnoses: Iterable[Any] | None = None,
    risk_events_30d: int = 0,
) -> Score:
    """Total, group scores, preliminary and final level of a complete set of answers."""
    clean = check_answers(instrument, answers)
    codes = check_diagnoses(diagnoses)
    risk_events = check_risk_events(risk_events_30d)
    groups = {
        g.code: {"name": g.name, "score": sum(clean[i.key] for i in g.items), "max": g.max_score}
        for g in instrument.groups
    }
    total = sum(clean.values())
    preliminary = _preliminary(instrument, clean, total)

    rank, applied, capped = preliminary.rank, [], False
    worst = len(instrument.levels) - 1
    facts = {"coma": bool(coma), "diagnoses": codes, "risk_events": risk_events}
    for adjustment in instrument.adjustments:
        if not _adjustment_holds(adjustment.when, facts):
            continue
        if adjustment.set_level is not None:
            target = instrument.level(adjustment.set_level).rank
            rank = max(rank, target)  # an adjustment never makes the level better
            applied.append(
                AppliedAdjustment(adjustment.code, adjustment.label, f"set:{adjustment.set_level}")
            )
        else:
            if rank + adjustment.worsen > worst:
                capped = True
            rank = min(rank + adjustment.worsen, worst)
            applied.append(
                AppliedAdjustment(adjustment.code, adjustment.label, f"worsen:{adjustment.worsen}")
            )
    return Score(
        instrument=instrument.code,
        answers=clean,
        total=total,
        max_total=instrument.max_total,
        groups=groups,
        preliminary=preliminary,
        final=instrument.levels[rank],
        adjustments=applied,
        capped=capped,
    )


def _preliminary(instrument: Instrument, answers: dict[str, int], total: int) -> Level:
    if instrument.levels[0].total is not None:
        return next(lv for lv in instrument.levels if lv.total and lv.total[0] <= total <= lv.total[1])
    # Rule-based levels: tried from the worst up; the best level always holds.
    for level in reversed(instrument.levels):
        if level.when is not None and _level_holds(level.when, instrument, answers):
            return level
    raise AssertionError("the best level's condition is `always` (checked when loaded)")


def _level_holds(condition: dict[str, Any], instrument: Instrument, answers: dict[str, int]) -> bool:
    if "always" in condition:
        return True
    if "all" in condition:
        return all(_level_holds(c, instrument, answers) for c in condition["all"])
    if "any" in condition:
        return any(_level_holds(c, instrument, answers) for c in condition["any"])
    if "item" in condition:
        return answers[instrument.item_by_ref(condition["item"]).key] in condition["in"]
    hits = sum(answers[instrument.item_by_ref(ref).key] in condition["in"] for ref in condition["count"])
    return hits >= condition["at_least"]


def _adjustment_holds(condition: dict[str, Any], facts: dict[str, Any]) -> bool:
    if "flag" in condition:
        return bool(facts[condition["flag"]])
    if "risk_events_at_least" in condition:
        return facts["risk_events"] >= condition["risk_events_at_least"]
    categories = [code[:3] for code in facts["diagnoses"]]
    return any(low <= c <= high for c in categories for low, high in condition["diagnosis"])
