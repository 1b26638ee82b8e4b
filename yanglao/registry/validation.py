"""Cleaning of elder facts, shared by the form, the API, the import and the life-event file.

Each cleaner takes what a person typed or a spreadsheet held and returns the stored value, or raises
InvalidInput naming the field and the problem in Chinese. Full-width characters and stray spaces are
normalised first (NFKC), because data copied from other departments' systems is full of them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from django.db.models import TextChoices
from django.utils import timezone, translation

from yanglao.core import idcard, pii
from yanglao.core.errors import InvalidInput
from yanglao.regions import codes
from yanglao.registry.enums import DisabilityCategory, EconomicStatus, LivingArrangement, MaritalStatus

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (it counts the non-existent 29 Feb 1900)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
TRUE_WORDS = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", ""}


def text(raw: Any) -> str:
    """NFKC (full-width → half-width), control characters (NUL and the like, which PostgreSQL refuses in
    text) removed, trimmed, inner runs of spaces made one."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # a number typed into a text column comes back from Excel as 1.0
    visible = _CONTROLS.sub("", unicodedata.normalize("NFKC", str(raw)))
    return _SPACES.sub(" ", visible).strip()


def clean_name(raw: Any, field: str = "name") -> str:
    value = text(raw).replace(" ", "")
    if not value:
        raise InvalidInput("请填写姓名", field=field)
    if len(value) > 50:
        raise InvalidInput(f"姓名过长（{len(value)}个字），最多50个字", field=field)
    if any(ch.isdigit() for ch in value):
        raise InvalidInput(f"姓名“{value}”中含有数字", field=field)
    return value


def clean_id_number(raw: Any, field: str = "id_number", today: date | None = None) -> idcard.IdCard:
    return idcard.parse(text(raw).replace(" ", ""), field=field, today=today)


def clean_phone(raw: Any, field: str = "phone") -> str:
    value = text(raw)
    return pii.parse_phone(value, field=field) if value else ""


def clean_community(raw: Any, known: set[str] | None = None, field: str = "residence_region") -> str:
    """A community/village code (12 digits, also accepted without its zero padding issue)."""
    value = text(raw).replace(" ", "")
    if not value:
        raise InvalidInput("请填写社区（村）代码", field=field)
    code = codes.normalize(value, field=field)
    if len(code) != 12:
        raise InvalidInput(f"“{value}”不是社区（村）代码：应为12位，且末三位不为000", field=field)
    if known is not None and code not in known:
        raise InvalidInput(f"社区（村）代码 {code} 不存在（或不在本平台的行政区划内）", field=field)
    return code


@cache
def _choice_table(choices: type[TextChoices]) -> tuple[dict[str, str], str]:
    """What may be typed for each choice (the code, the Chinese label, the English label; normalised
    like the input), and the Chinese labels for the error message. Built once per enumeration, in
    Chinese whatever language the request uses."""
    table: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for choice in choices:
                table[text(str(choice.label))] = choice.value
    for choice in choices:
        table[choice.value] = choice.value
    with translation.override("zh-hans"):
        allowed = "、".join(str(c.label) for c in choices if c.value)
    return table, allowed


def choice_value(raw: Any, choices: type[TextChoices]) -> str | None:
    """The code for what was typed (code or label), or None."""
    return _choice_table(choices)[0].get(text(raw))


def choice_labels(choices: type[TextChoices]) -> str:
    """The Chinese labels, joined for an error message."""
    return _choice_table(choices)[1]


def clean_choice(raw: Any, choices: type[TextChoices], field: str, default: str | None = None) -> str:
    """Accept the stable code or the label (Chinese or English, full-width characters allowed)."""
    value = text(raw)
    if not value:
        if default is None:
            return ""
        return default
    table, allowed = _choice_table(choices)
    if value in table:
        return table[value]
    raise InvalidInput(f"“{value}”不是有效的选项，可填：{allowed}", field=field)


def clean_bool(raw: Any, field: str) -> bool:
    if isinstance(raw, bool):
        return raw
    value = text(raw).lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise InvalidInput(f"“{value}”应填“是”或“否”", field=field)


def clean_int(raw: Any, field: str, low: int, high: int, label: str) -> int | None:
    if raw is None or text(raw) == "":
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    try:
        number = int(text(raw))
    except ValueError:
        raise InvalidInput(f"{label}应为整数，现为“{text(raw)}”", field=field) from None
    if not low <= number <= high:
        raise InvalidInput(f"{label}应在{low}到{high}之间，现为{number}", field=field)
    return number


def parse_date(raw: Any, field: str, label: str) -> date | None:
    """A date from a date cell, an Excel serial number, or text such as 2024-03-01, 2024/3/1,
    2024年3月1日 or 20240301 (blank: None)."""
    if raw is None or (isinstance(raw, str) and text(raw) == ""):
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if not 1 <= raw < 2958466:
            raise InvalidInput(f"{label}“{raw}”不是有效的日期", field=field)
        return EXCEL_EPOCH + timedelta(days=int(raw))
    words = text(raw).replace(" ", "")
    for pattern in _DATE_PATTERNS:
        match = pattern.match(words)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                raise InvalidInput(f"{label}“{words}”不是有效的日期", field=field) from None
    raise InvalidInput(f"{label}“{words}”无法识别，请按 2024-03-01 的格式填写", field=field)


