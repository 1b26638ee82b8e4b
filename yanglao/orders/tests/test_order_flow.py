"""The whole life of a phone order: taken, dispatched automatically, accepted, assigned, checked in and
out, confirmed with the code, paid from the service account up to its balance, rated."""

from decimal import Decimal

import pytest

from yanglao.benefits.models import ServiceAccount
from yanglao.core.errors import Conflict
from yanglao.orders import services
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import OrderEvent
from yanglao.orders.tests.conftest import credit


def test_phone_order_is_dispatched_to_the_provider_serving_the_community(
    cast, order_at, provider, other_provider
):
    order = order_at(S.CREATED)
    assert order.status == S.DISPATCHED
    assert order.provider_id == provider.pk  # other_provider is nearer but does not serve 和平区
    offer = order.offers.get()
    assert offer.outcome == "pending" and 800 < offer.distance_m < 1200


def test_a_full_visit_is_paid_from_the_account_up_to_its_balance_and_the_rest_self_paid(
    cast, order_at, elder
):
    credit(elder, "50")
    order = order_at(S.RATED)
    visit = order.visit
    assert (visit.amount, visit.account_paid, visit.self_paid) == (
        Decimal("85"),
        Decimal("50"),
        Decimal("35"),
    )
    assert ServiceAccount.objects.get(elder_id=elder.pk).balance == 0
    assert visit.rating == 5
    actions = list(OrderEvent.objects.filter(order=order).values_list("action", flat=True))
    assert actions == ["create", "dispatch", "accept", "assign", "check_in", "check_out", "confirm", "rate"]


def test_an_illegal_transition_is_refused_and_names_the_state(cast, order_at):
    order = order_at(S.ACCEPTED)
    with pytest.raises(Conflict, match="“已接单”，不能接单"):
        services.order_accept(actor=cast.provider_admin, order=order)
    rated = order_at(S.RATED)
    with pytest.raises(Conflict, match="“已评价”，不能取消") as refused:
        services.order_cancel(actor=cast.operator, order=rated, reason="重复下单")
    assert refused.value.code == "illegal_transition"
    assert OrderEvent.objects.filter(order=rated, action="cancel").count() == 0


def test_every_state_is_reached_by_some_step_and_every_step_names_its_sources():
    reached = {step.target for step in services.STEPS.values() if step.target}
    # rejected is reached by dispatch / reject / time-out finding no provider (target decided at run time)
    assert reached | {S.REJECTED} == set(S.values)
    assert all(step.sources or name == "create" for name, step in services.STEPS.items())
