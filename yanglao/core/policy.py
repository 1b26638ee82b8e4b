"""Policy values: named settings that a city changes by decision, not by release (DESIGN.md rule 6).

An app declares each value it reads, with its default and what it means, when its module loads:

    VALIDITY = policy.define("assessments.validity_months", 12, "能力评估结果有效期（月）", minimum=1, maximum=60)
    months = policy.value(VALIDITY, on=today)

`policy_set` records a new dated value (audited); `value` returns the one in force on a date, or the
default when none was set. Values are whole numbers or decimals with bounds checked on every write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from yanglao.core import audit
from yanglao.core.errors import InvalidInput, PermissionDenied
from yanglao.core.models import PolicyValue
from yanglao.core.permissions import Perm


@dataclass(frozen=True)
class Setting:
    key: str
    default: int | float
    label: str
    minimum: int | float | None = None
    maximum: int | float | None = None
    unit: str = ""

    def check(self, raw: Any) -> int | float:
        kind = type(self.default)
        try:
            if isinstance(raw, bool):
                raise ValueError
            number = kind(Decimal(str(raw).strip())) if kind is float else int(str(raw).strip())
        except (ValueError, ArithmeticError):
            what = "整数" if kind is int else "数值"
            raise InvalidInput(f"“{self.label}”应为{what}，而不是“{raw}”", field="value") from None
        if self.minimum is not None and number < self.minimum:
            raise InvalidInput(f"“{self.label}”不能小于 {self.minimum}{self.unit}", field="value")
        if self.maximum is not None and number > self.maximum:
            raise InvalidInput(f"“{self.label}”不能大于 {self.maximum}{self.unit}", field="value")
        return number


SETTINGS: dict[str, Setting] = {}


def define(
    key: str,
    default: int | float,
    label: str,
    *,
    minimum: int | float | None = None,
    maximum: int | float | None = None,
    unit: str = "",
) -> Setting:
    setting = Setting(key, default, label, minimum, maximum, unit)
    setting.check(default)
    SETTINGS[key] = setting
    return setting


def value(setting: Setting, *, on: date | None = None) -> Any:
    """The value in force on `on` (today by default)."""
    on = on or timezone.localdate()
    row = (
        PolicyValue.objects.filter(key=setting.key, valid_from__lte=on).order_by("-valid_from", "-id").first()
    )
    return setting.default if row is None else setting.check(row.value)


@transaction.atomic
def policy_set(*, actor: Any, key: str, value: Any, valid_from: date, note: str = "") -> PolicyValue:
    """Record a new dated value of a declared policy setting; earlier values stay for the record."""
    if getattr(actor, "is_authenticated", False) and not actor.has_perm(Perm.POLICIES_MANAGE):
        raise PermissionDenied("您的角色没有修改政策参数的权限")
    setting = SETTINGS.get(key)
    if setting is None:
        raise InvalidInput(f"没有名为“{key}”的政策参数", field="key")
    row = PolicyValue.objects.create(
        key=key,
        value=setting.check(value),
        valid_from=valid_from,
        note=note.strip(),
        set_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(actor, "policy.set", row, after={"key": key, "value": row.value, "valid_from": valid_from})
    return row
