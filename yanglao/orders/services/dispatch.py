"""Dispatch (派单): automatic to the best provider that serves the elder's community, offers the item and
has capacity, ranked by distance, rating and load (weights are policy values); by hand; re-dispatch
(改派); a provider that does not accept within `orders.accept_minutes` is skipped for the next one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from yanglao.accounts.scope import is_person, require_perm, require_region
from yanglao.core import policy
from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.orders import geo, policies
from yanglao.orders.enums import HELD_STATUSES, OfferOutcome
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import DispatchOffer, Order
from yanglao.orders.services._common import locked, record_step, require_step
from yanglao.orders.services.orders import _close_pending_offer
from yanglao.providers.models import Provider, ProviderOffer
from yanglao.providers.selectors import providers_serving


@dataclass(frozen=True)
class Choice:
    provider_id: int
    distance_m: float | None
    score: float | None


def elder_position(order: Order) -> tuple[float, float] | None:
    """Where the service happens: the elder's geocoded home, else their community's centre."""
    elder = order.elder
    if elder.latitude is not None and elder.longitude is not None:
        return elder.latitude, elder.longitude
    region = order.region
    if region.latitude is not None and region.longitude is not None:
        return region.latitude, region.longitude
    return None


def _has_capacity(provider: Provider, order: Order) -> bool:
    """Fewer orders held on the order's day than the provider's daily capacity (checked in the database:
    the index's load is a hint kept between rebuilds)."""
    day = timezone.localtime(order.window_start).date()
    held = (
        Order.objects.filter(provider=provider, status__in=HELD_STATUSES, window_start__date=day)
        .exclude(pk=order.pk)
        .count()
    )
    return held < provider.daily_capacity


def _score(candidates: list[geo.Candidate]) -> list[tuple[float, geo.Candidate]]:
    """Lower is better: a weighted mean of distance (share of the farthest candidate's), rating (0 for
    5 stars, an unrated provider counted as 3) and load (share of capacity)."""
    weights = (
        policy.value(policies.WEIGHT_DISTANCE),
        policy.value(policies.WEIGHT_RATING),
        policy.value(policies.WEIGHT_LOAD),
    )
    total = sum(weights) or 1
    farthest = max((c.distance_m for c in candidates), default=0.0) or 1.0
    scored = []
    for candidate in candidates:
        rating = candidate.rating if candidate.rating is not None else 3.0
        shares = (
            candidate.distance_m / farthest,
            1 - rating / 5,
            candidate.load / candidate.capacity if candidate.capacity else 1.0,
        )
        score = sum(w * s for w, s in zip(weights, shares, strict=True)) / total
        scored.append((round(score, 6), candidate))
    scored.sort(key=lambda pair: (pair[0], pair[1].distance_m, pair[1].provider_id))
    return scored


def choose_provider(order: Order, *, exclude: set[int]) -> Choice | None:
    """The best provider for the order that has not been tried, or None."""
    position = elder_position(order)
    if position is not None:
        candidates = geo.shared_index().nearest(
            latitude=position[0],
            longitude=position[1],
            item_id=order.item_id,
            region_code=order.region_id,
            k=policy.value(policies.CANDIDATES),
            exclude=exclude,
        )
        providers = Provider.objects.in_bulk([c.provider_id for c in candidates])
        for score, candidate in _score(candidates):
            provider = providers.get(candidate.provider_id)
            if provider is not None and _has_capacity(provider, order):
                return Choice(candidate.provider_id, candidate.distance_m, score)
    # No position, or the index knows no one near: the serving providers by rating (no distance).
    for provider in providers_serving(order.region_id, order.item.code).exclude(pk__in=exclude)[:20]:
        if _has_capacity(provider, order):
            return Choice(provider.pk, None, None)
    return None


def _offer(order: Order, choice: Choice, *, automatic: bool, now: datetime) -> DispatchOffer:
    offer = DispatchOffer.objects.create(
        order=order,
        provider_id=choice.provider_id,
        automatic=automatic,
        distance_m=choice.distance_m,
        score=choice.score,
        offered_at=now,
        deadline=now + timedelta(minutes=policy.value(policies.ACCEPT_MINUTES)),
    )
    geo.note_load_on_commit(choice.provider_id, 1)
    return offer


def _tried(order: Order) -> set[int]:
    return set(DispatchOffer.objects.filter(order=order).values_list("provider_id", flat=True))


def _offer_next(order: Order, *, actor: Any, action: str, note: str = "") -> Order:
    """Offer the order to the best untried provider, or mark it 无机构接单 (rejected) for the dispatch
    board when none is left."""
    now = timezone.now()
    choice = choose_provider(order, exclude=_tried(order))
    if choice is None:
        order.provider = None
        order.worker = None
        record_step(
            order,
            action=action,
            actor=actor,
            to=S.REJECTED,
            note=note or "没有可接单的服务机构，请人工派单",
            fields=("provider", "worker"),
        )
        return order
    offer = _offer(order, choice, automatic=True, now=now)
    order.provider_id = choice.provider_id
    order.worker = None
    record_step(
        order,
        action=action,
        actor=actor,
        to=S.DISPATCHED,
        note=note,
        data={
            "provider": choice.provider_id,
            "distance_m": None if choice.distance_m is None else round(choice.distance_m),
            "score": choice.score,
            "deadline": offer.deadline.isoformat(),
        },
        fields=("provider", "worker"),
    )
    return order


def _require_dispatcher(actor: Any, order: Order) -> None:
    if is_person(actor):
        require_perm(actor, Perm.ORDERS_DISPATCH)
        require_region(actor, order.region_id, hide=True)


@transaction.atomic
def order_dispatch_auto(*, actor: Any, order: Order) -> Order:
    """Dispatch a new (or unplaced) order to the best provider automatically."""
    order = locked(order.pk)
    if is_person(actor) and order.created_by_id != actor.pk:
        _require_dispatcher(actor, order)
    require_step(order, "dispatch")
    return _offer_next(order, actor=actor, action="dispatch")


def _check_manual_provider(order: Order, provider: Provider) -> None:
    serving = providers_serving(order.region_id, order.item.code).filter(pk=provider.pk)
    if not serving.exists():
        raise InvalidInput(
            f"“{provider.name}”未覆盖该社区、未提供“{order.item.name}”或已暂停合作，不能派给它",
            field="provider",
        )


@transaction.atomic
def order_dispatch_manual(*, actor: Any, order: Order, provider: Provider, note: str = "") -> Order:
    """Dispatch by hand to a chosen provider that serves the community and offers the item; a dispatched
    or accepted order goes through re-dispatch (改派) instead."""
    order = locked(order.pk)
    _require_dispatcher(actor, order)
    require_step(order, "dispatch")
    _check_manual_provider(order, provider)
    now = timezone.now()
    offer = _offer(order, Choice(provider.pk, None, None), automatic=False, now=now)
    order.provider = provider
    record_step(
        order,
        action="dispatch",
        actor=actor,
        note=note or "人工派单",
        data={"provider": provider.pk, "manual": True, "deadline": offer.deadline.isoformat()},
        fields=("provider",),
    )
    return order


@transaction.atomic
def order_redispatch(*, actor: Any, order: Order, reason: str, provider: Provider | None = None) -> Order:
    """改派: take the order back from its provider (before check-in) and give it to a chosen provider, or to
    the best one not yet tried."""
    order = locked(order.pk)
    _require_dispatcher(actor, order)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写改派原因", field="reason")
    require_step(order, "redispatch")
    if provider is not None:
        _check_manual_provider(order, provider)
        if provider.pk == order.provider_id:
            raise InvalidInput("改派的机构与当前机构相同", field="provider")
    _close_pending_offer(order, OfferOutcome.WITHDRAWN, reason)
    DispatchOffer.objects.filter(order=order, outcome=OfferOutcome.ACCEPTED).update(
        outcome=OfferOutcome.WITHDRAWN, reason=reason[:300]
    )
    geo.note_load_on_commit(order.provider_id, -1)
    order.price = None
    if provider is None:
        order.save(update_fields=["price"])
        return _offer_next(order, actor=actor, action="redispatch", note=reason)
    offer = _offer(order, Choice(provider.pk, None, None), automatic=False, now=timezone.now())
    order.provider = provider
    order.worker = None
    record_step(
        order,
        action="redispatch",
        actor=actor,
        note=reason,
        data={"provider": provider.pk, "manual": True, "deadline": offer.deadline.isoformat()},
        fields=("provider", "worker", "price"),
    )
    return order


def _pending_offer_for(actor: Any, order: Order) -> DispatchOffer:
    offer = (
        DispatchOffer.objects.select_related("provider__organisation")
        .filter(order=order, outcome=OfferOutcome.PENDING)
        .first()
    )
    if offer is None:
        raise Conflict("该工单没有待接的派单", field="status")
    if is_person(actor):
        require_perm(actor, Perm.ORDERS_ACCEPT)
        if not actor.is_superuser and actor.organisation_id != offer.provider.organisation_id:
            raise PermissionDenied("该工单未派给您的机构")
    return offer


@transaction.atomic
def order_accept(*, actor: Any, order: Order) -> Order:
    """The provider accepts a dispatched order within its deadline; the price is its offer's price."""
    order = locked(order.pk)
    require_step(order, "accept")
    offer = _pending_offer_for(actor, order)
    now = timezone.now()
    if now > offer.deadline:
        raise Conflict("已超过接单时限，该工单将改派给其他机构", field="status")
    price = (
        ProviderOffer.objects.filter(provider_id=offer.provider_id, item_id=order.item_id, is_active=True)
        .values_list("price", flat=True)
        .first()
    )
    if price is None:
        raise Conflict(f"贵机构已不再提供“{order.item.name}”，请拒单", field="item")
    offer.outcome = OfferOutcome.ACCEPTED
    offer.decided_at = now
    offer.save(update_fields=["outcome", "decided_at"])
    order.price = price
    record_step(order, action="accept", actor=actor, data={"price": str(price)}, fields=("price",))
    return order


@transaction.atomic
def order_reject(*, actor: Any, order: Order, reason: str) -> Order:
    """The provider refuses a dispatched order with a reason; it goes on to the next provider."""
    order = locked(order.pk)
    require_step(order, "reject")
    offer = _pending_offer_for(actor, order)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写拒单原因", field="reason")
    offer.outcome = OfferOutcome.REJECTED
    offer.decided_at = timezone.now()
    offer.reason = reason[:300]
    offer.save(update_fields=["outcome", "decided_at", "reason"])
    geo.note_load_on_commit(offer.provider_id, -1)
    return _offer_next(order, actor=actor, action="reject", note=f"{offer.provider.name} 拒单：{reason}")


def offers_time_out(*, actor: Any = "scheduler", now: datetime | None = None) -> int:
    """Skip every provider that let its deadline pass and offer the order to the next. Each order in its
    own transaction, re-checked under the lock (it may have been accepted a moment ago)."""
    now = now or timezone.now()
    due = list(
        DispatchOffer.objects.filter(outcome=OfferOutcome.PENDING, deadline__lt=now).values_list(
            "order_id", flat=True
        )
    )
    moved = 0
    for order_id in due:
        with transaction.atomic():
            order = locked(order_id)
            offer = DispatchOffer.objects.filter(
                order=order, outcome=OfferOutcome.PENDING, deadline__lt=now
            ).first()
            if offer is None or order.status != S.DISPATCHED:
                continue
            offer.outcome = OfferOutcome.TIMED_OUT
            offer.decided_at = now
            offer.save(update_fields=["outcome", "decided_at"])
            geo.note_load_on_commit(offer.provider_id, -1)
            _offer_next(order, actor=actor, action="time_out", note="服务机构超时未接单，已自动改派")
            moved += 1
    return moved
