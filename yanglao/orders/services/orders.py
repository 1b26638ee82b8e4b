"""Taking, cancelling and expiring orders (DOMAIN.md §5: orders come from the portal, an operator on the
phone, a community worker, a device's call button or a care plan's schedule)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from yanglao.accounts.scope import is_person, require_perm, require_region
from yanglao.core import policy
from yanglao.core.errors import Conflict, InvalidInput
from yanglao.core.permissions import Perm
from yanglao.orders import geo, policies
from yanglao.orders.enums import Channel, OfferOutcome
from yanglao.orders.models import DispatchOffer, Order
from yanglao.orders.services._common import STEPS, locked, record_step, require_step
from yanglao.providers.models import CatalogueItem
from yanglao.registry.enums import Status as ElderStatus

# Orders may be taken for a window up to this far ahead; further is a care plan's business.
LONGEST_WINDOW = timedelta(days=7)
FURTHEST_START = timedelta(days=90)


def _check_window(start: Any, end: Any, now: datetime) -> list[dict[str, str]]:
    problems = []
    if not isinstance(start, datetime):
        problems.append({"field": "window_start", "message": "请填写期望服务开始时间"})
    if not isinstance(end, datetime):
        problems.append({"field": "window_end", "message": "请填写期望服务结束时间"})
    if problems:
        return problems
    if end <= start:
        problems.append({"field": "window_end", "message": "期望服务结束时间应晚于开始时间"})
    elif end - start > LONGEST_WINDOW:
        problems.append({"field": "window_end", "message": "期望服务时间段不能超过 7 天"})
    if end <= now:
        problems.append({"field": "window_end", "message": "期望服务结束时间已过，请选择将来的时间"})
    if start - now > FURTHEST_START:
        problems.append({"field": "window_start", "message": "只能预约 90 天以内的服务"})
    return problems


@transaction.atomic
def order_create(
    *,
    actor: Any,
    elder: Any,
    item: CatalogueItem,
    channel: str,
    window_start: datetime,
    window_end: datetime,
    note: str = "",
    dispatch: bool = True,
) -> Order:
    """Take an order for a catalogue item for an elder in the actor's region, then dispatch it
    automatically to the best provider (DOMAIN.md §5, 线上点单、线下派单)."""
    if is_person(actor):
        require_perm(actor, Perm.ORDERS_CREATE)
        require_region(actor, elder.residence_region_id, hide=True)
    now = timezone.now()
    problems = []
    if channel not in Channel.values:
        problems.append({"field": "channel", "message": f"下单渠道“{channel}”无效"})
    if not item.is_active:
        problems.append({"field": "item", "message": f"服务项目“{item.name}”已停用"})
    problems += _check_window(window_start, window_end, now)
    if len(note or "") > 500:
        problems.append({"field": "note", "message": "备注不能超过 500 字"})
    if problems:
        raise InvalidInput(problems[0]["message"], field=problems[0]["field"], details=problems)
    if elder.status in (ElderStatus.DECEASED, ElderStatus.MOVED_OUT):
        raise Conflict(f"该老人状态为“{ElderStatus(elder.status).label}”，不能下单", field="elder")
    order = Order(
        elder=elder,
        region_id=elder.residence_region_id,
        item=item,
        channel=channel,
        window_start=window_start,
        window_end=window_end,
        note=(note or "").strip(),
        confirm_code=f"{secrets.randbelow(10**6):06d}",
        created_by=actor if is_person(actor) else None,
    )
    order.save()
    record_step(
        order,
        action="create",
        actor=actor,
        data={"item": item.code, "channel": channel, "elder": elder.pk},
    )
    if dispatch:
        from yanglao.orders.services.dispatch import order_dispatch_auto

        order_dispatch_auto(actor=actor, order=order)
        order.refresh_from_db()
    return order


@transaction.atomic
def order_cancel(*, actor: Any, order: Order, reason: str) -> Order:
    """Cancel an order before the worker checks in; the reason is kept in its history."""
    order = locked(order.pk)
    if is_person(actor):
        if not (actor.has_perm(Perm.ORDERS_CREATE) or actor.has_perm(Perm.ORDERS_DISPATCH)):
            require_perm(actor, Perm.ORDERS_CREATE)
        require_region(actor, order.region_id, hide=True)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写取消原因", field="reason")
    require_step(order, "cancel")
    _close_pending_offer(order, OfferOutcome.WITHDRAWN, reason)
    record_step(order, action="cancel", actor=actor, note=reason)
    geo.note_load_on_commit(order.provider_id, -1)
    return order


def _close_pending_offer(order: Order, outcome: str, reason: str) -> DispatchOffer | None:
    offer = DispatchOffer.objects.filter(order=order, outcome=OfferOutcome.PENDING).first()
    if offer is not None:
        offer.outcome = outcome
        offer.decided_at = timezone.now()
        offer.reason = reason[:300]
        offer.save(update_fields=["outcome", "decided_at", "reason"])
    return offer


def orders_expire(*, actor: Any = "scheduler", now: datetime | None = None) -> int:
    """Expire orders nobody served: still open (not checked in) `orders.expiry_hours` after their window
    ended. Each in its own transaction, so one failure does not hold back the rest."""
    now = now or timezone.now()
    limit = now - timedelta(hours=policy.value(policies.EXPIRY_HOURS))
    due = list(
        Order.objects.filter(status__in=STEPS["expire"].sources, window_end__lt=limit).values_list(
            "pk", flat=True
        )
    )
    expired = 0
    for order_id in due:
        with transaction.atomic():
            order = locked(order_id)
            if order.status not in STEPS["expire"].sources:
                continue  # served or cancelled meanwhile
            _close_pending_offer(order, OfferOutcome.WITHDRAWN, "工单过期")
            record_step(order, action="expire", actor=actor, note="超过期望服务时间未上门服务")
            geo.note_load_on_commit(order.provider_id, -1)
            expired += 1
    return expired
