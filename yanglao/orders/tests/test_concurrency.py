"""Real concurrent transactions on PostgreSQL: two care workers taking one order at the same moment,
exactly one wins; a provider accepting while the deadline job skips it ends in one state."""

import pytest
from django.db import connection

from yanglao.accounts.roles import Role
from yanglao.core.errors import Conflict
from yanglao.core.testing import make_user, race
from yanglao.orders import services
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import DispatchOffer, OrderEvent
from yanglao.providers import services as provider_services
from yanglao.registry.tests.conftest import make_id


@pytest.fixture
def pg(transactional_db):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers with a file lock; the row locks under test are PostgreSQL's")


def test_two_workers_taking_one_order_at_once_exactly_one_wins(pg, cast, order_at, worker):
    second_user = make_user("care_worker_2", Role.CARE_WORKER, "120101", cast.organisations["provider"])
    provider_services.worker_register(
        actor="tests",
        organisation=cast.organisations["provider"],
        name="王桂兰",
        id_number=make_id("120101"),
        username="care_worker_2",
    )
    order = order_at(S.ACCEPTED)
    users = iter([cast.care_worker, second_user])
    takers = {}

    def take():
        user = next(users)
        result = services.order_take(actor=user, order=order)
        takers[user.username] = result
        return result

    outcomes = race(take)
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0], Conflict) and "已被其他护理员接走" in losers[0].message
    order.refresh_from_db()
    assert order.status == S.ASSIGNED and order.worker_id == winners[0].worker_id
    assert OrderEvent.objects.filter(order=order, action="take").count() == 1


def test_accepting_while_the_deadline_passes_leaves_one_outcome(pg, cast, order_at, second_provider):
    from datetime import timedelta

    from django.utils import timezone

    order = order_at(S.CREATED)
    DispatchOffer.objects.filter(order=order).update(deadline=timezone.now() + timedelta(seconds=1))
    later = timezone.now() + timedelta(seconds=2)
    work = iter(
        [
            lambda: services.order_accept(actor=cast.provider_admin, order=order),
            lambda: services.offers_time_out(now=later),
        ]
    )
    outcomes = race(lambda: next(work)())
    order.refresh_from_db()
    offers = list(DispatchOffer.objects.filter(order=order).order_by("id").values_list("outcome", flat=True))
    # Either the provider accepted first (and the job found nothing to skip), or the job skipped it first
    # and the order went on to the second provider; never both.
    assert offers in (["accepted"], ["timed_out", "pending"]), (offers, outcomes)
    assert order.status == (S.ACCEPTED if offers == ["accepted"] else S.DISPATCHED)
