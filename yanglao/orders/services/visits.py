"""The visit (上门服务): a worker assigned or taking the order, check-in and check-out with position and
time, the service record and photos, the elder's confirmation, payment from the service account up to
its balance, the rating and a follow-up call on a sample (DOMAIN.md §5)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from yanglao.accounts.scope import is_person, require_perm, require_region
from yanglao.benefits import services as benefits_services
from yanglao.core import audit, policy
from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.orders import fraud, geo, photos, policies
from yanglao.orders.enums import ConfirmMethod, FollowUpOutcome
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import FollowUp, Order, Visit, VisitPhoto
from yanglao.orders.services._common import locked, record_step, require_step
from yanglao.providers import services as provider_services
from yanglao.providers.enums import WorkerStatus
from yanglao.providers.models import CareWorker

CODE_ATTEMPTS = 5  # wrong confirmation codes before the code is refused for the order (anti-guessing)
FAMILY_LINK_DAYS = 7
_FAMILY_SALT = "yanglao.orders.family"
PHOTOS_PER_VISIT = 9


def worker_of(actor: Any) -> CareWorker:
    """The care-worker record of the signed-in care worker."""
    worker = CareWorker.objects.select_related("organisation").filter(user_id=actor.pk).first()
    if worker is None:
        raise PermissionDenied("您的账号未关联护理员档案")
    return worker


def _require_provider_admin(actor: Any, order: Order) -> None:
    if is_person(actor):
        require_perm(actor, Perm.ORDERS_ACCEPT)
        if not actor.is_superuser and (
            order.provider is None or actor.organisation_id != order.provider.organisation_id
        ):
            raise PermissionDenied("该工单不属于您的机构")


def _require_assigned_worker(actor: Any, order: Order) -> CareWorker:
    require_perm(actor, Perm.VISITS_PERFORM)
    worker = worker_of(actor)
    if order.worker_id != worker.pk:
        raise PermissionDenied("该工单未分配给您")
    return worker


@transaction.atomic
def order_assign(*, actor: Any, order: Order, worker: CareWorker) -> Order:
    """The provider assigns (or re-assigns, before check-in) an active care worker of its own."""
    order = locked(order.pk)
    _require_provider_admin(actor, order)
    require_step(order, "assign")
    if order.provider is None or worker.organisation_id != order.provider.organisation_id:
        raise InvalidInput("只能分配本机构的护理员", field="worker")
    if worker.status != WorkerStatus.ACTIVE:
        raise InvalidInput(
            f"护理员 {worker.name} 当前{WorkerStatus(worker.status).label}，不能派工", field="worker"
        )
    before = order.worker_id
    order.worker = worker
    record_step(
        order, action="assign", actor=actor, data={"worker": worker.pk, "before": before}, fields=("worker",)
    )
    return order


@transaction.atomic
def order_take(*, actor: Any, order: Order) -> Order:
    """A care worker takes an accepted, unassigned order of their own provider (抢单). Of two workers
    taking it at once exactly one wins: the second finds it assigned under the row lock."""
    order = locked(order.pk)
    require_perm(actor, Perm.VISITS_PERFORM)
    worker = worker_of(actor)
    if order.provider is None or worker.organisation_id != order.provider.organisation_id:
        raise PermissionDenied("该工单不属于您的机构")
    if order.status == S.ASSIGNED:
        raise Conflict("该工单已被其他护理员接走", field="status", code="already_taken")
    require_step(order, "take")
    if worker.status != WorkerStatus.ACTIVE:
        raise Conflict("您当前不在岗，不能接单", field="worker")
    order.worker = worker
    record_step(order, action="take", actor=actor, data={"worker": worker.pk}, fields=("worker",))
    return order


def _position(latitude: Any, longitude: Any, accuracy: Any = None) -> tuple[float, float, float | None]:
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise InvalidInput("无法获取定位：请允许浏览器使用位置信息后重试", field="position") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise InvalidInput("定位坐标无效", field="position")
    try:
        acc = float(accuracy) if accuracy not in (None, "") else None
    except (TypeError, ValueError):
        acc = None
    return lat, lng, acc


def distance_from_home(order: Order, latitude: float, longitude: float) -> float | None:
    elder = order.elder
    if elder.latitude is None or elder.longitude is None:
        return None
    return geo.haversine_m(latitude, longitude, elder.latitude, elder.longitude)


@transaction.atomic
def visit_check_in(*, actor: Any, order: Order, latitude: Any, longitude: Any, accuracy: Any = None) -> Visit:
    """Check in at the home with the browser's position; farther than `orders.geofence_m` from the home
    is flagged for the district (not refused: the worker may be at the door of a mis-geocoded address)."""
    order = locked(order.pk)
    worker = _require_assigned_worker(actor, order)
    require_step(order, "check_in")
    lat, lng, acc = _position(latitude, longitude, accuracy)
    distance = distance_from_home(order, lat, lng)
    visit = Visit.objects.create(
        order=order,
        worker=worker,
        check_in_at=timezone.now(),
        check_in_latitude=lat,
        check_in_longitude=lng,
        check_in_accuracy_m=acc,
        check_in_distance_m=distance,
        amount=order.price or Decimal(0),
    )
    record_step(
        order,
        action="check_in",
        actor=actor,
        data={"distance_m": None if distance is None else round(distance), "accuracy_m": acc},
    )
    fraud.check_visit(visit)
    return visit


def _clean_items(items: Iterable[Any] | None) -> list[str]:
    cleaned = [str(item).strip()[:50] for item in (items or []) if str(item).strip()]
    return cleaned[:30]


@transaction.atomic
def visit_check_out(
    *,
    actor: Any,
    order: Order,
    latitude: Any,
    longitude: Any,
    items_done: Iterable[Any] | None = None,
    record: str = "",
) -> Visit:
    """Check out with position, what was done and a note; the visit's checks run again (duration,
    overlap, travel)."""
    order = locked(order.pk)
    _require_assigned_worker(actor, order)
    require_step(order, "check_out")
    lat, lng, _ = _position(latitude, longitude)
    items = _clean_items(items_done)
    record = (record or "").strip()
    if not items and not record:
        raise InvalidInput("请勾选完成的服务内容或填写服务记录", field="items_done")
    if len(record) > 2000:
        raise InvalidInput("服务记录不能超过 2000 字", field="record")
    visit = order.visit
    visit.check_out_at = timezone.now()
    visit.check_out_latitude = lat
    visit.check_out_longitude = lng
    visit.check_out_distance_m = distance_from_home(order, lat, lng)
    visit.items_done = items
    visit.record = record
    visit.save()
    minutes = (visit.check_out_at - visit.check_in_at).total_seconds() / 60
    record_step(order, action="check_out", actor=actor, data={"minutes": round(minutes, 1), "items": items})
    fraud.check_visit(visit)
    return visit


@transaction.atomic
def visit_add_photo(*, actor: Any, order: Order, upload: UploadedFile) -> VisitPhoto:
    """A photo of the service, kept with its perceptual hash so that a picture reused on another visit is
    found (fraud check)."""
    order = locked(order.pk)
    _require_assigned_worker(actor, order)
    if order.status not in (S.CHECKED_IN, S.CHECKED_OUT):
        raise Conflict("只能在签到后、确认前上传服务照片", field="photo")
    visit = order.visit
    if visit.photos.count() >= PHOTOS_PER_VISIT:
        raise InvalidInput(f"每次服务最多上传 {PHOTOS_PER_VISIT} 张照片", field="photo")
    digest = photos.perceptual_hash(upload)
    upload.seek(0)
    photo = VisitPhoto.objects.create(visit=visit, image=upload, phash=digest, uploaded_at=timezone.now())
    audit.record(
        actor, "visit.photo", photo, region_code=order.region_id, after={"order": order.pk, "phash": digest}
    )
    fraud.check_visit(visit)
    return photo


def _pay(actor: Any, order: Order, visit: Visit) -> None:
    """The service account pays first, up to its balance, for items it may pay; the rest is self-paid."""
    amount = visit.amount or Decimal(0)
    paid = Decimal(0)
    if amount > 0 and order.item.account_payable:
        entry = benefits_services.service_account_pay(
            actor=actor,
            elder_id=order.elder_id,
            amount=amount,
            reference=f"order:{order.pk}",
            note=f"{order.item.name}（服务工单 No.{order.pk}）",
        )
        if entry is not None:
            paid = -entry.amount
            visit.ledger_entry_id = entry.pk
    visit.account_paid = paid
    visit.self_paid = amount - paid


def _confirm(actor: Any, order: Order, method: str, *, note: str = "") -> Visit:
    require_step(order, "confirm")
    visit = order.visit
    visit.confirmed_at = timezone.now()
    visit.confirm_method = method
    _pay(actor, order, visit)
    visit.save()
    sampled = random.random() * 100 < policy.value(policies.FOLLOW_UP_PERCENT)  # noqa: S311 (a sample, not a secret)
    if sampled:
        FollowUp.objects.create(visit=visit, sampled_at=visit.confirmed_at)
    record_step(
        order,
        action="confirm",
        actor=actor,
        note=note,
        data={
            "method": method,
            "amount": str(visit.amount),
            "account_paid": str(visit.account_paid),
            "self_paid": str(visit.self_paid),
            "follow_up": sampled,
        },
    )
    return visit


def visit_confirm_with_code(*, actor: Any, order: Order, code: str) -> Visit:
    """The elder reads out the order's confirmation code to the worker. A wrong code is counted in its
    own transaction (it must stick though the confirmation fails), and after five the code no longer
    works for this order: a family member's link or an operator's call confirms instead."""
    with transaction.atomic():
        locked_order = locked(order.pk)
        _require_assigned_worker(actor, locked_order)
        require_step(locked_order, "confirm")
        if locked_order.code_failures >= CODE_ATTEMPTS:
            raise Conflict("确认码错误次数过多，请由家属点击确认链接或由坐席电话确认", field="code")
        if (code or "").strip() == locked_order.confirm_code:
            return _confirm(actor, locked_order, ConfirmMethod.CODE)
        Order.objects.filter(pk=order.pk).update(code_failures=F("code_failures") + 1)
        left = CODE_ATTEMPTS - locked_order.code_failures - 1
    raise InvalidInput(f"确认码不正确，还可以尝试 {max(left, 0)} 次", field="code")


@transaction.atomic
def visit_confirm_by_operator(*, actor: Any, order: Order, note: str) -> Visit:
    """An operator or community worker confirms the visit on the phone with the elder (note kept)."""
    order = locked(order.pk)
    if is_person(actor):
        require_perm(actor, Perm.ORDERS_CREATE)
        require_region(actor, order.region_id, hide=True)
    if not (note or "").strip():
        raise InvalidInput("请记录电话确认的情况", field="note")
    return _confirm(actor, order, ConfirmMethod.OPERATOR, note=note.strip())


def family_token(order: Order) -> str:
    """The signed token of the family's confirm-and-rate link (sent to the family's phone)."""
    return signing.dumps({"order": order.pk}, salt=_FAMILY_SALT, compress=True)


def order_from_family_token(token: str) -> Order:
    try:
        payload = signing.loads(token, salt=_FAMILY_SALT, max_age=FAMILY_LINK_DAYS * 24 * 3600)
    except signing.SignatureExpired:
        raise Conflict("确认链接已过期，请联系社区或呼叫中心", field="token") from None
    except signing.BadSignature:
        raise InvalidInput("确认链接无效", field="token") from None
    order = (
        Order.objects.select_related("elder", "item", "provider__organisation", "worker")
        .filter(pk=payload.get("order"))
        .first()
    )
    if order is None:
        raise InvalidInput("确认链接无效", field="token")
    return order


@transaction.atomic
def visit_confirm_by_family(*, token: str) -> Visit:
    """A family member taps the link they were sent: the visit is confirmed in the elder's name."""
    order = locked(order_from_family_token(token).pk)
    return _confirm("family", order, ConfirmMethod.FAMILY)


