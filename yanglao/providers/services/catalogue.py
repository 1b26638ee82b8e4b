"""Writes of the city's service catalogue (DOMAIN.md §5)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db import transaction

from yanglao.accounts.scope import require_perm
from yanglao.core import audit
from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.providers import validation
from yanglao.providers.enums import Unit
from yanglao.providers.models import CatalogueItem
from yanglao.providers.services._common import MAX_PRICE, is_person
from yanglao.providers.validation import Problems

ITEM_FIELDS = (
    "name",
    "unit",
    "standard_minutes",
    "reference_price",
    "description",
    "is_active",
    "account_payable",
    "order",
)
_REQUIRED = ("name", "unit", "standard_minutes", "reference_price")
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_STEPS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: validation.text(v, field="name", label="项目名称", max_length=50, required=True),
    "unit": lambda v: validation.choice(v, Unit, field="unit", label="计量单位"),
    "standard_minutes": lambda v: validation.integer(
        v, field="standard_minutes", label="标准服务时长", minimum=1, maximum=1440, unit="分钟"
    ),
    "reference_price": lambda v: validation.decimal(
        v, field="reference_price", label="参考价格", minimum=0, maximum=MAX_PRICE, unit="元"
    ),
    "description": lambda v: validation.text(v, field="description", label="服务内容", max_length=2000),
    "is_active": bool,
    "account_payable": bool,
    "order": lambda v: validation.integer(v, field="order", label="排序", minimum=0, maximum=32767),
}


def _require_city(actor: Any) -> None:
    if not is_person(actor):
        return
    require_perm(actor, Perm.PROVIDERS_MANAGE)
    if not actor.is_superuser and (not actor.region_id or len(actor.region_id) > 4):
        raise PermissionDenied("服务目录由市级民政部门统一维护，您的账号不是市级账号")


def _name_taken(name: str, item: CatalogueItem | None = None) -> None:
    others = CatalogueItem.objects.filter(name=name)
    if item is not None:
        others = others.exclude(pk=item.pk)
    if others.exists():
        raise Conflict(f"服务目录中已有名为“{name}”的项目", field="name")


@transaction.atomic
def catalogue_item_create(
    *,
    actor: Any,
    code: str,
    name: str,
    unit: str,
    standard_minutes: Any,
    reference_price: Any,
    description: str = "",
    is_active: bool = True,
    account_payable: bool = True,
    order: Any = 100,
) -> CatalogueItem:
    """Add an item to the city's service catalogue (DOMAIN.md §5); its code is what other apps and the
    API use, so it is fixed once made."""
    _require_city(actor)
    code = (code or "").strip()
    problems = Problems()
    if not _CODE.match(code):
        problems.add("code", "项目代码应为2至32位小写英文字母、数字或下划线，以字母开头（如 bathing）")
    values = {
        "name": name,
        "unit": unit,
        "standard_minutes": standard_minutes,
        "reference_price": reference_price,
        "description": description,
        "is_active": is_active,
        "account_payable": account_payable,
        "order": order,
    }
    cleaned = validation.clean_fields(values, _STEPS, required=_REQUIRED, partial=False, problems=problems)
    problems.raise_any()
    if CatalogueItem.objects.filter(code=code).exists():
        raise Conflict(f"项目代码“{code}”已存在", field="code")
    _name_taken(cleaned["name"])
    item = CatalogueItem.objects.create(code=code, **cleaned)
    audit.record(actor, "catalogue.create", item, after={"code": code, **cleaned})
    return item


@transaction.atomic
def catalogue_item_update(*, actor: Any, item: CatalogueItem, **changes: Any) -> CatalogueItem:
    """Change a catalogue item's name, unit, standard duration, reference price, availability or whether
    the service account may pay for it. Prices
    already agreed in providers' offers and contracts are not touched."""
    _require_city(actor)
    unknown = sorted(set(changes) - set(ITEM_FIELDS))
    if unknown:
        raise InvalidInput("不能修改的字段：" + "、".join(unknown), field=unknown[0])
    problems = Problems()
    cleaned = validation.clean_fields(changes, _STEPS, required=_REQUIRED, partial=True, problems=problems)
    problems.raise_any()
    if "name" in cleaned:
        _name_taken(cleaned["name"], item)
    locked = CatalogueItem.objects.select_for_update().get(pk=item.pk)
    before = {name: getattr(locked, name) for name in cleaned}
    old, new = audit.changed_fields(before, cleaned)
    if not new:
        return locked
    for name, value in new.items():
        setattr(locked, name, value)
    locked.save()
    audit.record(actor, "catalogue.update", locked, before=old, after=new)
    return locked
