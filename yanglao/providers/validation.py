"""Cleaning of the values the provider services accept, from a form (typed values), the API (JSON) or a
script (text). Every problem names its field in Chinese; `Problems` collects them so a form shows all
of them at once instead of one per submit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import models

from yanglao.core.errors import InvalidInput
from yanglao.providers.models import LATITUDE_RANGE, LONGITUDE_RANGE
from yanglao.registry.validation import parse_date

T = TypeVar("T")


class Problems:
    """Run each check, keep every InvalidInput, and raise them together (the first one names the error)."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def check(self, field: str, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except InvalidInput as error:
            if isinstance(error.details, list) and error.details:
                self.items.extend(error.details)
            else:
                self.items.append({"field": error.field or field, "message": error.message})
            return None

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field, "message": message})

    def raise_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise InvalidInput(first["message"], field=first["field"], details=list(self.items))


def clean_fields(
    values: dict[str, Any],
    steps: dict[str, Callable[[Any], Any]],
    *,
    required: tuple[str, ...],
    partial: bool,
    problems: Problems,
) -> dict[str, Any]:
    """Run each field's step on the value given; a required field left out is checked as empty (so its
    "请填写…" is reported) unless this is a partial change."""
    cleaned: dict[str, Any] = {}
    for name, step in steps.items():
        if name in values:
            cleaned[name] = problems.check(name, functools.partial(step, values[name]))
        elif not partial and name in required:
            problems.check(name, functools.partial(step, None))
    return cleaned


def text(raw: Any, *, field: str, label: str, max_length: int, required: bool = False) -> str:
    value = " ".join(str(raw or "").split())
    if required and not value:
        raise InvalidInput(f"请填写{label}", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{label}不能超过{max_length}个字，现为{len(value)}个字", field=field)
    return value


def choice(raw: Any, choices: type[models.TextChoices], *, field: str, label: str) -> str:
    """A code, or its Chinese label (as a spreadsheet or a clerk would write it)."""
    value = str(raw or "").strip()
    if not value:
        raise InvalidInput(f"请选择{label}", field=field)
    if value in choices.values:
        return value
    for code, name in choices.choices:
        if value == str(name):
            return code
    allowed = "、".join(f"{code}（{name}）" for code, name in choices.choices)
    raise InvalidInput(f"{label}“{value}”无效，可选：{allowed}", field=field)


def _number(raw: Any, *, field: str, label: str, kind: str) -> Decimal:
    """A finite Decimal from a number or text, or InvalidInput naming the field."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise InvalidInput(f"请填写{label}", field=field)
    if isinstance(raw, bool):
        raise InvalidInput(f"{label}应为{kind}", field=field)
    try:
        # An int directly (text of a huge one is refused by Python); anything else through str(), so a
        # float from JSON (19.9) becomes Decimal("19.9"), not its binary expansion.
        value = (
            Decimal(raw)
            if isinstance(raw, int)
            else Decimal(str(raw).strip().replace(",", "").replace("，", ""))
        )
    except (InvalidOperation, ValueError):
        value = Decimal("NaN")
    if not value.is_finite():
        raise InvalidInput(f"{label}应为{kind}，而不是“{str(raw)[:20]}”", field=field)
    return value


def _in_range(value: Decimal, *, field: str, label: str, minimum: Any, maximum: Any, unit: str) -> None:
    # Checked before any rounding: quantizing 1E+999999 would itself fail.
    if minimum is not None and value < minimum:
        raise InvalidInput(f"{label}不能小于{minimum}{unit}", field=field)
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{label}不能大于{maximum}{unit}", field=field)


def decimal(
    raw: Any,
    *,
    field: str,
    label: str,
    places: int = 2,
    minimum: Decimal | int | None = None,
    maximum: Decimal | int | None = None,
    positive: bool = False,
    unit: str = "",
) -> Decimal:
    value = _number(raw, field=field, label=label, kind="数字")
    if positive and value <= 0:
        raise InvalidInput(f"{label}应大于0", field=field)
    _in_range(value, field=field, label=label, minimum=minimum, maximum=maximum, unit=unit)
    step = Decimal(1).scaleb(-places)
    if value != value.quantize(step, rounding=ROUND_HALF_UP):
        raise InvalidInput(f"{label}最多保留{places}位小数", field=field)
    return value.quantize(step)


def integer(raw: Any, *, field: str, label: str, minimum: int, maximum: int, unit: str = "") -> int:
    value = _number(raw, field=field, label=label, kind="整数")
    _in_range(value, field=field, label=label, minimum=minimum, maximum=maximum, unit=unit)
    if value != value.to_integral_value():
        raise InvalidInput(f"{label}应为整数，而不是“{str(raw)[:20]}”", field=field)
    return int(value)


def day(raw: Any, *, field: str, label: str, required: bool = True) -> date | None:
    """A date: a date cell, an Excel serial number, or text such as 2026-03-01 or 2026年3月1日 (the
    registry's reading of dates, so every form and import accepts the same spellings)."""
    value = parse_date(raw, field, label)
    if value is None and required:
        raise InvalidInput(f"请填写{label}", field=field)
    return value


def not_after(value: date | None, limit: date, *, field: str, label: str) -> None:
    if value is not None and value > limit:
        raise InvalidInput(f"{label} {value.isoformat()} 晚于今天", field=field)


def position(latitude: Any, longitude: Any) -> tuple[float | None, float | None]:
    """Both or neither, inside China (a swapped pair is the usual mistake, so it is named)."""
    problems = Problems()
    lat = problems.check("latitude", lambda: _coordinate(latitude, "latitude", "纬度", LATITUDE_RANGE))
    lng = problems.check("longitude", lambda: _coordinate(longitude, "longitude", "经度", LONGITUDE_RANGE))
    problems.raise_any()
    if (lat is None) != (lng is None):
        missing = "longitude" if lng is None else "latitude"
        raise InvalidInput("纬度和经度应同时填写或同时留空", field=missing)
    return lat, lng


def _coordinate(raw: Any, field: str, label: str, bounds: tuple[float, float]) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{label}应为数字，而不是“{raw}”", field=field) from None
    if not bounds[0] <= value <= bounds[1]:
        raise InvalidInput(
            f"{label} {value} 不在中国境内（应在 {bounds[0]} 至 {bounds[1]} 之间），请检查是否把经纬度填反",
            field=field,
        )
    return value
