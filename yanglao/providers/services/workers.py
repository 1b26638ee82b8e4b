"""Writes of care workers (DOMAIN.md §4): identity from the ID number, employer, duty status, skill
certificates and training. The civil-affairs bureau (PROVIDERS_MANAGE, in its region) and a provider's
own admin (for their organisation's workers) may write; accounts/roles.py has no permission for the
latter, so the rule lives here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction

from yanglao.accounts.models import Organisation, User
from yanglao.accounts.roles import Role
from yanglao.accounts.scope import require_perm, require_region
from yanglao.core import audit, idcard, pii
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.fields import lookup_value
from yanglao.core.permissions import Perm
from yanglao.providers import selectors, signals, validation
from yanglao.providers.enums import CertificateGrade, WorkerStatus
from yanglao.providers.models import CareWorker, Certificate, TrainingRecord
from yanglao.providers.services._common import MIN_WORKING_AGE, clean_status, is_person, today
from yanglao.providers.validation import Problems

WORKER_FIELDS = (
    "name",
    "id_number",
    "phone",
    "organisation",
    "hired_on",
    "health_certificate_expires",
    "note",
    "username",
)
_REQUIRED = ("name", "id_number", "organisation")


def _require_editor(actor: Any, organisation: Organisation) -> None:
    """PROVIDERS_MANAGE over the organisation's region, or a provider admin of that organisation."""
    if not is_person(actor):
        return
    if actor.has_perm(Perm.PROVIDERS_MANAGE):
        require_region(actor, organisation.region_id)
        return
    if actor.role == Role.PROVIDER_ADMIN and actor.organisation_id == organisation.pk:
        return
    raise PermissionDenied("只有民政部门或本机构的服务商管理员可以维护护理员信息", field="organisation")


def _require_visible(actor: Any, worker: CareWorker) -> None:
    """A worker outside the actor's scope is answered like no worker at all."""
    if is_person(actor) and not selectors.workers_visible(actor).filter(pk=worker.pk).exists():
        raise NotFound("未找到该护理员，或不在您的管辖范围内")


def _authorize(actor: Any, worker: CareWorker) -> None:
    _require_visible(actor, worker)
    _require_editor(actor, worker.organisation)


def _organisation(value: Any) -> Organisation:
    found: Organisation | None
    if isinstance(value, Organisation):
        found = value
    else:
        try:
            found = Organisation.objects.filter(pk=int(value)).first()
        except (TypeError, ValueError):
            found = None
    if found is None:
        raise InvalidInput("请选择护理员所属的服务机构", field="organisation")
    if found.kind != Organisation.Kind.PROVIDER:
        raise InvalidInput(f"“{found.name}”不是服务机构，护理员应属于服务机构", field="organisation")
    if not found.is_active:
        raise InvalidInput(f"“{found.name}”已停用", field="organisation")
    return found


def _id_card(value: Any) -> idcard.IdCard:
    card = idcard.parse(value, field="id_number", today=today())
    if card.age_on(today()) < MIN_WORKING_AGE:
        raise InvalidInput(
            f"按身份证号码，该人员未满{MIN_WORKING_AGE}周岁，不能登记为护理员", field="id_number"
        )
    return card


def _hired_on(value: Any) -> date | None:
    hired = validation.day(value, field="hired_on", label="入职日期", required=False)
    validation.not_after(hired, today(), field="hired_on", label="入职日期")
    return hired


_STEPS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: validation.text(v, field="name", label="姓名", max_length=50, required=True),
    "id_number": _id_card,
    "phone": lambda v: pii.parse_phone(v, field="phone") if str(v or "").strip() else "",
    "organisation": _organisation,
    "hired_on": _hired_on,
    "health_certificate_expires": lambda v: validation.day(
        v, field="health_certificate_expires", label="健康证有效期", required=False
    ),
    "note": lambda v: validation.text(v, field="note", label="备注", max_length=300),
    "username": lambda v: str(v or "").strip(),
}


def _clean(values: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    problems = Problems()
    cleaned = validation.clean_fields(values, _STEPS, required=_REQUIRED, partial=partial, problems=problems)
    problems.raise_any()
    return cleaned


def _login_for(username: str, organisation: Organisation, worker: CareWorker | None) -> User | None:
    """The care worker's own sign-in: a 护理员 account of the same organisation, linked to one worker."""
    if not username:
        return None
    user = User.objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"没有用户名为“{username}”的账号", field="username")
    if user.role != Role.CARE_WORKER or user.organisation_id != organisation.pk:
        raise InvalidInput(f"账号“{username}”不是本机构的护理员账号", field="username")
    taken = CareWorker.objects.filter(user=user)
    if worker is not None:
        taken = taken.exclude(pk=worker.pk)
    if taken.exists():
        raise Conflict(f"账号“{username}”已关联其他护理员", field="username")
    return user