def clean_date(raw: Any, field: str, label: str, today: date | None = None) -> date | None:
    """parse_date, refusing dates after today (a birth, an event, a filing)."""
    value = parse_date(raw, field, label)
    if value is not None and value > (today or timezone.localdate()):
        raise InvalidInput(f"{label} {value.isoformat()} 晚于今天", field=field)
    return value


@dataclass(frozen=True)
class Column:
    """One elder fact as it appears in forms, spreadsheets and the API."""

    field: str
    header: str  # the Chinese header of the import template and the export
    required: bool = False
    hint: str = ""


# The import template's columns, in order; headers are matched by name in any order.
COLUMNS = [
    Column("name", "姓名", True, "如：张三"),
    Column("id_number", "身份证号码", True, "18位，或旧版15位（将自动转换）"),
    Column("residence_region", "现居住社区代码", True, "12位社区（村）代码"),
    Column("phone", "手机号码", False, "手机11位，或带区号的固定电话"),
    Column("address", "现居住地址", False),
    Column("hukou_region", "户籍社区代码", False, "12位社区（村）代码"),
    Column("living_arrangement", "居住状况", False, "、".join(str(c.label) for c in LivingArrangement)),
    Column("economic_status", "经济状况", False, "、".join(str(c.label) for c in EconomicStatus)),
    Column("marital_status", "婚姻状况", False, "、".join(str(c.label) for c in MaritalStatus)),
    Column("children_count", "子女数", False, "0–20"),
    Column("special_family", "计划生育特殊家庭", False, "是/否"),
    Column("disability_category", "残疾类别", False, "、".join(str(c.label) for c in DisabilityCategory)),
    Column("disability_grade", "残疾等级", False, "1–4"),
    Column("dementia", "认知障碍", False, "是/否"),
    Column("family_doctor", "家庭医生", False),
    Column("latitude", "纬度", False),
    Column("longitude", "经度", False),
]
HEADER_TO_FIELD = {c.header: c.field for c in COLUMNS}
FIELD_LABEL = {c.field: c.header for c in COLUMNS}


def clean_coordinate(raw: Any, field: str, low: float, high: float, label: str) -> float | None:
    if raw is None or text(raw) == "":
        return None
    try:
        number = float(text(raw))
    except ValueError:
        raise InvalidInput(f"{label}应为数字，现为“{text(raw)}”", field=field) from None
    if not low <= number <= high:
        raise InvalidInput(f"{label}应在{low}到{high}之间，现为{number}", field=field)
    return number


def clean_facts(
    raw: dict[str, Any],
    *,
    communities: set[str] | None = None,
    today: date | None = None,
    partial: bool = False,
) -> dict[str, Any]:
    """Clean every fact present in `raw`; collect all problems and raise one InvalidInput whose details
    name each field. With partial=False the required facts must be present."""
    today = today or timezone.localdate()
    cleaned: dict[str, Any] = {}
    problems: list[dict[str, str]] = []
    cleaners = {
        "name": lambda v: clean_name(v),
        "id_number": lambda v: clean_id_number(v, today=today),
        "residence_region": lambda v: clean_community(v, communities),
        "hukou_region": lambda v: clean_community(v, communities, field="hukou_region") if text(v) else None,
        "phone": lambda v: clean_phone(v),
        "address": lambda v: text(v)[:200],
        "family_doctor": lambda v: text(v)[:100],
        "living_arrangement": lambda v: clean_choice(
            v, LivingArrangement, "living_arrangement", LivingArrangement.WITH_FAMILY
        ),
        "economic_status": lambda v: clean_choice(
            v, EconomicStatus, "economic_status", EconomicStatus.GENERAL
        ),
        "marital_status": lambda v: clean_choice(v, MaritalStatus, "marital_status", ""),
        "children_count": lambda v: clean_int(v, "children_count", 0, 20, "子女数"),
        "special_family": lambda v: clean_bool(v, "special_family"),
        "disability_category": lambda v: clean_choice(v, DisabilityCategory, "disability_category", ""),
        "disability_grade": lambda v: clean_int(v, "disability_grade", 1, 4, "残疾等级"),
        "dementia": lambda v: clean_bool(v, "dementia"),
        "latitude": lambda v: clean_coordinate(v, "latitude", 3.0, 54.0, "纬度"),
        "longitude": lambda v: clean_coordinate(v, "longitude", 73.0, 136.0, "经度"),
    }
    if not partial:
        for column in COLUMNS:
            if column.required and text(raw.get(column.field)) == "":
                problems.append({"field": column.field, "message": f"请填写{column.header}"})
    for name, value in raw.items():
        cleaner = cleaners.get(name)
        if cleaner is None or any(p["field"] == name for p in problems):
            continue
        try:
            result = cleaner(value)
        except InvalidInput as error:
            problems.append({"field": error.field or name, "message": error.message})
            continue
        if isinstance(result, idcard.IdCard):
            card = result
            cleaned.update(id_number=card.number, birth_date=card.birth_date, sex=card.sex)
        else:
            cleaned[name] = result
    if (
        cleaned.get("disability_grade")
        and not cleaned.get("disability_category")
        and (not partial or "disability_category" in raw)
    ):
        problems.append({"field": "disability_category", "message": "填写了残疾等级，请同时填写残疾类别"})
    if problems:
        first = problems[0]
        message = (
            first["message"] if len(problems) == 1 else f"有{len(problems)}项填写有误：{first['message']}等"
        )
        raise InvalidInput(message, field=first["field"], details=problems)
    return cleaned
