"""The visit at the home: only the assigned worker checks in and out; the elder confirms with the code
read out (five wrong codes and the code stops working), a family member's link, or an operator's call;
payment from the service account up to its balance; the rating reaches the provider."""

from decimal import Decimal

import pytest

from yanglao.benefits.models import LedgerEntry, ServiceAccount
from yanglao.core import policy
from yanglao.core.errors import Conflict, InvalidInput, PermissionDenied
from yanglao.orders import services
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import FollowUp, Order
from yanglao.orders.tests.conftest import HOME, credit


def test_only_the_assigned_worker_may_check_in_and_a_position_is_required(cast, order_at):
    order = order_at(S.ASSIGNED)
    with pytest.raises(PermissionDenied):
        services.visit_check_in(actor=cast.provider_admin, order=order, latitude=HOME[0], longitude=HOME[1])
    with pytest.raises(InvalidInput, match="无法获取定位") as refused:
        services.visit_check_in(actor=cast.care_worker, order=order, latitude=None, longitude=None)
    assert refused.value.field == "position"
    assert Order.objects.get(pk=order.pk).status == S.ASSIGNED
    visit = services.visit_check_in(actor=cast.care_worker, order=order, latitude=HOME[0], longitude=HOME[1])
    assert visit.check_in_distance_m == pytest.approx(0, abs=1)


def test_check_out_needs_what_was_done(cast, order_at):
    order = order_at(S.CHECKED_IN)
    with pytest.raises(InvalidInput) as refused:
        services.visit_check_out(actor=cast.care_worker, order=order, latitude=HOME[0], longitude=HOME[1])
    assert refused.value.field == "items_done"


def test_five_wrong_codes_and_the_code_no_longer_works(cast, order_at):
    order = order_at(S.CHECKED_OUT)
    wrong = "000000" if order.confirm_code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        with pytest.raises(InvalidInput, match=f"还可以尝试 {left} 次"):
            services.visit_confirm_with_code(actor=cast.care_worker, order=order, code=wrong)
    with pytest.raises(Conflict, match="错误次数过多"):
        services.visit_confirm_with_code(actor=cast.care_worker, order=order, code=order.confirm_code)
    assert Order.objects.get(pk=order.pk).status == S.CHECKED_OUT
    visit = services.visit_confirm_by_operator(
        actor=cast.operator, order=order, note="电话联系老人确认已服务"
    )
    assert visit.confirm_method == "operator"


def test_the_family_link_confirms_and_rates_and_a_tampered_link_does_not(cast, order_at, provider):
    order = order_at(S.CHECKED_OUT)
    token = services.family_token(order)
    with pytest.raises(InvalidInput, match="链接无效"):
        services.visit_confirm_by_family(token=token[:-2] + "xx")
    visit = services.visit_confirm_by_family(token=token)
    assert visit.confirm_method == "family"
    with pytest.raises(InvalidInput, match="1～5"):
        services.visit_rate_by_family(token=token, score=6)
    services.visit_rate_by_family(token=token, score=4, comment="准时")
    provider.refresh_from_db()
    assert (provider.rating, provider.rating_count) == (Decimal("4"), 1)
    with pytest.raises(Conflict, match="不能评价"):
        services.visit_rate_by_family(token=token, score=1)


def test_with_no_balance_the_elder_pays_it_all(cast, order_at):
    visit = order_at(S.CONFIRMED).visit
    assert (visit.account_paid, visit.self_paid) == (Decimal("0"), Decimal("85"))
    assert visit.ledger_entry_id is None


def test_a_rich_account_pays_it_all_and_the_ledger_says_so(cast, order_at, elder):
    credit(elder, "200")
    visit = order_at(S.CONFIRMED).visit
    assert (visit.account_paid, visit.self_paid) == (Decimal("85"), Decimal("0"))
    assert ServiceAccount.objects.get(elder_id=elder.pk).balance == Decimal("115")
    assert LedgerEntry.objects.get(pk=visit.ledger_entry_id).amount == Decimal("-85")


def test_an_item_the_account_may_not_pay_is_self_paid(cast, order_at, elder, item):
    item.account_payable = False
    item.save()
    credit(elder, "200")
    visit = order_at(S.CONFIRMED).visit
    assert (visit.account_paid, visit.self_paid) == (Decimal("0"), Decimal("85"))


def test_sampled_visits_get_a_follow_up_call(cast, order_at):
    from datetime import date

    policy.policy_set(actor="tests", key="orders.follow_up_percent", value=100, valid_from=date(2020, 1, 1))
    order = order_at(S.CONFIRMED)
    assert FollowUp.objects.filter(visit__order=order, outcome="pending").exists()
    with pytest.raises(InvalidInput, match="回访结果"):
        services.follow_up_record(actor=cast.community_worker, order=order, outcome="pending")
    services.follow_up_record(actor=cast.community_worker, order=order, outcome="satisfied", note="老人满意")
    with pytest.raises(Conflict, match="已回访"):
        services.follow_up_record(actor=cast.community_worker, order=order, outcome="satisfied")


def test_unsampled_visits_have_no_follow_up(cast, order_at):
    from datetime import date

    policy.policy_set(actor="tests", key="orders.follow_up_percent", value=0, valid_from=date(2020, 1, 1))
    order = order_at(S.CONFIRMED)
    with pytest.raises(Conflict, match="未被抽中"):
        services.follow_up_record(actor=cast.community_worker, order=order, outcome="satisfied")