def _snapshot(worker: CareWorker) -> dict[str, Any]:
    return {
        "name": worker.name,
        "id_number": worker.id_number,  # masked by the audit module
        "phone": worker.phone,  # masked by the audit module
        "organisation": worker.organisation_id,
        "hired_on": worker.hired_on,
        "health_certificate_expires": worker.health_certificate_expires,
        "note": worker.note,
        "user": worker.user_id,
    }


def _refuse_duplicate(number: str, exclude: int | None = None) -> None:
    found = CareWorker.objects.filter(id_number_hash=lookup_value(CareWorker, "id_number", number))
    if exclude is not None:
        found = found.exclude(pk=exclude)
    if found.exists():
        # Not naming the other organisation: the clerk may not be allowed to see it.
        raise Conflict(
            "该身份证号码已登记为护理员；如其更换了工作单位，请由原机构办理离职后由民政部门调整所属机构",
            field="id_number",
            code="duplicate",
        )


@transaction.atomic
def worker_register(
    *,
    actor: Any,
    organisation: Organisation | int,
    name: str,
    id_number: str,
    phone: str = "",
    hired_on: Any = None,
    health_certificate_expires: Any = None,
    note: str = "",
    username: str = "",
) -> CareWorker:
    """Register a care worker; the ID number (GB 11643) is unique among care workers and gives birth
    date and sex; a worker is at least 16 years old (劳动法 第十五条)."""
    # Who may register here is decided first, so a refused caller learns nothing from the checks.
    _require_editor(actor, _organisation(organisation))
    cleaned = _clean(
        {
            "organisation": organisation,
            "name": name,
            "id_number": id_number,
            "phone": phone,
            "hired_on": hired_on,
            "health_certificate_expires": health_certificate_expires,
            "note": note,
            "username": username,
        },
        partial=False,
    )
    employer: Organisation = cleaned["organisation"]
    card: idcard.IdCard = cleaned["id_number"]
    _refuse_duplicate(card.number)
    worker = CareWorker(
        name=cleaned["name"],
        id_number=card.number,
        birth_date=card.birth_date,
        sex=card.sex,
        phone=cleaned["phone"],
        organisation=employer,
        user=_login_for(cleaned["username"], employer, None),
        status=WorkerStatus.ACTIVE,
        status_since=today(),
        hired_on=cleaned["hired_on"],
        health_certificate_expires=cleaned["health_certificate_expires"],
        note=cleaned["note"],
    )
    try:
        with transaction.atomic():
            worker.save()
    except IntegrityError:
        _refuse_duplicate(card.number)  # registered meanwhile by someone else: say so
        raise
    audit.record(actor, "worker.register", worker, region_code=employer.region_id, after=_snapshot(worker))
    return worker


@transaction.atomic
def worker_update(*, actor: Any, worker: CareWorker, **changes: Any) -> CareWorker:
    """Change a care worker's facts; only the fields given are touched. Moving a worker to another
    organisation is for the civil-affairs bureau (PROVIDERS_MANAGE), not for a provider admin."""
    _authorize(actor, worker)
    unknown = sorted(set(changes) - set(WORKER_FIELDS))
    if unknown:
        raise InvalidInput("不能修改的字段：" + "、".join(unknown), field=unknown[0])
    cleaned = _clean(changes, partial=True)
    locked = CareWorker.objects.select_for_update().select_related("organisation").get(pk=worker.pk)
    before = _snapshot(locked)
    if "organisation" in cleaned and cleaned["organisation"].pk != locked.organisation_id:
        if is_person(actor) and not actor.has_perm(Perm.PROVIDERS_MANAGE):
            raise PermissionDenied("调整护理员所属机构需由民政部门办理", field="organisation")
        _require_editor(actor, cleaned["organisation"])
        locked.organisation = cleaned["organisation"]
    if "id_number" in cleaned:
        card: idcard.IdCard = cleaned["id_number"]
        _refuse_duplicate(card.number, exclude=locked.pk)
        locked.id_number, locked.birth_date, locked.sex = card.number, card.birth_date, card.sex
    if "username" in cleaned:
        locked.user = _login_for(cleaned["username"], locked.organisation, locked)
    for name in ("name", "phone", "hired_on", "health_certificate_expires", "note"):
        if name in cleaned:
            setattr(locked, name, cleaned[name])
    old, new = audit.changed_fields(before, _snapshot(locked))
    if not new:
        return locked
    locked.save()
    audit.record(
        actor, "worker.update", locked, region_code=locked.organisation.region_id, before=old, after=new
    )
    return locked


