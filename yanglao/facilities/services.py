"""Writes of facilities. Each service checks facilities.manage and the actor's region, validates with
the kind's rules (validation.py), runs in one transaction with its audit row, and announces the change
after commit (signals.facility_changed)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from yanglao.accounts.scope import covers, is_person, require_perm, require_region
from yanglao.core import audit
from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.facilities import signals, validation
from yanglao.facilities.enums import Status
from yanglao.facilities.models import Facility
from yanglao.regions.models import Region
from yanglao.registry.validation import text


def _require_manager(actor: Any) -> None:
    """A person needs facilities.manage; a named system job (the demo, an import) is trusted."""
    if is_person(actor):
        require_perm(actor, Perm.FACILITIES_MANAGE)


def _require_region_in_scope(actor: Any, region: Region) -> None:
    # Named beside the region field, so the form says which choice was refused.
    if is_person(actor) and not covers(actor, region.code):
        raise PermissionDenied(f"“{region.name}”（{region.code}）不在您的管辖范围内", field="region")


def _snapshot(facility: Facility) -> dict[str, Any]:
    """The audited facts, with the foreign keys as their keys (kind code, region code, operator id)."""
    values = validation.facts_of(facility)
    values["kind"] = facility.kind_id
    values["region"] = facility.region_id
    values["operator"] = facility.operator_id
    return values


def _check_unique(facility: Facility) -> None:
    others = Facility.objects.exclude(pk=facility.pk)
    if others.filter(region_id=facility.region_id, name=facility.name).exists():
        raise Conflict(
            f"“{facility.region.name}”已有名为“{facility.name}”的设施，请核对是否重复登记",
            field="name",
            code="duplicate",
        )
    if facility.filing_number and others.filter(filing_number=facility.filing_number).exists():
        raise Conflict(
            f"备案号“{facility.filing_number}”已登记在另一设施", field="filing_number", code="duplicate"
        )


def _save(facility: Facility) -> None:
    """Save under a savepoint; a duplicate that slipped past _check_unique (two clerks at once) becomes
    the same 409 instead of a broken transaction."""
    try:
        with transaction.atomic():
            facility.save()
    except IntegrityError:
        raise Conflict(
            "同名设施或同一备案号已被登记（可能刚由他人提交），请刷新后核对", field="name"
        ) from None


def _announce(facility: Facility, action: str, changed: list[str]) -> None:
    transaction.on_commit(
        lambda: signals.facility_changed.send(
            sender=Facility, facility=facility, action=action, changed=changed
        )
    )


@transaction.atomic
def facility_create(*, actor: Any, **facts: Any) -> Facility:
    """Register a facility within the actor's region; beds, grade, floor area and required services
    follow its kind's rules (kinds.yaml, DOMAIN.md §4)."""
    _require_manager(actor)
    cleaned = validation.clean_facts(facts)
    _require_region_in_scope(actor, cleaned["region"])
    facility = Facility(
        **cleaned,
        status=Status.OPERATING,
        status_since=timezone.localdate(),
        created_by=actor if is_person(actor) else None,
    )
    _check_unique(facility)
    _save(facility)
    after = _snapshot(facility)
    audit.record(actor, "facility.create", facility, region_code=facility.region_id, after=after)
    _announce(facility, "create", sorted(after))
    return facility


def _locked(facility: Facility) -> Facility:
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the operator join.
    return (
        Facility.objects.select_for_update(of=("self",))
        .select_related("kind", "region", "operator")
        .get(pk=facility.pk)
    )


@transaction.atomic
def facility_update(*, actor: Any, facility: Facility, **changes: Any) -> Facility:
    """Change a facility's facts; only the fields given change, and the kind's rules are checked on the
    result, so changing the kind re-checks beds, grade, floor area and services."""
    _require_manager(actor)
    if is_person(actor):
        require_region(actor, facility.region_id, hide=True)
    locked = _locked(facility)
    cleaned = validation.clean_facts(changes, current=validation.facts_of(locked))
    if "region" in cleaned:
        _require_region_in_scope(actor, cleaned["region"])
    before = _snapshot(locked)
    for name, value in cleaned.items():
        setattr(locked, name, value)
    old, new = audit.changed_fields(before, _snapshot(locked))
    if not new:
        return locked
    _check_unique(locked)
    _save(locked)
    audit.record(actor, "facility.update", locked, region_code=locked.region_id, before=old, after=new)
    _announce(locked, "update", sorted(new))
    return locked


@transaction.atomic
def facility_set_status(*, actor: Any, facility: Facility, status: str, reason: str) -> Facility:
    """Suspend, close or reopen a facility, with the reason recorded (the list and the map show the
    status; a closed facility drops out of facilities_near and facilities_serving)."""
    _require_manager(actor)
    if is_person(actor):
        require_region(actor, facility.region_id, hide=True)
    if status not in Status.values:
        labels = "、".join(str(label) for label in Status.labels)
        raise InvalidInput(f"状态“{status}”无效，可选：{labels}", field="status")
    reason = text(reason)
    if not reason:
        raise InvalidInput("请填写状态变更原因", field="reason")
    if len(reason) > 300:
        raise InvalidInput(f"状态变更原因过长（{len(reason)}个字），最多300个字", field="reason")
    locked = _locked(facility)
    if locked.status == status:
        raise Conflict(f"该设施已是“{locked.get_status_display()}”状态", field="status")
    before = {
        "status": locked.status,
        "status_since": locked.status_since,
        "status_reason": locked.status_reason,
    }
    locked.status = status
    locked.status_since = timezone.localdate()
    locked.status_reason = reason
    locked.save(update_fields=["status", "status_since", "status_reason", "updated_at"])
    audit.record(
        actor,
        "facility.status",
        locked,
        region_code=locked.region_id,
        before=before,
        after={"status": status, "status_since": locked.status_since, "status_reason": reason},
    )
    _announce(locked, "status", ["status"])
    return locked