def _score(raw: Any) -> int:
    try:
        score = int(str(raw).strip())
    except (TypeError, ValueError):
        raise InvalidInput("评分应为 1～5 的整数", field="score") from None
    if not 1 <= score <= 5:
        raise InvalidInput("评分应为 1～5 的整数", field="score")
    return score


def _rate(actor: Any, order: Order, score: Any, comment: str) -> Visit:
    require_step(order, "rate")
    value = _score(score)
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise InvalidInput("评价不能超过 500 字", field="comment")
    visit = order.visit
    visit.rating = value
    visit.rating_comment = comment
    visit.rated_at = timezone.now()
    visit.save(update_fields=["rating", "rating_comment", "rated_at", "updated_at"])
    if order.provider is not None:
        provider_services.provider_record_rating(actor="orders", provider=order.provider, score=value)
    record_step(order, action="rate", actor=actor, data={"score": value}, note=comment)
    return visit


@transaction.atomic
def visit_rate(*, actor: Any, order: Order, score: Any, comment: str = "") -> Visit:
    """An operator or community worker records the elder's rating (1–5) given on the phone."""
    order = locked(order.pk)
    if is_person(actor):
        require_perm(actor, Perm.ORDERS_CREATE)
        require_region(actor, order.region_id, hide=True)
    return _rate(actor, order, score, comment)


