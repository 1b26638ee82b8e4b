"""The staff pages of service orders: each renders for the roles that work with orders and is refused to
the others, scope hides orders of other districts, a refused action shows its error beside the field and
writes nothing, and each action goes through its service and comes back with a message."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.core.testing import HOME_COMMUNITY
from yanglao.orders import services
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import FollowUp, Order, OrderEvent
from yanglao.orders.tests.conftest import window


def html(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.content.decode()


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def nav_labels(client, user):
    client.force_login(user)
    return {str(i["label"]) for i in client.get("/").context["nav_items"]}


def unplaced_order(cast, elder, item):
    """An order the operator took by phone for three hours from now, left for a dispatcher to place."""
    start, end = window(3)
    return services.order_create(
        actor=cast.operator,
        elder=elder,
        item=item,
        channel="phone",
        window_start=start,
        window_end=end,
        dispatch=False,
    )


# --- navigation and access ------------------------------------------------------------------------
def test_the_navigation_offers_each_role_its_order_pages(cast, client):
    assert {"服务工单", "派单调度"} <= nav_labels(client, cast.district_staff)
    operator = nav_labels(client, cast.operator)
    assert "服务工单" in operator and "派单调度" not in operator
    provider = nav_labels(client, cast.provider_admin)
    assert "接单处理" in provider and "派单调度" not in provider
    client.force_login(cast.care_worker)
    labels = {str(i["label"]) for i in client.get("/orders/worker/").context["nav_items"]}
    assert labels >= {"今日服务"} and "服务工单" not in labels


@pytest.mark.parametrize(
    "who", ["city_admin", "district_staff", "street_staff", "community_worker", "operator", "provider_admin"]
)
def test_the_list_renders_for_every_role_that_reads_orders(cast, client, order_at, who):
    order = order_at(S.CREATED)
    client.force_login(getattr(cast, who))
    page = html(client.get("/orders/"))
    assert f"No.{order.pk}" in page and "张建国" in page


@pytest.mark.parametrize("who", ["auditor", "volunteer", "inspector", "assessor", "canteen_staff"])
def test_the_order_pages_are_refused_to_roles_without_orders(cast, client, order_at, who):
    order = order_at(S.CREATED)
    client.force_login(getattr(cast, who))
    assert client.get("/orders/").status_code == 403
    assert client.get("/orders/new/").status_code == 403
    assert client.get("/orders/board/").status_code == 403
    assert client.get("/orders/queue/").status_code == 403
    assert client.get(f"/orders/{order.pk}/").status_code in (403, 404)
    assert client.post(f"/orders/{order.pk}/cancel/", {"reason": "x"}).status_code in (403, 404)
    assert Order.objects.get(pk=order.pk).status == S.DISPATCHED


def test_anonymous_visitors_are_sent_to_sign_in(client, order_at):
    order = order_at(S.CREATED)
    for url in ("/orders/", "/orders/new/", "/orders/board/", "/orders/queue/", f"/orders/{order.pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_staff_of_another_district_cannot_open_an_order_here(cast, client, order_at, other_provider):
    order = order_at(S.ACCEPTED)
    for who in ("other_district_staff", "other_community_worker", "other_provider_admin"):
        client.force_login(getattr(cast, who))
        assert client.get(f"/orders/{order.pk}/").status_code == 404
        assert client.post(f"/orders/{order.pk}/cancel/", {"reason": "越权"}).status_code == 404
        assert f"No.{order.pk}" not in html(client.get("/orders/")) if who != "other_provider_admin" else True
    assert Order.objects.get(pk=order.pk).status == S.ACCEPTED


# --- the list -------------------------------------------------------------------------------------
def test_the_list_filters_counts_statuses_and_shows_an_empty_state(cast, client, order_at, make_elder):
    first = order_at(S.CREATED)
    other = make_elder(HOME_COMMUNITY, name="李秀兰", latitude=39.118, longitude=117.2)
    second = order_at(S.ACCEPTED, elder=other)
    client.force_login(cast.district_staff)
    page = html(client.get("/orders/", {"q": "秀兰"}))
    assert f"No.{second.pk}" in page and f"No.{first.pk}" not in page
    page = html(client.get("/orders/", {"status": ["accepted", "dispatched"]}))
    assert f"No.{second.pk}" in page and f"No.{first.pk}" in page
    page = html(client.get("/orders/", {"status": "accepted"}))
    assert f"No.{first.pk}" not in page
    # The counts are of all statuses under the other filters, so each can be clicked.
    assert 'data-testid="count-dispatched"' in page and 'data-testid="count-accepted"' in page
    assert 'data-testid="empty"' in html(client.get("/orders/", {"item": "repair"}))
    assert "状态“bogus”无效" in html(client.get("/orders/", {"status": "bogus"}))
    assert "日期“2026-13-01”无效" in html(client.get("/orders/", {"day_from": "2026-13-01"}))
    tomorrow = timezone.localdate() + timedelta(days=3)
    assert 'data-testid="empty"' in html(client.get("/orders/", {"day_from": tomorrow.isoformat()}))
    partial = html(client.get("/orders/", {"q": "秀兰"}, headers={"HX-Request": "true"}))
    assert "<html" not in partial and f"No.{second.pk}" in partial


def test_the_list_sorts_and_paginates_by_fifty(cast, client, elder, item, provider):
    start, end = window()
    for n in range(51):
        services.order_create(
            actor="tests",
            elder=elder,
            item=item,
            channel="phone",
            window_start=start + timedelta(minutes=n),
            window_end=end + timedelta(minutes=n),
            dispatch=False,
        )
    client.force_login(cast.operator)
    first = html(client.get("/orders/"))
    assert "第 1 / 2 页" in first and "共 51 张工单" in first
    newest, oldest = Order.objects.order_by("-id")[0], Order.objects.order_by("id")[0]
    assert f"No.{newest.pk}<" in first and f"No.{oldest.pk}<" not in first
    assert f"No.{oldest.pk}<" in html(client.get("/orders/", {"page": 2}))
    assert f"No.{oldest.pk}<" in html(client.get("/orders/", {"sort": "window"}))
    assert "排序方式“nonsense”无效" in html(client.get("/orders/", {"sort": "nonsense"}))


# --- a new order ----------------------------------------------------------------------------------
def test_the_form_finds_the_elder_and_takes_an_order_that_is_dispatched(cast, client, elder, provider):
    client.force_login(cast.operator)
    found = html(client.get("/orders/new/", {"q": "建国"}, headers={"HX-Request": "true"}))
    assert "张建国" in found and f"?elder={elder.pk}" in found and elder.id_number not in found
    page = html(client.get("/orders/new/", {"elder": elder.pk}))
    assert elder.masked_id_number in page and elder.id_number not in page
    assert 'value="phone" selected' in page  # an operator takes orders on the phone
    start, end = window(3)
    response = client.post(
        f"/orders/new/?elder={elder.pk}",
        {
            "elder": elder.pk,
            "item": "bathing",
            "channel": "phone",
            "window_start": local(start),
            "window_end": local(end),
            "note": "老人听力不好",
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302 and response.url == f"/orders/{order.pk}/"
    detail = html(client.get(response.url))
    assert "已自动派给 和平区测试服务中心" in detail
    assert f'data-testid="confirm-code">{order.confirm_code}<' in detail
    assert order.status == S.DISPATCHED and order.created_by == cast.operator


def test_a_community_worker_orders_through_the_community_channel(cast, client, elder, provider):
    client.force_login(cast.community_worker)
    page = html(client.get("/orders/new/", {"elder": elder.pk}))
    assert 'value="community" selected' in page


def test_form_errors_are_shown_beside_the_fields_in_chinese_and_nothing_is_written(
    cast, client, elder, provider
):
    client.force_login(cast.operator)
    start, end = window(3)
    page = html(
        client.post(
            "/orders/new/",
            {
                "elder": elder.pk,
                "item": "bathing",
                "channel": "phone",
                "window_start": local(end),
                "window_end": local(start),
            },
        ),
        400,
    )
    assert 'data-testid="error-window_end"' in page and "期望服务结束时间应晚于开始时间" in page
    page = html(client.post("/orders/new/", {"elder": elder.pk, "channel": "phone"}), 400)
    assert 'data-testid="error-item"' in page and "请选择服务项目" in page
    assert 'data-testid="error-window_start"' in page and "请填写期望服务开始时间" in page
    page = html(client.post("/orders/new/", {"item": "bathing", "channel": "phone"}), 400)
    assert 'data-testid="error-elder"' in page and "请先查找并选择老年人" in page
    assert not Order.objects.exists() and not OrderEvent.objects.exists()


def test_an_elder_outside_the_scope_cannot_be_ordered_for(cast, client, elder, provider):
    client.force_login(cast.other_community_worker)
    page = html(client.get("/orders/new/", {"elder": elder.pk}))
    assert "未找到该老人档案" in page and elder.name not in page
    assert "没有找到该老人" in html(client.get("/orders/new/", {"q": "张建国"}))
    start, end = window(3)
    data = {
        "elder": elder.pk,
        "item": "bathing",
        "channel": "community",
        "window_start": local(start),
        "window_end": local(end),
    }
    assert "未找到该老人档案" in html(client.post("/orders/new/", data), 400)
    assert not Order.objects.exists()


def test_a_provider_cannot_take_orders(cast, client):
    client.force_login(cast.provider_admin)
    assert client.get("/orders/new/").status_code == 403


# --- the order page -------------------------------------------------------------------------------
def test_the_order_page_shows_the_visit_offers_and_the_whole_history(cast, client, order_at, elder):
    order = order_at(S.RATED)
    client.force_login(cast.community_worker)
    page = html(client.get(f"/orders/{order.pk}/"))
    for label in ("下单", "派单", "接单", "分配护理员", "签到", "签退", "确认服务", "评价"):
        assert f'data-testid="history-action">{label}<' in page
    assert "已分配护理员 → 服务中" in page
    assert "和平区测试服务中心" in page and "刘秀英" in page and "85.00" in page
    assert "老人报确认码" in page and "个人自付 85.00 元" in page and "5 星" in page
    assert "洗浴" in page and 'data-testid="offers"' in page
    assert elder.masked_id_number in page and elder.id_number not in page


def test_the_confirmation_code_is_shown_to_staff_and_never_to_the_provider(cast, client, order_at):
    order = order_at(S.ACCEPTED)
    client.force_login(cast.operator)
    assert order.confirm_code in html(client.get(f"/orders/{order.pk}/"))
    client.force_login(cast.provider_admin)
    page = html(client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="confirm-code"' not in page and order.confirm_code not in page
    assert order.confirm_code not in html(client.get("/orders/queue/"))


def test_cancelling_needs_a_reason_beside_the_field_then_cancels_with_a_message(cast, client, order_at):
    order = order_at(S.DISPATCHED)
    client.force_login(cast.operator)
    page = html(client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="cancel-form"' in page and "return confirm(" in page
    page = html(client.post(f"/orders/{order.pk}/cancel/", {"reason": "  "}), 400)
    assert 'data-testid="error-cancel-reason"' in page and "请填写取消原因" in page
    assert Order.objects.get(pk=order.pk).status == S.DISPATCHED
    assert client.get(f"/orders/{order.pk}/cancel/").status_code == 405
    response = client.post(f"/orders/{order.pk}/cancel/", {"reason": "老人住院"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert f"服务工单 No.{order.pk} 已取消" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
    assert 'data-testid="cancel-form"' not in response.content.decode()


def test_a_dispatcher_dispatches_by_hand_and_redispatches_with_a_reason(
    cast, client, elder, item, provider, second_provider, other_provider
):
    order = unplaced_order(cast, elder, item)
    client.force_login(cast.district_staff)
    page = html(client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="dispatch-form"' in page and "和平区第二服务中心" in page
    assert "河东区测试服务中心" not in page  # does not serve the community
    page = html(client.post(f"/orders/{order.pk}/dispatch/", {"provider": other_provider.pk}), 400)
    assert 'data-testid="error-dispatch-provider"' in page and "未覆盖该社区" in page
    assert Order.objects.get(pk=order.pk).status == S.CREATED
    response = client.post(f"/orders/{order.pk}/dispatch/", {"provider": second_provider.pk}, follow=True)
    assert f"No.{order.pk} 已派给 和平区第二服务中心" in response.content.decode()
    assert Order.objects.get(pk=order.pk).provider_id == second_provider.pk
    page = html(client.post(f"/orders/{order.pk}/redispatch/", {"provider": provider.pk, "reason": ""}), 400)
    assert 'data-testid="error-redispatch-reason"' in page and "请填写改派原因" in page
    assert Order.objects.get(pk=order.pk).provider_id == second_provider.pk
    client.post(f"/orders/{order.pk}/redispatch/", {"provider": provider.pk, "reason": "机构电话无人接听"})
    order.refresh_from_db()
    assert order.provider_id == provider.pk and order.status == S.DISPATCHED
    assert order.events.filter(action="redispatch", note="机构电话无人接听").exists()


def test_an_operator_may_not_dispatch(cast, client, order_at, second_provider):
    order = order_at(S.DISPATCHED)
    client.force_login(cast.operator)
    page = html(client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="redispatch-form"' not in page
    response = client.post(f"/orders/{order.pk}/redispatch/", {"provider": second_provider.pk, "reason": "x"})
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).provider_id != second_provider.pk


def test_the_provider_accepts_and_assigns_on_the_order_page(cast, client, order_at, worker):
    order = order_at(S.DISPATCHED)
    client.force_login(cast.provider_admin)
    page = html(client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="accept"' in page and 'data-testid="cancel-form"' not in page
    response = client.post(f"/orders/{order.pk}/accept/", follow=True)
    assert "已接单" in response.content.decode() and 'data-testid="assign-form"' in response.content.decode()
    page = html(client.post(f"/orders/{order.pk}/assign/", {"worker": ""}), 400)
    assert 'data-testid="error-assign-worker"' in page and "请选择护理员" in page
    client.post(f"/orders/{order.pk}/assign/", {"worker": worker.pk})
    order.refresh_from_db()
    assert order.status == S.ASSIGNED and order.worker_id == worker.pk


def test_an_illegal_step_is_explained_on_the_page(cast, client, order_at):
    order = order_at(S.ACCEPTED)
    client.force_login(cast.provider_admin)
    page = html(client.post(f"/orders/{order.pk}/accept/"), 409)
    assert "“已接单”，不能接单" in page


def test_the_operator_confirms_by_phone_and_rates_for_the_elder(cast, client, order_at):
    order = order_at(S.CHECKED_OUT)
    client.force_login(cast.operator)
    page = html(client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="phone-confirm-form"' in page and 'data-testid="family-link"' in page
    page = html(client.post(f"/orders/{order.pk}/confirm/", {"note": ""}), 400)
    assert 'data-testid="error-confirm-note"' in page and "请记录电话确认的情况" in page
    assert Order.objects.get(pk=order.pk).status == S.CHECKED_OUT
    response = client.post(f"/orders/{order.pk}/confirm/", {"note": "老人确认护理员已上门"}, follow=True)
    assert "已电话确认服务" in response.content.decode()
    assert Order.objects.get(pk=order.pk).visit.confirm_method == "operator"
    page = html(client.post(f"/orders/{order.pk}/rate/", {"score": "7"}), 400)
    assert 'data-testid="error-rate-score"' in page and "评分应为 1～5 的整数" in page
    client.post(f"/orders/{order.pk}/rate/", {"score": "4", "comment": "挺好"})
    order.refresh_from_db()
    assert order.status == S.RATED and order.visit.rating == 4


def test_a_sampled_visit_takes_its_follow_up_result(cast, client, order_at):
    order = order_at(S.CONFIRMED)
    FollowUp.objects.get_or_create(visit=order.visit, defaults={"sampled_at": timezone.now()})
    client.force_login(cast.community_worker)
    page = html(client.get(f"/orders/{order.pk}/"))
    assert 'data-testid="follow-up-form"' in page
    page = html(client.post(f"/orders/{order.pk}/follow-up/", {"outcome": ""}), 400)
    assert "请选择回访结果" in page
    response = client.post(
        f"/orders/{order.pk}/follow-up/", {"outcome": "satisfied", "note": "满意"}, follow=True
    )
    assert "回访结果已记录：满意" in response.content.decode()
    assert FollowUp.objects.get(visit=order.visit).outcome == "satisfied"


# --- the board and the queue ----------------------------------------------------------------------
def test_the_board_shows_three_columns_refreshes_and_dispatches(
    cast, client, elder, item, provider, order_at
):
    unplaced = unplaced_order(cast, elder, item)
    waiting = order_at(S.DISPATCHED)
    accepted = order_at(S.ACCEPTED)
    client.force_login(cast.district_staff)
    page = html(client.get("/orders/board/"))
    assert 'hx-trigger="every 30s' in page
    assert f'data-testid="unplaced-{unplaced.pk}"' in page
    assert f'data-testid="waiting-{waiting.pk}"' in page and "剩 " in page
    assert f'data-testid="unassigned-{accepted.pk}"' in page
    fragment = html(client.get("/orders/board/", headers={"HX-Request": "true"}))
    assert "<html" not in fragment and f'data-testid="unplaced-{unplaced.pk}"' in fragment
    response = client.post(
        f"/orders/{unplaced.pk}/dispatch/", {"provider": provider.pk, "next": "/orders/board/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/orders/board/"
    assert f'data-testid="waiting-{unplaced.pk}"' in response.content.decode()
    # A failure from the board is a message there, not a page of its own.
    response = client.post(
        f"/orders/{accepted.pk}/dispatch/", {"provider": provider.pk, "next": "/orders/board/"}, follow=True
    )
    assert "“已接单”，不能派单" in response.content.decode()
    # Somewhere else than our own pages is not followed.
    response = client.post(
        f"/orders/{waiting.pk}/cancel/", {"reason": "重复下单", "next": "https://example.com/"}
    )
    assert response.url == f"/orders/{waiting.pk}/"


def test_the_queue_accepts_rejects_and_assigns(cast, client, order_at, second_provider, worker):
    first = order_at(S.DISPATCHED)
    second = order_at(S.DISPATCHED)
    client.force_login(cast.provider_admin)
    page = html(client.get("/orders/queue/"))
    assert f'data-testid="to-accept-{first.pk}"' in page and f'data-testid="to-accept-{second.pk}"' in page
    client.post(f"/orders/{first.pk}/accept/", {"next": "/orders/queue/"})
    response = client.post(
        f"/orders/{second.pk}/reject/", {"reason": "", "next": "/orders/queue/"}, follow=True
    )
    assert "请填写拒单原因" in response.content.decode()
    assert Order.objects.get(pk=second.pk).status == S.DISPATCHED
    client.post(f"/orders/{second.pk}/reject/", {"reason": "人手不足", "next": "/orders/queue/"})
    assert Order.objects.get(pk=second.pk).provider_id == second_provider.pk
    page = html(client.get("/orders/queue/"))
    assert f'data-testid="to-assign-{first.pk}"' in page and f"to-accept-{second.pk}" not in page
    response = client.post(
        f"/orders/{first.pk}/assign/", {"worker": worker.pk, "next": "/orders/queue/"}, follow=True
    )
    assert f'data-testid="in-hand-{first.pk}"' in response.content.decode()
    assert Order.objects.get(pk=first.pk).worker_id == worker.pk


def test_another_provider_cannot_accept(cast, client, order_at, other_provider):
    order = order_at(S.DISPATCHED)
    client.force_login(cast.other_provider_admin)
    assert client.post(f"/orders/{order.pk}/accept/").status_code == 404
    assert Order.objects.get(pk=order.pk).status == S.DISPATCHED


# --- the elder's tab ------------------------------------------------------------------------------
def test_the_elder_page_has_a_service_orders_tab(cast, client, order_at, elder):
    order = order_at(S.ACCEPTED)
    client.force_login(cast.community_worker)
    page = html(client.get(f"/registry/elders/{elder.pk}/"))
    assert "服务工单" in page and f"No.{order.pk}" in page
    assert f"/orders/new/?elder={elder.pk}" in page
    client.force_login(cast.provider_admin)
    page = html(client.get(f"/registry/elders/{elder.pk}/"))
    assert f"No.{order.pk}" in page and f"/orders/new/?elder={elder.pk}" not in page
