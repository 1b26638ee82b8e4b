"""Reads of orders, each through the actor's scope (DESIGN.md rule 5).

- Staff, operators and community workers see orders of elders in their region (the order's community).
- A provider's staff see the orders dispatched to their organisation (its current provider).
- A care worker sees the orders assigned to them, and the accepted, unassigned orders of their
  organisation that they may take (抢单).
- Everyone else sees none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from yanglao.accounts.roles import Role
from yanglao.accounts.scope import people, require_perm
from yanglao.core.errors import InvalidInput, NotFound
from yanglao.core.permissions import Perm
from yanglao.orders.enums import OPEN_STATUSES, Channel, OfferOutcome, OrderStatus
from yanglao.orders.models import DispatchOffer, FollowUp, Order, OrderEvent
from yanglao.regions import codes

# Any one of these lets a role read orders at all (then scope decides which).
_READERS = (
    Perm.ORDERS_CREATE,
    Perm.ORDERS_DISPATCH,
    Perm.ORDERS_ACCEPT,
    Perm.VISITS_PERFORM,
    Perm.SETTLEMENT_VIEW,
    Perm.VISITS_CARE,
)


def may_read(actor: Any) -> bool:
    return getattr(actor, "is_authenticated", False) and any(actor.has_perm(p) for p in _READERS)


def orders_visible(actor: Any) -> QuerySet[Order]:
    base = Order.objects.select_related(
        "elder", "item", "region", "provider__organisation", "worker", "visit"
    )
    if not may_read(actor):
        return base.none()
    if getattr(actor, "role", "") == Role.CARE_WORKER and not actor.is_superuser:
        mine = Q(worker__user_id=actor.pk)
        takeable = Q(
            status=OrderStatus.ACCEPTED, worker__isnull=True, provider__organisation_id=actor.organisation_id
        )
        return base.filter(mine | takeable) if actor.organisation_id else base.none()
    return people(
        actor,
        base,
        region_field="region_id",
        organisation_field=lambda organisation_id: Q(provider__organisation_id=organisation_id),
    )


def order_get(actor: Any, order_id: int) -> Order:
    """One order in the actor's scope; outside it the answer is the same as for no such order."""
    found = orders_visible(actor).filter(pk=order_id).first()
    if found is None:
        raise NotFound("未找到该服务工单，或不在您的管辖范围内")
    return found


SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "window": ("window_start", "id"),
    "-window": ("-window_start", "-id"),
}


@dataclass
class OrderFilter:
    """The filters of the list page and the API: one meaning everywhere."""

    status: list[str] = field(default_factory=list)
    item: str = ""
    channel: str = ""
    region: str = ""
    provider: int | None = None
    elder: int | None = None
    q: str = ""  # the elder's name
    day_from: date | None = None
    day_to: date | None = None
    open_only: bool = False
    sort: str = "-created"

    def check(self) -> OrderFilter:
        unknown = [s for s in self.status if s not in OrderStatus.values]
        if unknown:
            raise InvalidInput(f"状态“{unknown[0]}”无效", field="status")
        if self.channel and self.channel not in Channel.values:
            raise InvalidInput(f"下单渠道“{self.channel}”无效", field="channel")
        if self.sort not in SORTS:
            raise InvalidInput(f"排序方式“{self.sort}”无效，可用：{'、'.join(SORTS)}", field="sort")
        if self.region:
            self.region = codes.normalize(self.region, field="region")
        if self.day_from and self.day_to and self.day_to < self.day_from:
            raise InvalidInput("结束日期不能早于开始日期", field="day_to")
        return self


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def order_list(actor: Any, filters: OrderFilter) -> QuerySet[Order]:
    filters.check()
    queryset = orders_visible(actor)
    if filters.status:
        queryset = queryset.filter(status__in=filters.status)
    if filters.open_only:
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    if filters.item:
        queryset = queryset.filter(item__code=filters.item)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.region:
        queryset = queryset.filter(codes.within(filters.region, "region_id"))
    if filters.provider:
        queryset = queryset.filter(provider_id=filters.provider)
    if filters.elder:
        queryset = queryset.filter(elder_id=filters.elder)
    if filters.q.strip():
        queryset = queryset.filter(elder__name__contains=filters.q.strip())
    if filters.day_from:
        queryset = queryset.filter(window_start__gte=_day_start(filters.day_from))
    if filters.day_to:
        queryset = queryset.filter(window_start__lt=_day_start(filters.day_to + timedelta(days=1)))
    return queryset.order_by(*SORTS[filters.sort])


