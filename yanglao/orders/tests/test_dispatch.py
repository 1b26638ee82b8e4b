"""Dispatch: the best provider serving the community first; refusal, time-out and 改派 go on to the next;
none left leaves the order for a dispatcher's hand; manual dispatch only to a provider that may take it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.core import policy
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.orders import services
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import DispatchOffer, Order
from yanglao.orders.tests.conftest import window


def outcomes(order):
    return list(
        DispatchOffer.objects.filter(order=order).order_by("id").values_list("provider_id", "outcome")
    )


def test_the_nearer_provider_is_chosen_and_a_refusal_goes_to_the_next(
    cast, order_at, provider, second_provider
):
    order = order_at(S.CREATED)
    assert order.provider_id == provider.pk
    order = services.order_reject(actor=cast.provider_admin, order=order, reason="人手不足")
    assert order.status == S.DISPATCHED and order.provider_id == second_provider.pk
    assert outcomes(order) == [(provider.pk, "rejected"), (second_provider.pk, "pending")]
    assert order.events.last().action == "reject" and "人手不足" in order.events.last().note


@pytest.mark.usefixtures("other_provider")
def test_when_every_provider_refused_the_order_waits_for_a_dispatcher(cast, order_at, provider):
    order = services.order_reject(actor=cast.provider_admin, order=order_at(S.CREATED), reason="已满")
    assert order.status == S.REJECTED and order.provider_id is None
    with pytest.raises(InvalidInput, match="未覆盖该社区"):
        services.order_dispatch_manual(actor=cast.district_staff, order=order, provider=_other(cast))
    order = services.order_dispatch_manual(actor=cast.district_staff, order=order, provider=provider)
    assert order.status == S.DISPATCHED and outcomes(order)[-1] == (provider.pk, "pending")


def _other(cast):
    from yanglao.providers.models import Provider

    return Provider.objects.get(organisation=cast.organisations["other_provider"])


@pytest.mark.usefixtures("other_provider")
def test_a_provider_that_lets_the_deadline_pass_is_skipped(cast, order_at, provider, second_provider):
    order = order_at(S.CREATED)
    assert services.offers_time_out(now=timezone.now()) == 0  # not due yet
    later = timezone.now() + timedelta(minutes=policy.value(services.dispatch.policies.ACCEPT_MINUTES) + 1)
    assert services.offers_time_out(now=later) == 1
    order.refresh_from_db()
    assert order.provider_id == second_provider.pk
    assert outcomes(order)[0] == (provider.pk, "timed_out")
    with pytest.raises(PermissionDenied, match="未派给您的机构"):
        services.order_accept(actor=cast.provider_admin, order=order)


def test_accepting_after_the_deadline_is_refused(cast, order_at):
    order = order_at(S.CREATED)
    DispatchOffer.objects.filter(order=order).update(deadline=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Conflict, match="已超过接单时限"):
        services.order_accept(actor=cast.provider_admin, order=order)


def test_a_provider_at_capacity_is_passed_over(cast, order_at, provider, second_provider):
    provider.daily_capacity = 1
    provider.save()
    first = order_at(S.CREATED)
    second = order_at(S.CREATED)
    assert (first.provider_id, second.provider_id) == (provider.pk, second_provider.pk)


def test_only_the_offered_provider_may_accept_or_refuse(cast, order_at, other_provider):
    order = order_at(S.CREATED)
    with pytest.raises(PermissionDenied):
        services.order_accept(actor=cast.other_provider_admin, order=order)
    with pytest.raises(InvalidInput, match="拒单原因"):
        services.order_reject(actor=cast.provider_admin, order=order, reason=" ")
    assert Order.objects.get(pk=order.pk).status == S.DISPATCHED


def test_redispatch_takes_the_order_back_from_its_worker(cast, order_at, provider, second_provider):
    order = order_at(S.ASSIGNED)
    with pytest.raises(InvalidInput, match="改派原因"):
        services.order_redispatch(actor=cast.district_staff, order=order, reason="")
    order = services.order_redispatch(actor=cast.district_staff, order=order, reason="老人要求更换机构")
    assert (
        order.status == S.DISPATCHED and order.provider_id == second_provider.pk and order.worker_id is None
    )
    assert outcomes(order) == [(provider.pk, "withdrawn"), (second_provider.pk, "pending")]
    with pytest.raises(NotFound):
        services.order_redispatch(actor=cast.other_district_staff, order=order, reason="x")


def test_redispatch_is_refused_once_the_worker_checked_in(cast, order_at):
    order = order_at(S.CHECKED_IN)
    with pytest.raises(Conflict, match="“服务中”，不能改派"):
        services.order_redispatch(actor=cast.district_staff, order=order, reason="x")


def test_cancel_needs_a_reason_and_is_refused_after_check_in(cast, order_at):
    order = order_at(S.DISPATCHED)
    with pytest.raises(InvalidInput, match="取消原因"):
        services.order_cancel(actor=cast.operator, order=order, reason="")
    order = services.order_cancel(actor=cast.operator, order=order, reason="老人住院")
    assert order.status == S.CANCELLED and outcomes(order)[0][1] == "withdrawn"
    with pytest.raises(Conflict, match="不能取消"):
        services.order_cancel(actor=cast.operator, order=order_at(S.CHECKED_IN), reason="x")


def test_orders_nobody_served_expire_after_their_window(cast, order_at):
    order = order_at(S.ACCEPTED)
    assert services.orders_expire(now=timezone.now()) == 0
    later = order.window_end + timedelta(hours=policy.value(services.orders.policies.EXPIRY_HOURS) + 1)
    assert services.orders_expire(now=later) == 1
    order.refresh_from_db()
    assert order.status == S.EXPIRED


def test_bad_input_names_the_field_and_writes_nothing(cast, elder, item, provider):
    start, end = window()
    cases = [
        ({"window_start": end, "window_end": start}, "window_end"),
        ({"window_start": start - timedelta(days=2), "window_end": start - timedelta(days=1)}, "window_end"),
        ({"window_start": start, "window_end": start + timedelta(days=8)}, "window_end"),
        ({"window_start": start, "window_end": end, "channel": "fax"}, "channel"),
    ]
    for facts, field in cases:
        facts.setdefault("channel", "phone")
        with pytest.raises(InvalidInput) as refused:
            services.order_create(actor=cast.operator, elder=elder, item=item, **facts)
        assert refused.value.field == field, facts
    assert not Order.objects.exists()


def test_staff_outside_the_elders_region_cannot_order_for_them(cast, elder, item, provider):
    start, end = window()
    with pytest.raises(NotFound):
        services.order_create(
            actor=cast.other_district_staff,
            elder=elder,
            item=item,
            channel="phone",
            window_start=start,
            window_end=end,
        )
    with pytest.raises(PermissionDenied):
        services.order_create(
            actor=cast.care_worker,
            elder=elder,
            item=item,
            channel="phone",
            window_start=start,
            window_end=end,
        )


def test_no_order_for_a_deceased_elder(cast, elder, item, provider):
    elder.status = "deceased"
    elder.save()
    start, end = window()
    with pytest.raises(Conflict, match="已故"):
        services.order_create(
            actor=cast.operator, elder=elder, item=item, channel="phone", window_start=start, window_end=end
        )
