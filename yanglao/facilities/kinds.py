"""The facility kinds of DOMAIN.md §4 as data: kinds.yaml, loaded into FacilityKind by migration 0002."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

KINDS_FILE = Path(__file__).resolve().parent / "kinds.yaml"


@cache
def read_kinds() -> tuple[dict[str, Any], ...]:
    with KINDS_FILE.open(encoding="utf-8") as handle:
        rows = yaml.safe_load(handle)
    for row in rows:
        if row.get("min_floor_area_m2") is not None:
            row["min_floor_area_m2"] = Decimal(str(row["min_floor_area_m2"]))
    return tuple(rows)


def load_kinds(model: Any, *, update: bool = True) -> int:
    """Insert the kinds of kinds.yaml into `model` (the current or a migration's historical FacilityKind);
    with update=True also overwrite the rules of kinds already present. Only the keys the model has are
    written, so an old migration keeps working when the file gains a field. Returns the rows written."""
    fields = {f.name for f in model._meta.get_fields() if getattr(f, "concrete", False)}
    existing = set(model.objects.values_list("code", flat=True))
    written = 0
    for row in read_kinds():
        values = {k: v for k, v in row.items() if k in fields and k != "code"}
        if row["code"] in existing:
            if update:
                model.objects.filter(code=row["code"]).update(**values)
                written += 1
        else:
            model.objects.create(code=row["code"], **values)
            written += 1
    return written


def ensure_kinds() -> int:
    """Add any kind missing from the table, leaving the rules of present ones as an administrator set
    them (a test database flushed by a transactional test loses the migration's rows)."""
    from yanglao.facilities.models import FacilityKind

    present = set(FacilityKind.objects.values_list("code", flat=True))
    if all(row["code"] in present for row in read_kinds()):
        return 0
    return load_kinds(FacilityKind, update=False)
