"""Cleaning of facility facts, shared by the form, the API and the demo's self-check.

Each value is cleaned on its own first (a number, a date, a known code), then the rules that join
several values are applied to the facility as it would be after the change, so a partial update is
checked against the stored values too. Every problem names its field; all of them are reported at
once (HTTP 422) and nothing is written. The rules that differ between kinds read the kind's fields.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from yanglao.accounts.models import Organisation
from yanglao.core.errors import InvalidInput, Unprocessable
from yanglao.facilities.enums import PRIVATELY_RUN, OperatingModel, ServiceCode
from yanglao.facilities.models import LATITUDE_RANGE, LONGITUDE_RANGE, Facility, FacilityKind
from yanglao.regions import codes
from yanglao.regions.models import LEVEL_BY_LENGTH, Region
from yanglao.registry.validation import choice_labels, clean_bool, clean_choice, clean_date, clean_int, text

# The facts a person may set, with the Chinese name each error message uses.
LABELS = {
    "name": "设施名称",
    "kind": "设施类别",
    "region": "所在区域",
    "address": "地址",
    "latitude": "纬度",
    "longitude": "经度",
    "floor_area_m2": "建筑面积",
    "beds": "床位数",
    "occupied_beds": "在住人数",
    "operator": "运营机构",
    "operating_model": "运营模式",
    "services": "服务项目",
    "opening_hours": "开放时间",
    "filing_number": "备案号",
    "filing_date": "备案日期",
    "grade": "等级",
    "grade_date": "评定日期",
    "ltc_designated": "长护险定点",
    "monthly_fee_min": "月收费下限",
    "monthly_fee_max": "月收费上限",
    "note": "备注",
}
EDITABLE = tuple(LABELS)
REQUIRED = ("name", "kind", "region", "operating_model")
_TEXT_LIMITS = {"address": 200, "opening_hours": 100, "filing_number": 50, "note": 1000}
_GRADE_WORDS = {"一级": 1, "二级": 2, "三级": 3, "四级": 4, "五级": 5}
# Where a facility of a kind must be registered, by the shortest code its level allows.
_AT_LEAST = {6: "区县", 9: "街道（乡镇）", 12: "社区（村）"}
MAX_AREA = Decimal("1000000")
MAX_FEE = Decimal("1000000")
MAX_BEDS = 100_000


def clean_name(raw: Any) -> str:
    value = text(raw)
    if not value:
        raise InvalidInput("请填写设施名称", field="name")
    if len(value) > 200:
        raise InvalidInput(f"设施名称过长（{len(value)}个字），最多200个字", field="name")
    return value


def clean_kind(raw: Any) -> FacilityKind:
    if isinstance(raw, FacilityKind):
        return raw
    value = text(raw)
    if not value:
        raise InvalidInput("请选择设施类别", field="kind")
    found = FacilityKind.objects.filter(code=value).first() or FacilityKind.objects.filter(name=value).first()
    if found is None:
        names = "、".join(FacilityKind.objects.values_list("name", flat=True))
        raise InvalidInput(f"设施类别“{value}”不存在，可选：{names}", field="kind")
    return found


def clean_region(raw: Any) -> Region:
    if isinstance(raw, Region):
        return raw
    code = codes.normalize(text(raw).replace(" ", ""), field="region")
    found = Region.objects.filter(code=code).first()
    if found is None:
        raise InvalidInput(f"行政区划代码“{code}”不存在（尚未导入或已撤销）", field="region")
    return found


def clean_text(raw: Any, field: str) -> str:
    value = text(raw)
    limit = _TEXT_LIMITS[field]
    if len(value) > limit:
        raise InvalidInput(f"{LABELS[field]}过长（{len(value)}个字），最多{limit}个字", field=field)
    return value


def clean_coordinate(raw: Any, field: str) -> float | None:
    if raw is None or text(raw) == "":
        return None
    low, high = LATITUDE_RANGE if field == "latitude" else LONGITUDE_RANGE
    try:
        value = float(text(raw))
    except ValueError:
        raise InvalidInput(f"{LABELS[field]}应为数字，现为“{text(raw)}”", field=field) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(f"{LABELS[field]}应在{low}到{high}之间（中国境内），现为{text(raw)}", field=field)
    return value


def clean_decimal(raw: Any, field: str, high: Decimal, *, positive: bool = False) -> Decimal | None:
    if raw is None or text(raw) == "":
        return None
    try:
        value = Decimal(text(raw).replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(f"{LABELS[field]}应为数字，现为“{text(raw)}”", field=field) from None
    if not value.is_finite():
        raise InvalidInput(f"{LABELS[field]}应为数字，现为“{text(raw)}”", field=field)
    if positive and value <= 0:
        raise InvalidInput(f"{LABELS[field]}应大于0，现为{value}", field=field)
    if value < 0 or value > high:
        raise InvalidInput(f"{LABELS[field]}应在0到{high}之间，现为{value}", field=field)
    return value.quantize(Decimal("0.01"))


def clean_count(raw: Any, field: str) -> int:
    number = clean_int(raw, field, 0, MAX_BEDS, LABELS[field])
    return number or 0


def _active(organisation: Organisation) -> Organisation:
    if not organisation.is_active:
        raise InvalidInput(f"运营机构“{organisation.name}”已停用", field="operator")
    return organisation


def clean_operator(raw: Any) -> Organisation | None:
    if isinstance(raw, Organisation):
        return _active(raw)
    value = text(raw)
    if value in ("", "0"):
        return None
    if not value.isdigit():
        raise InvalidInput(f"运营机构应为机构编号，现为“{value}”", field="operator")
    found = Organisation.objects.filter(pk=int(value)).first()
    if found is None:
        raise InvalidInput(f"运营机构（编号 {value}）不存在", field="operator")
    return _active(found)


def clean_operating_model(raw: Any) -> str:
    value = clean_choice(raw, OperatingModel, "operating_model")
    if not value:
        raise InvalidInput("请选择运营模式", field="operating_model")
    return value


def clean_services(raw: Any) -> list[str]:
    """Codes or Chinese labels, as a list or one text separated by commas or 、; kept in catalogue order."""
    if raw is None:
        return []
    items = (
        raw
        if isinstance(raw, list | tuple | set)
        else text(raw).replace("，", ",").replace("、", ",").split(",")
    )
    chosen = set()
    for item in items:
        if text(item):
            try:
                chosen.add(clean_choice(item, ServiceCode, "services"))
            except InvalidInput:
                raise InvalidInput(
                    f"服务项目“{text(item)}”不在服务目录中，可填：{choice_labels(ServiceCode)}",
                    field="services",
                ) from None
    return [code for code in ServiceCode.values if code in chosen]


def clean_grade(raw: Any) -> int | None:
    value = text(raw)
    if value in _GRADE_WORDS:
        return _GRADE_WORDS[value]
    if value.endswith("级") and value[:-1].isdigit():
        value = value[:-1]
    return clean_int(value, "grade", 1, 5, "等级（GB/T 37276-2018）")


def _cleaners(today: date) -> dict[str, Any]:
    return {
        "name": clean_name,
        "kind": clean_kind,
        "region": clean_region,
        "address": lambda v: clean_text(v, "address"),
        "latitude": lambda v: clean_coordinate(v, "latitude"),
        "longitude": lambda v: clean_coordinate(v, "longitude"),
        "floor_area_m2": lambda v: clean_decimal(v, "floor_area_m2", MAX_AREA, positive=True),
        "beds": lambda v: clean_count(v, "beds"),
        "occupied_beds": lambda v: clean_count(v, "occupied_beds"),
        "operator": clean_operator,
        "operating_model": clean_operating_model,
        "services": clean_services,
        "opening_hours": lambda v: clean_text(v, "opening_hours"),
        "filing_number": lambda v: clean_text(v, "filing_number").replace(" ", ""),
        "filing_date": lambda v: clean_date(v, "filing_date", "备案日期", today=today),
        "grade": clean_grade,
        "grade_date": lambda v: clean_date(v, "grade_date", "评定日期", today=today),
        "ltc_designated": lambda v: clean_bool(v, "ltc_designated"),
        "monthly_fee_min": lambda v: clean_decimal(v, "monthly_fee_min", MAX_FEE),
        "monthly_fee_max": lambda v: clean_decimal(v, "monthly_fee_max", MAX_FEE),
        "note": lambda v: clean_text(v, "note"),
    }


def facts_of(facility: Facility) -> dict[str, Any]:
    """The stored facts, in the shape clean_facts returns (objects for the foreign keys)."""
    values = {
        name: getattr(facility, name) for name in EDITABLE if name not in ("kind", "region", "operator")
    }
    values["kind"] = facility.kind if facility.kind_id else None
    values["region"] = facility.region if facility.region_id else None
    values["operator"] = facility.operator if facility.operator_id else None
    return values


def clean_facts(
    raw: dict[str, Any], *, current: dict[str, Any] | None = None, today: date | None = None
) -> dict[str, Any]:
    """Clean the facts in `raw` and check the rules over the facility they give (`current` updated by
    them). Returns the cleaned `raw`; raises Unprocessable naming every problem."""
    today = today or timezone.localdate()
    unknown = sorted(set(raw) - set(EDITABLE))
    if unknown:
        raise Unprocessable("不能设置的字段：" + "、".join(unknown), field=unknown[0])
    cleaners = _cleaners(today)
    cleaned: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    for name, value in raw.items():
        try:
            cleaned[name] = cleaners[name](value)
        except InvalidInput as error:
            problems.append({"field": error.field or name, "message": error.message})
    bad = {p["field"] for p in problems}
    facts = {**(current or {}), **cleaned}
    for name in REQUIRED:
        if name not in bad and facts.get(name) in (None, ""):
            verb = "请选择" if name in ("kind", "region", "operating_model") else "请填写"
            problems.append({"field": name, "message": f"{verb}{LABELS[name]}"})
            bad.add(name)
    problems += [p for p in _rules(facts) if p["field"] not in bad]
    if problems:
        first = problems[0]
        message = (
            first["message"] if len(problems) == 1 else f"有{len(problems)}项填写有误：{first['message']}等"
        )
        raise Unprocessable(message, field=first["field"], details=problems)
    return cleaned


def _plain(value: Decimal) -> str:
    """1000.00 → 1000, 12.50 → 12.5 (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f")


def _rules(facts: dict[str, Any]) -> list[dict[str, str]]:
    """The rules that join several facts; those of a kind come from its row (kinds.yaml)."""
    problems: list[dict[str, str]] = []

    def problem(field: str, message: str) -> None:
        problems.append({"field": field, "message": message})

    kind: FacilityKind | None = facts.get("kind")
    region: Region | None = facts.get("region")
    if kind is not None and region is not None and len(region.code) < kind.min_region_length:
        level = LEVEL_BY_LENGTH[len(region.code)].label
        problem(
            "region",
            f"{kind.name}须登记到{_AT_LEAST[kind.min_region_length]}一级，"
            f"“{region.name}”是{level}：请选择设施所在的具体区域",
        )

    lat, lng = facts.get("latitude"), facts.get("longitude")
    if (lat is None) != (lng is None):
        missing = "longitude" if lng is None else "latitude"
        problem(missing, f"请同时填写经度和纬度（缺少{LABELS[missing]}）")

    beds, occupied = facts.get("beds") or 0, facts.get("occupied_beds") or 0
    if kind is not None and kind.has_beds and beds < 1:
        problem("beds", f"{kind.name}设有床位，请填写床位数")
    elif kind is not None and not kind.has_beds and (beds or occupied):
        problem("beds" if beds else "occupied_beds", f"{kind.name}不设床位，床位数和在住人数应留空")
    elif occupied > beds:
        problem("occupied_beds", f"在住人数（{occupied}）不能多于床位数（{beds}）")

    area = facts.get("floor_area_m2")
    if kind is not None and kind.min_floor_area_m2 is not None:
        least = _plain(kind.min_floor_area_m2)
        if area is None:
            problem("floor_area_m2", f"{kind.name}须填写建筑面积（不少于{least}平方米）")
        elif area < kind.min_floor_area_m2:
            problem("floor_area_m2", f"{kind.name}的建筑面积应不少于{least}平方米，现为{_plain(area)}")

    model, operator = facts.get("operating_model"), facts.get("operator")
    if model in PRIVATELY_RUN:
        label = OperatingModel(model).label
        if operator is None:
            problem("operator", f"运营模式为“{label}”的设施须填写运营机构")
        elif operator.kind == Organisation.Kind.GOVERNMENT:
            problem("operator", f"运营模式为“{label}”的设施应由社会力量运营，运营机构不能是政府部门")

    if kind is not None:
        missing_services = [s for s in kind.required_services or [] if s not in (facts.get("services") or [])]
        if missing_services:
            labels = "、".join(str(ServiceCode(s).label) for s in missing_services if s in ServiceCode.values)
            problem("services", f"{kind.name}须提供“{labels}”服务")

    if facts.get("filing_number") and not facts.get("filing_date"):
        problem("filing_date", "填写了备案号，请同时填写备案日期")
    elif facts.get("filing_date") and not facts.get("filing_number"):
        problem("filing_number", "填写了备案日期，请同时填写备案号")

    grade, graded_on = facts.get("grade"), facts.get("grade_date")
    if kind is not None and not kind.gradable and (grade is not None or graded_on):
        problem(
            "grade" if grade is not None else "grade_date",
            f"{kind.name}不参加养老机构等级评定（GB/T 37276-2018），请将等级和评定日期留空",
        )
    elif grade is not None and not graded_on:
        problem("grade_date", "评定了等级，请同时填写评定日期")
    elif grade is None and graded_on:
        problem("grade", "填写了评定日期，请同时选择等级")

    low, high = facts.get("monthly_fee_min"), facts.get("monthly_fee_max")
    if low is not None and high is not None and low > high:
        problem("monthly_fee_max", f"月收费上限（{high}元）不能低于下限（{low}元）")
    return problems