@transaction.atomic
def worker_set_status(*, actor: Any, worker: CareWorker, status: str, reason: str = "") -> CareWorker:
    """Put a worker on or off duty, or record that they left; a suspension or a departure needs a
    reason. Workers not 在岗 take no visits (orders listen to worker_status_changed)."""
    _authorize(actor, worker)
    stopping = (WorkerStatus.SUSPENDED, WorkerStatus.LEFT)
    status, reason = clean_status(status, reason, WorkerStatus, stopping, "状态")
    locked = CareWorker.objects.select_for_update().select_related("organisation").get(pk=worker.pk)
    before = locked.status
    if before == status:
        raise Conflict(f"该护理员已是“{WorkerStatus(status).label}”状态", field="status")
    locked.status, locked.status_reason, locked.status_since = status, reason, today()
    locked.save(update_fields=["status", "status_reason", "status_since", "updated_at"])
    audit.record(
        actor,
        "worker.status",
        locked,
        region_code=locked.organisation.region_id,
        before={"status": before},
        after={"status": status, "reason": reason},
    )
    transaction.on_commit(
        lambda: signals.worker_status_changed.send(sender=CareWorker, worker=locked, before=before)
    )
    return locked


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # born on 29 February
        return date(born.year + years, 3, 1)


@transaction.atomic
def worker_add_certificate(
    *, actor: Any, worker: CareWorker, grade: str, number: str, issued_on: Any, expires_on: Any = None
) -> Certificate:
    """Record a 养老护理员 vocational skill certificate (初级 to 高级技师): issued by today, after the
    worker's 16th birthday, expiring (if it does) after it was issued; one number per grade."""
    _authorize(actor, worker)
    problems = Problems()
    level = problems.check(
        "grade", lambda: validation.choice(grade, CertificateGrade, field="grade", label="证书等级")
    )
    code = problems.check(
        "number",
        lambda: validation.text(number, field="number", label="证书编号", max_length=60, required=True),
    )
    issued = problems.check(
        "issued_on", lambda: validation.day(issued_on, field="issued_on", label="发证日期")
    )
    expires = problems.check(
        "expires_on", lambda: validation.day(expires_on, field="expires_on", label="有效期", required=False)
    )
    if issued is not None:
        problems.check(
            "issued_on", lambda: validation.not_after(issued, today(), field="issued_on", label="发证日期")
        )
        if issued < _birthday(worker.birth_date, MIN_WORKING_AGE):
            problems.add("issued_on", f"发证日期早于该护理员年满{MIN_WORKING_AGE}周岁的日期，请核对")
        if expires is not None and expires < issued:
            problems.add("expires_on", f"有效期 {expires.isoformat()} 早于发证日期 {issued.isoformat()}")
    problems.raise_any()
    assert level is not None and code is not None and issued is not None  # raise_any raised otherwise
    duplicate = Conflict(f"{CertificateGrade(level).label}证书编号 {code} 已登记", field="number")
    if Certificate.objects.filter(grade=level, number=code).exists():
        raise duplicate
    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                worker=worker, grade=level, number=code, issued_on=issued, expires_on=expires
            )
    except IntegrityError:
        raise duplicate from None
    audit.record(
        actor,
        "worker.certificate",
        worker,
        region_code=worker.organisation.region_id,
        after={"grade": level, "number": code, "issued_on": issued, "expires_on": expires},
    )
    return certificate


@transaction.atomic
def worker_add_training(*, actor: Any, worker: CareWorker, topic: str, hours: Any, on: Any) -> TrainingRecord:
    """Record a training a worker attended: more than 0 and at most 200 hours, on a day not in the future."""
    _authorize(actor, worker)
    problems = Problems()
    subject = problems.check(
        "topic",
        lambda: validation.text(topic, field="topic", label="培训内容", max_length=200, required=True),
    )
    amount = problems.check(
        "hours",
        lambda: validation.decimal(
            hours, field="hours", label="学时", places=1, positive=True, maximum=200, unit="学时"
        ),
    )
    day = problems.check("on", lambda: validation.day(on, field="on", label="培训日期"))
    if day is not None:
        problems.check("on", lambda: validation.not_after(day, today(), field="on", label="培训日期"))
    problems.raise_any()
    assert subject is not None and amount is not None and day is not None  # raise_any raised otherwise
    record = TrainingRecord.objects.create(worker=worker, topic=subject, hours=amount, on=day)
    audit.record(
        actor,
        "worker.training",
        worker,
        region_code=worker.organisation.region_id,
        after={"topic": subject, "hours": amount, "on": day},
    )
    return record


@transaction.atomic
def worker_reveal_personal_numbers(*, actor: Any, worker: CareWorker) -> dict[str, str]:
    """Show a worker's unmasked ID and phone numbers to a role that may see them; every view is audited."""
    _require_visible(actor, worker)
    if is_person(actor):
        require_perm(actor, Perm.PII_VIEW)
    audit.record(actor, "worker.view_personal_numbers", worker, region_code=worker.organisation.region_id)
    return {"id_number": worker.id_number, "phone": worker.phone}


@transaction.atomic
def workers_personal_numbers_viewed(*, actor: Any, workers: list[CareWorker]) -> None:
    """Audit one page of full numbers handed to an API caller with pii.view (one row per page)."""
    require_perm(actor, Perm.PII_VIEW)
    if workers:
        audit.record(
            actor,
            "worker.view_personal_numbers",
            object_type="providers.careworker",
            object_id=",".join(str(w.pk) for w in workers)[:64],
            region_code=actor.region_id or "",
            after={"workers": [w.pk for w in workers]},
        )
