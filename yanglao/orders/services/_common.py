"""The order's state machine: which action may move an order from which states to which, and the one
function that performs a step (lock, check, write the event and the audit row).

Every service locks the order row first (`locked`), so two people acting on one order at once are put
in turn and the second is judged on the state the first left (exactly one of two workers taking an
order wins; PostgreSQL test in tests/test_concurrency.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from yanglao.core import audit
from yanglao.core.errors import Conflict, NotFound
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import Order, OrderEvent


@dataclass(frozen=True)
class Step:
    label: str  # what a clerk calls the action, for messages and the history
    sources: frozenset[str]
    target: str | None  # None: the service decides (reject goes on to the next provider or ends)


STEPS: dict[str, Step] = {
    "create": Step("下单", frozenset(), S.CREATED),
    "dispatch": Step("派单", frozenset({S.CREATED, S.REJECTED}), S.DISPATCHED),
    "accept": Step("接单", frozenset({S.DISPATCHED}), S.ACCEPTED),
    "reject": Step("拒单", frozenset({S.DISPATCHED}), None),
    "time_out": Step("超时未接单", frozenset({S.DISPATCHED}), None),
    "redispatch": Step("改派", frozenset({S.DISPATCHED, S.ACCEPTED, S.ASSIGNED}), S.DISPATCHED),
    "assign": Step("分配护理员", frozenset({S.ACCEPTED, S.ASSIGNED}), S.ASSIGNED),
    "take": Step("护理员接单", frozenset({S.ACCEPTED}), S.ASSIGNED),
    "check_in": Step("签到", frozenset({S.ASSIGNED}), S.CHECKED_IN),
    "check_out": Step("签退", frozenset({S.CHECKED_IN}), S.CHECKED_OUT),
    "confirm": Step("确认服务", frozenset({S.CHECKED_OUT}), S.CONFIRMED),
    "rate": Step("评价", frozenset({S.CONFIRMED}), S.RATED),
    "settle": Step("结算", frozenset({S.CONFIRMED, S.RATED}), S.SETTLED),
    "cancel": Step(
        "取消", frozenset({S.CREATED, S.DISPATCHED, S.ACCEPTED, S.ASSIGNED, S.REJECTED}), S.CANCELLED
    ),
    "expire": Step(
        "过期", frozenset({S.CREATED, S.DISPATCHED, S.ACCEPTED, S.ASSIGNED, S.REJECTED}), S.EXPIRED
    ),
}


def locked(order_id: int) -> Order:
    """The order, row-locked for the rest of the transaction (a no-op lock on SQLite, where the
    IMMEDIATE transaction already holds the database's write lock)."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("elder", "item", "provider__organisation", "worker", "region")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound("未找到该服务工单")
    return order


def require_step(order: Order, action: str) -> Step:
    """Refuse an action the order's state does not allow, naming both."""
    step = STEPS[action]
    if order.status not in step.sources:
        raise Conflict(
            f"服务工单当前状态为“{S(order.status).label}”，不能{step.label}",
            field="status",
            code="illegal_transition",
        )
    return step


def record_step(
    order: Order,
    *,
    action: str,
    actor: Any,
    to: str | None = None,
    note: str = "",
    data: dict[str, Any] | None = None,
    fields: tuple[str, ...] = (),
) -> OrderEvent:
    """Move the order (already checked by require_step) and write its history row and audit row."""
    step = STEPS[action]
    before = order.status if action != "create" else ""
    after = to or step.target or order.status
    order.status = after
    order.save(update_fields=["status", "updated_at", *fields])
    person = actor if getattr(actor, "is_authenticated", False) else None
    event = OrderEvent.objects.create(
        order=order,
        action=action,
        from_status=before,
        to_status=after,
        actor=person,
        actor_name=(person.full_name or person.get_username()) if person else str(actor or "system"),
        at=timezone.now(),
        note=note[:500],
        data=data or {},
    )
    audit.record(
        actor,
        f"order.{action}",
        order,
        region_code=order.region_id,
        before={"status": before} if before else None,
        after={"status": after, **(data or {})},
    )
    return event