def status_counts(queryset: QuerySet[Order]) -> dict[str, int]:
    rows = queryset.order_by().values("status").annotate(n=Count("id"))
    counts = {status: 0 for status in OrderStatus.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


@dataclass
class Board:
    """The dispatch board: what needs a dispatcher's hand now."""

    unplaced: list[Order]  # no provider took it: dispatch by hand
    waiting: list[tuple[Order, DispatchOffer]]  # dispatched, waiting for the provider, with deadline
    unassigned: list[Order]  # accepted, no worker yet
    counts: dict[str, int]


BOARD_ROWS = 100


def dispatch_board(actor: Any, *, region: str = "") -> Board:
    require_perm(actor, Perm.ORDERS_DISPATCH)
    visible = orders_visible(actor)
    if region:
        visible = visible.filter(codes.within(codes.normalize(region, field="region"), "region_id"))
    open_orders = visible.filter(status__in=OPEN_STATUSES | {OrderStatus.REJECTED})
    pending = {
        offer.order_id: offer
        for offer in DispatchOffer.objects.select_related("provider__organisation").filter(
            outcome=OfferOutcome.PENDING, order__in=open_orders.filter(status=OrderStatus.DISPATCHED)
        )
    }
    waiting_orders = open_orders.filter(status=OrderStatus.DISPATCHED).order_by("window_start", "id")
    return Board(
        unplaced=list(
            open_orders.filter(status__in=[OrderStatus.CREATED, OrderStatus.REJECTED]).order_by(
                "window_start", "id"
            )[:BOARD_ROWS]
        ),
        waiting=[(o, pending[o.pk]) for o in waiting_orders[:BOARD_ROWS] if o.pk in pending],
        unassigned=list(
            open_orders.filter(status=OrderStatus.ACCEPTED).order_by("window_start", "id")[:BOARD_ROWS]
        ),
        counts=status_counts(open_orders),
    )


@dataclass
class Queue:
    """A provider's work queue."""

    to_accept: list[tuple[Order, DispatchOffer]]
    to_assign: list[Order]
    in_hand: list[Order]  # assigned or in service


def provider_queue(actor: Any) -> Queue:
    require_perm(actor, Perm.ORDERS_ACCEPT)
    mine = orders_visible(actor).filter(provider__organisation_id=actor.organisation_id)
    offers = {
        offer.order_id: offer
        for offer in DispatchOffer.objects.filter(
            outcome=OfferOutcome.PENDING, provider__organisation_id=actor.organisation_id
        )
    }
    dispatched = mine.filter(status=OrderStatus.DISPATCHED).order_by("window_start", "id")
    return Queue(
        to_accept=[(o, offers[o.pk]) for o in dispatched if o.pk in offers],
        to_assign=list(mine.filter(status=OrderStatus.ACCEPTED).order_by("window_start", "id")),
        in_hand=list(
            mine.filter(status__in=[OrderStatus.ASSIGNED, OrderStatus.CHECKED_IN, OrderStatus.CHECKED_OUT])
            .select_related("worker")
            .order_by("window_start", "id")
        ),
    )


@dataclass
class WorkerDay:
    """A care worker's day on their phone: their visits (unfinished earlier ones first) and the orders
    of their organisation they may take."""

    visits: list[Order]
    takeable: list[Order]
    done_today: int


def worker_day(actor: Any, *, day: date | None = None) -> WorkerDay:
    require_perm(actor, Perm.VISITS_PERFORM)
    day = day or timezone.localdate()
    start, end = _day_start(day), _day_start(day + timedelta(days=1))
    visible = orders_visible(actor)
    mine = visible.filter(worker__user_id=actor.pk)
    to_do = mine.filter(
        Q(status__in=[OrderStatus.ASSIGNED, OrderStatus.CHECKED_IN, OrderStatus.CHECKED_OUT])
        & (Q(window_start__lt=end))
    ).order_by("window_start", "id")
    done = mine.filter(
        status__in=[OrderStatus.CONFIRMED, OrderStatus.RATED, OrderStatus.SETTLED],
        visit__check_out_at__gte=start,
        visit__check_out_at__lt=end,
    ).count()
    takeable = visible.filter(status=OrderStatus.ACCEPTED, worker__isnull=True).order_by("window_start", "id")
    return WorkerDay(visits=list(to_do), takeable=list(takeable[:50]), done_today=done)


def order_history(order: Order) -> list[OrderEvent]:
    return list(order.events.select_related("actor").order_by("at", "id"))


def order_offers(order: Order) -> list[DispatchOffer]:
    return list(order.offers.select_related("provider__organisation").order_by("offered_at", "id"))


def elder_orders(actor: Any, elder_id: int, *, limit: int = 20) -> list[Order]:
    return list(orders_visible(actor).filter(elder_id=elder_id).order_by("-created_at", "-id")[:limit])


def follow_ups_due(actor: Any) -> QuerySet[FollowUp]:
    """Sampled visits waiting for their follow-up call, in the actor's region."""
    if not actor.has_perm(Perm.VISITS_CARE):
        return FollowUp.objects.none()
    return (
        people(
            actor,
            FollowUp.objects.select_related("visit__order__elder", "visit__order__item", "visit__worker"),
            region_field="visit__order__region_id",
        )
        .filter(outcome="pending")
        .order_by("sampled_at", "id")
    )