@transaction.atomic
def visit_rate_by_family(*, token: str, score: Any, comment: str = "") -> Visit:
    """The family rates the visit through the same link they confirmed it with."""
    order = locked(order_from_family_token(token).pk)
    return _rate("family", order, score, comment)


@transaction.atomic
def follow_up_record(*, actor: Any, order: Order, outcome: str, note: str = "") -> FollowUp:
    """Record the follow-up call (回访) of a sampled visit. 'Not served' opens a fraud flag."""
    order = locked(order.pk)
    if is_person(actor):
        require_perm(actor, Perm.VISITS_CARE)
        require_region(actor, order.region_id, hide=True)
    follow_up = FollowUp.objects.filter(visit__order=order).first()
    if follow_up is None:
        raise Conflict("该工单未被抽中回访", field="outcome")
    if follow_up.outcome != FollowUpOutcome.PENDING:
        raise Conflict("该工单已回访", field="outcome")
    if outcome not in FollowUpOutcome.values or outcome == FollowUpOutcome.PENDING:
        raise InvalidInput("请选择回访结果", field="outcome")
    follow_up.outcome = outcome
    follow_up.note = (note or "").strip()[:500]
    follow_up.called_at = timezone.now()
    follow_up.called_by = actor if is_person(actor) else None
    follow_up.save()
    audit.record(actor, "visit.follow_up", follow_up, region_code=order.region_id, after={"outcome": outcome})
    if outcome == FollowUpOutcome.NOT_SERVED:
        fraud.flag_not_served(order.visit, note=follow_up.note)
    return follow_up
