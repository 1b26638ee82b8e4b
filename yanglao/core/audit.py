"""The audit trail. Services call `record` inside their own transaction, so a change and its audit row
are committed together or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection, models

from yanglao.core import pii
from yanglao.core.middleware import current_ip
from yanglao.core.models import AuditLog

# Values that must never appear in the trail in clear: masked (ID, phone) or dropped (secrets).
_MASKERS = {"id_number": pii.mask_id_number, "phone": pii.mask_phone}
_DROPPED = {"password", "token", "key_hash", "secret"}


def _clean(values: Mapping[str, Any] | None) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if key in _DROPPED:
            cleaned[key] = "***"
        elif key in _MASKERS and isinstance(value, str):
            cleaned[key] = _MASKERS[key](value)
        elif isinstance(value, models.Model):
            cleaned[key] = value.pk
        else:
            cleaned[key] = value
    return cleaned


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Only the keys whose value differs, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str = "",
    object_id: str | int = "",
    region_code: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditLog:
    """Write one audit row. Must run inside the calling service's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must be called inside the service's transaction")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    user = actor if getattr(actor, "is_authenticated", False) else None
    changes: dict[str, Any] = {}
    if before:
        changes["before"] = _clean(before)
    if after:
        changes["after"] = _clean(after)
    return AuditLog.objects.create(
        actor=user,
        actor_name=user.get_username() if user else (str(actor) if actor else "system"),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        region_code=region_code or "",
        changes=changes,
        ip=current_ip(),
    )
