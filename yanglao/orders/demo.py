"""Demo orders: the demo provider's queue and the demo care worker's day are alive when `make demo` opens,
with finished visits from yesterday (paid, rated, one flagged for a far check-in) for settlement and
the flags page. Every order goes through the real services; finished visits are made on yesterday's
clock. Idempotent: nothing is made when orders exist."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from typing import Any
from unittest import mock

from django.db.models import Q
from django.utils import timezone

from yanglao.accounts.models import User
from yanglao.accounts.roles import Role
from yanglao.orders import services, settlement
from yanglao.orders.models import Order
from yanglao.providers.models import CareWorker, CatalogueItem, Provider
from yanglao.regions import codes
from yanglao.registry.enums import Status
from yanglao.registry.models import Elder


@contextmanager
def _clock(moment: datetime | None) -> Iterator[None]:
    """Run the services as if it were `moment` (None: now)."""
    if moment is None:
        yield
        return
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _next_hour() -> datetime:
    now = timezone.localtime()
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _at(day_offset: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=day_offset)
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def demo_orders(*, stdout: Any = None, seed: int = 61, **options: Any) -> int:
    if Order.objects.exists():
        if stdout is not None:
            stdout.write("demo orders: already present")
        return 0
    user = User.objects.filter(username="careworker", role=Role.CARE_WORKER).first()
    worker = CareWorker.objects.filter(user=user).select_related("organisation").first() if user else None
    if worker is None:
        return 0
    provider = Provider.objects.filter(organisation=worker.organisation).first()
    admin = User.objects.filter(username="provider").first()
    operator = User.objects.filter(username="operator").first()
    area_codes = list(provider.service_areas.values_list("code", flat=True)) if provider else []
    items = list(
        CatalogueItem.objects.filter(offers__provider=provider, offers__is_active=True, is_active=True)
    )
    if not (provider and admin and operator and area_codes and items):
        return 0
    rng = random.Random(seed)
    served = Q()
    for code in area_codes:
        served |= codes.within(code, "residence_region_id")
    elders = list(
        Elder.objects.filter(served, status=Status.ACTIVE, latitude__isnull=False).order_by("id")[:24]
    )
    made = 0
    for index, elder in enumerate(elders):
        item = rng.choice(items)
        finished = index < 8
        # Open orders start on the coming hours, whatever the time the demo is made (a window already
        # over would be refused).
        start = _at(-1, 9 + index) if finished else _next_hour() + timedelta(hours=index % 10)
        # Yesterday's visits are made on yesterday's clock, so their times, durations and checks are real.
        with _clock(start - timedelta(hours=2) if finished else None):
            order = services.order_create(
                actor="demo",
                elder=elder,
                item=item,
                channel=["phone", "community", "portal", "device"][index % 4],
                window_start=start,
                window_end=start + timedelta(hours=2),
                note="演示工单",
                dispatch=False,
            )
            made += 1
            if index >= 20:
                services.order_dispatch_auto(actor="demo", order=order)  # left on the board and in queues
                continue
            services.order_dispatch_manual(
                actor="demo", order=order, provider=provider, note="演示：派给演示机构"
            )
            services.order_accept(actor=admin, order=order)
            if index >= 16:
                continue  # accepted, waiting for a worker (抢单 on the worker's page)
            services.order_assign(actor=admin, order=order, worker=worker)
        if not finished:
            continue
        far = index == 0  # one check-in 3 km from home: shows on the flags page
        with _clock(start):
            services.visit_check_in(
                actor=user,
                order=order,
                latitude=elder.latitude + (0.03 if far else 0.0004),
                longitude=elder.longitude,
            )
        with _clock(start + timedelta(minutes=item.standard_minutes)):
            services.visit_check_out(
                actor=user,
                order=order,
                latitude=elder.latitude,
                longitude=elder.longitude,
                items_done=[item.name],
                record="服务完成，老人状态良好",
            )
            order.refresh_from_db()
            services.visit_confirm_with_code(actor=user, order=order, code=order.confirm_code)
            if index % 2 == 0:
                services.visit_rate(
                    actor=operator, order=order, score=rng.choice([4, 5, 5]), comment="服务周到"
                )
    # This month's statement for the demo provider: yesterday's confirmed visits, the flagged one held.
    statements = settlement.settlement_run(actor="demo", period=timezone.localdate().strftime("%Y-%m"))
    if stdout is not None:
        stdout.write(
            f"demo orders: {made} orders for {provider.name} and care worker {worker.name}, {len(statements)} statement(s)"
        )
    return made
