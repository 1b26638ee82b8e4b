"""Writes to the registry. Each service checks the actor's permission and region, runs in one
transaction, writes its audit row there, and announces what happened after commit."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from yanglao.accounts.scope import is_person, require_perm, require_region
from yanglao.core import audit
from yanglao.core.errors import Conflict, InvalidInput
from yanglao.core.fields import lookup_value
from yanglao.core.permissions import Perm
from yanglao.regions.models import Region
from yanglao.registry import selectors, signals, validation
from yanglao.registry.enums import EventKind, EventSource, GuardianKind, Relation, Status
from yanglao.registry.models import Contact, Elder, Household, LifeEvent

# Fields whose change is audited with their values (personal numbers are masked by the audit module).
AUDITED = [
    "name",
    "id_number",
    "phone",
    "residence_region",
    "hukou_region",
    "address",
    "living_arrangement",
    "economic_status",
    "marital_status",
    "children_count",
    "special_family",
    "disability_category",
    "disability_grade",
    "dementia",
    "family_doctor",
    "latitude",
    "longitude",
]


def authorize(actor: Any, perm: str, region_code: str, *, hide: bool = False) -> None:
    """A person needs the permission and the region; a system actor (a named job) is trusted."""
    if is_person(actor):
        require_perm(actor, perm)
        require_region(actor, region_code, hide=hide)


def _communities(codes: list[str]) -> set[str]:
    return set(
        Region.objects.filter(code__in=[c for c in codes if c], level="community").values_list(
            "code", flat=True
        )
    )


def _region_codes(raw: dict[str, Any]) -> list[str]:
    found = []
    for key in ("residence_region", "hukou_region"):
        value = raw.get(key)
        if value:
            # A bad code is reported by clean_facts with its field; here it is just not looked up.
            with contextlib.suppress(InvalidInput):
                found.append(validation.clean_community(value))
    return found


def _snapshot(elder: Elder) -> dict[str, Any]:
    values = {
        name: getattr(elder, name) for name in AUDITED if name not in ("residence_region", "hukou_region")
    }
    values["residence_region"] = elder.residence_region_id
    values["hukou_region"] = elder.hukou_region_id
    return values


@transaction.atomic
def elder_register(*, actor: Any, **facts: Any) -> Elder:
    """Register an elder; the ID number is unique in the whole platform and gives birth date and sex
    (GB 11643). Announces elder_registered."""
    cleaned = validation.clean_facts(facts, communities=_communities(_region_codes(facts)))
    authorize(actor, Perm.ELDERS_EDIT, cleaned["residence_region"])
    digest = lookup_value(Elder, "id_number", cleaned["id_number"])
    if Elder.objects.filter(id_number_hash=digest).exists():
        raise Conflict("该身份证号码已登记，请搜索后修改原档案", field="id_number", code="duplicate")
    elder = Elder(
        **{k: v for k, v in cleaned.items() if k not in ("residence_region", "hukou_region")},
        residence_region_id=cleaned["residence_region"],
        hukou_region_id=cleaned.get("hukou_region"),
        status=Status.ACTIVE,
        status_since=timezone.localdate(),
        registered_by=actor if is_person(actor) else None,
    )
    elder.save()
    audit.record(
        actor, "elder.register", elder, region_code=elder.residence_region_id, after=_snapshot(elder)
    )
    transaction.on_commit(lambda: signals.elder_registered.send(sender=Elder, elder=elder))
    return elder


@transaction.atomic
def elder_update(*, actor: Any, elder: Elder, **changes: Any) -> Elder:
    """Change an elder's facts; only the fields given are touched. A move of residence here corrects
    a wrong code; a real move is a life event (elder_record_event)."""
    authorize(actor, Perm.ELDERS_EDIT, elder.residence_region_id, hide=True)
    unknown = sorted(set(changes) - set(AUDITED))
    if unknown:
        raise InvalidInput("不能修改的字段：" + "、".join(unknown), field=unknown[0])
    cleaned = validation.clean_facts(changes, communities=_communities(_region_codes(changes)), partial=True)
    if "residence_region" in cleaned:
        authorize(actor, Perm.ELDERS_EDIT, cleaned["residence_region"])
    if "id_number" in cleaned:
        digest = lookup_value(Elder, "id_number", cleaned["id_number"])
        if Elder.objects.filter(id_number_hash=digest).exclude(pk=elder.pk).exists():
            raise Conflict("该身份证号码已登记在另一份档案中", field="id_number", code="duplicate")
    locked = Elder.objects.select_for_update().get(pk=elder.pk)
    before = _snapshot(locked)
    for name, value in cleaned.items():
        if name in ("residence_region", "hukou_region"):
            setattr(locked, f"{name}_id", value)
        else:
            setattr(locked, name, value)
    after = _snapshot(locked)
    old, new = audit.changed_fields(before, after)
    if not new:
        return locked
    locked.save()
    audit.record(actor, "elder.update", locked, region_code=locked.residence_region_id, before=old, after=new)
    changed = sorted(new)
    transaction.on_commit(lambda: signals.elder_changed.send(sender=Elder, elder=locked, changed=changed))
    return locked


# --- life events ---------------------------------------------------------------------------------
_STATUS_AFTER: dict[str, str] = {
    EventKind.DEATH: Status.DECEASED,
    EventKind.HOSPITAL_ADMISSION: Status.IN_HOSPITAL,
    EventKind.HOSPITAL_DISCHARGE: Status.ACTIVE,
    EventKind.INSTITUTION_ADMISSION: Status.IN_INSTITUTION,
    EventKind.INSTITUTION_DISCHARGE: Status.ACTIVE,
    EventKind.MOVE_OUT: Status.MOVED_OUT,
}
# The status an event requires before it (None: any status except deceased).
# The statuses an event may follow (absent: any status but deceased).
_STATUS_BEFORE: dict[str, set[str]] = {
    EventKind.HOSPITAL_ADMISSION: {Status.ACTIVE, Status.IN_INSTITUTION},
    EventKind.HOSPITAL_DISCHARGE: {Status.IN_HOSPITAL},
    EventKind.INSTITUTION_ADMISSION: {Status.ACTIVE, Status.IN_HOSPITAL},
    EventKind.INSTITUTION_DISCHARGE: {Status.IN_INSTITUTION},
    EventKind.MOVE_WITHIN: {Status.ACTIVE, Status.IN_HOSPITAL, Status.IN_INSTITUTION},
}
# A discharge returns the elder to where the stay began (a care-home resident goes back to the home).
_STAY_BEGINS: dict[str, str] = {
    EventKind.HOSPITAL_DISCHARGE: EventKind.HOSPITAL_ADMISSION,
    EventKind.INSTITUTION_DISCHARGE: EventKind.INSTITUTION_ADMISSION,
}


@transaction.atomic
def elder_record_event(
    *,
    actor: Any,
    elder: Elder,
    kind: str,
    on: date,
    note: str = "",
    new_region: str | None = None,
    reverses: LifeEvent | None = None,
    source: str = EventSource.FORM,
) -> LifeEvent:
    """Record a death, hospital stay, institution stay or move; a death stops entitlements from the
    next period, orders, visits and calls (DOMAIN.md §1). A correction reverses the latest event."""
    authorize(actor, Perm.ELDERS_EDIT, elder.residence_region_id, hide=True)
    if kind not in EventKind.values:
        raise InvalidInput(f"事件类型“{kind}”无效", field="kind")
    if source not in EventSource.values:
        raise InvalidInput(f"来源“{source}”无效", field="source")
    today = timezone.localdate()
    if on > today:
        raise InvalidInput(f"发生日期 {on.isoformat()} 晚于今天", field="on")
    locked = Elder.objects.select_for_update().get(pk=elder.pk)
    if on < locked.birth_date:
        raise InvalidInput("发生日期早于出生日期", field="on")
    event = LifeEvent(
        elder=locked,
        kind=kind,
        on=on,
        note=validation.text(note)[:300],
        source=source,
        status_before=locked.status,
        status_since_before=locked.status_since,
        region_before_id=locked.residence_region_id,
        recorded_by=actor if is_person(actor) else None,
    )
    if kind == EventKind.CORRECTION:
        _apply_correction(locked, event, reverses)
    else:
        _apply_event(actor, locked, event, new_region)
    locked.save(update_fields=["status", "status_since", "death_date", "residence_region", "updated_at"])
    event.save()
    audit.record(
        actor,
        f"elder.event.{kind}",
        locked,
        region_code=event.region_before_id,
        before={"status": event.status_before, "residence_region": event.region_before_id},
        after={
            "status": locked.status,
            "residence_region": locked.residence_region_id,
            "on": on,
            "reverses": reverses.pk if reverses else None,
        },
    )
    transaction.on_commit(lambda: signals.life_event_recorded.send(sender=LifeEvent, event=event))
    return event


def _apply_event(actor: Any, elder: Elder, event: LifeEvent, new_region: str | None) -> None:
    kind = event.kind
    if elder.status == Status.DECEASED:
        raise Conflict("该老人已登记死亡；如登记有误，请先更正死亡事件", field="kind", code="deceased")
    allowed = _STATUS_BEFORE.get(kind)
    if allowed and elder.status not in allowed:
        raise Conflict(
            f"当前状态为“{elder.get_status_display()}”，不能登记“{EventKind(kind).label}”", field="kind"
        )
    if kind == EventKind.MOVE_WITHIN:
        if not new_region:
            raise InvalidInput("市内迁居请填写迁入社区代码", field="new_region")
        code = validation.clean_community(new_region, _communities([new_region]), field="new_region")
        if code == elder.residence_region_id:
            raise InvalidInput("迁入社区与现居住社区相同", field="new_region")
        event.new_region_id = code
        elder.residence_region_id = code
        return  # the status, and the date it began, stay as they are
    if kind in _STAY_BEGINS:
        began = (
            LifeEvent.objects.filter(elder=elder, kind=_STAY_BEGINS[kind], reversed_by__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        elder.status = began.status_before if began else Status.ACTIVE
    else:
        elder.status = _STATUS_AFTER[kind]
    elder.status_since = event.on
    if kind == EventKind.DEATH:
        elder.death_date = event.on


def _apply_correction(elder: Elder, event: LifeEvent, reverses: LifeEvent | None) -> None:
    if reverses is None or reverses.elder_id != elder.pk:
        raise InvalidInput("请选择要更正（撤销）的事件", field="reverses")
    if reverses.kind == EventKind.CORRECTION:
        raise InvalidInput("更正事件本身不能再被更正", field="reverses")
    if LifeEvent.objects.filter(reverses=reverses).exists():
        raise Conflict("该事件已被更正过", field="reverses")
    latest = selectors.latest_correctable_event(elder)
    if latest is None or latest.pk != reverses.pk:
        raise Conflict("只能更正最近一次尚未更正的事件，请按时间倒序逐个更正", field="reverses")
    event.reverses = reverses
    elder.status = reverses.status_before
    elder.status_since = reverses.status_since_before
    elder.residence_region_id = reverses.region_before_id
    if reverses.kind == EventKind.DEATH:
        elder.death_date = None


# --- contacts and households ---------------------------------------------------------------------
def _clean_contact(name: str, relation: str, phone: str, guardian: str) -> dict[str, Any]:
    problems = []
    cleaned: dict[str, Any] = {}
    for field, step in (
        ("name", lambda: validation.clean_name(name)),
        (
            "relation",
            lambda: validation.clean_choice(relation, Relation, "relation") or _missing("relation", "关系"),
        ),
        ("phone", lambda: validation.clean_phone(phone) or _missing("phone", "电话")),
        ("guardian", lambda: validation.clean_choice(guardian, GuardianKind, "guardian", "")),
    ):
        try:
            cleaned[field] = step()
        except InvalidInput as error:
            problems.append({"field": error.field or field, "message": error.message})
    if problems:
        raise InvalidInput(problems[0]["message"], field=problems[0]["field"], details=problems)
    return cleaned


def _missing(field: str, label: str) -> str:
    raise InvalidInput(f"请填写{label}", field=field)


@transaction.atomic
def contact_add(
    *,
    actor: Any,
    elder: Elder,
    name: str,
    relation: str,
    phone: str,
    guardian: str = "",
    is_emergency: bool = False,
    note: str = "",
) -> Contact:
    """Add a family member, neighbour or guardian; at most one legal guardian per elder."""
    authorize(actor, Perm.ELDERS_EDIT, elder.residence_region_id, hide=True)
    cleaned = _clean_contact(name, relation, phone, guardian)
    if (
        cleaned["guardian"] == GuardianKind.LEGAL
        and elder.contacts.filter(guardian=GuardianKind.LEGAL).exists()
    ):
        raise Conflict("该老人已有法定监护人", field="guardian")
    contact = Contact.objects.create(
        elder=elder, is_emergency=is_emergency, note=validation.text(note)[:200], **cleaned
    )
    audit.record(
        actor,
        "elder.contact.add",
        contact,
        region_code=elder.residence_region_id,
        after={"elder": elder.pk, **cleaned},
    )
    return contact


@transaction.atomic
def contact_remove(*, actor: Any, contact: Contact) -> None:
    """Remove a contact (kept in the audit trail)."""
    elder = contact.elder
    authorize(actor, Perm.ELDERS_EDIT, elder.residence_region_id, hide=True)
    audit.record(
        actor,
        "elder.contact.remove",
        contact,
        region_code=elder.residence_region_id,
        before={"elder": elder.pk, "name": contact.name, "phone": contact.phone},
    )
    contact.delete()


@transaction.atomic
def household_join(
    *, actor: Any, elder: Elder, with_elder: Elder | None = None, address: str = ""
) -> Household:
    """Put an elder in a household: with another elder's (living together) or a new one of their own."""
    authorize(actor, Perm.ELDERS_EDIT, elder.residence_region_id, hide=True)
    if with_elder is not None:
        authorize(actor, Perm.ELDERS_VIEW, with_elder.residence_region_id, hide=True)
        if with_elder.residence_region_id != elder.residence_region_id:
            raise InvalidInput("同住家庭成员应在同一社区", field="with_elder")
        household = with_elder.household or Household.objects.create(
            region_id=with_elder.residence_region_id, address=with_elder.address
        )
        if with_elder.household_id is None:
            Elder.objects.filter(pk=with_elder.pk).update(household=household)
    else:
        household = Household.objects.create(
            region_id=elder.residence_region_id, address=validation.text(address)[:200] or elder.address
        )
    Elder.objects.filter(pk=elder.pk).update(household=household)
    elder.household = household
    audit.record(
        actor,
        "elder.household",
        elder,
        region_code=elder.residence_region_id,
        after={"household": household.pk},
    )
    return household


@transaction.atomic
def elder_reveal_personal_numbers(*, actor: Any, elder: Elder) -> dict[str, str]:
    """Show the unmasked ID and phone numbers to a role that may see them; every view is audited."""
    authorize(actor, Perm.PII_VIEW, elder.residence_region_id, hide=True)
    audit.record(actor, "elder.view_personal_numbers", elder, region_code=elder.residence_region_id)
    return {"id_number": elder.id_number, "phone": elder.phone}


@transaction.atomic
def elders_personal_numbers_viewed(*, actor: Any, elders: list[Elder]) -> None:
    """Audit one page of full numbers handed to an API caller with pii.view (one row per page)."""
    require_perm(actor, Perm.PII_VIEW)
    if elders:
        audit.record(
            actor,
            "elder.view_personal_numbers",
            object_type="registry.elder",
            object_id=",".join(str(e.pk) for e in elders)[:64],
            region_code=actor.region_id or "",
            after={"elders": [e.pk for e in elders]},
        )
