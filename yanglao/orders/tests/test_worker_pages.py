"""The care worker's phone pages and the family's link: a worker sees today's visits with the elder's name,
address and item (never ID or phone numbers, never the confirmation code), takes, checks in by position,
checks out, uploads photos and enters the code; errors are explained in Chinese and write nothing; the
family confirms and rates without signing in, and a tampered or expired link is refused."""

import io
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yanglao.accounts.roles import Role
from yanglao.core.testing import HOME_COMMUNITY, make_user
from yanglao.orders import services
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import Order, Visit, VisitPhoto
from yanglao.orders.tests.conftest import FAR, HOME, NEAR


def html(response, status=200):
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.content.decode()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded photos go to a temporary folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }


@pytest.fixture
def phone_elder(make_elder):
    return make_elder(
        HOME_COMMUNITY,
        name="王桂芳",
        phone="13911112222",
        latitude=HOME[0],
        longitude=HOME[1],
        address="和平区劝业场街2号",
    )


def png(colour=(200, 30, 30), name="photo.png"):
    buffer = io.BytesIO()
    image = Image.new("RGB", (64, 48), colour)
    for x in range(0, 64, 8):  # a pattern, so that two colours give two different hashes
        for y in range(48):
            image.putpixel((x, y), (x * 4 % 256, y * 5 % 256, 90))
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def secret(order):
    """A confirmation code that no page can show by chance (an order id, a time)."""
    Order.objects.filter(pk=order.pk).update(confirm_code="907153")
    order.refresh_from_db()
    return order


# --- today's visits -------------------------------------------------------------------------------
def test_the_day_lists_the_workers_visits_and_the_orders_to_take(cast, client, order_at, phone_elder):
    mine = secret(order_at(S.ASSIGNED, elder=phone_elder))
    free = secret(order_at(S.ACCEPTED))
    client.force_login(cast.care_worker)
    page = html(client.get("/orders/worker/"))
    assert f'data-testid="visit-{mine.pk}"' in page and "王桂芳" in page and "和平区劝业场街2号" in page
    assert "助浴" in page and "到达后签到" in page
    assert f"geo:{HOME[0]:.6f},{HOME[1]:.6f}?q={HOME[0]:.6f},{HOME[1]:.6f}(" in page
    assert "https://" not in page.split("<main", 1)[1]  # no web map links
    assert f'data-testid="takeable-{free.pk}"' in page and "抢单" in page
    assert "907153" not in page
    assert phone_elder.id_number not in page and phone_elder.masked_id_number not in page
    assert "13911112222" not in page and phone_elder.masked_phone not in page


def test_the_phone_pages_are_for_care_workers_only(cast, client, order_at):
    order = order_at(S.ASSIGNED)
    for who in ("operator", "provider_admin", "district_staff", "auditor"):
        client.force_login(getattr(cast, who))
        assert client.get("/orders/worker/").status_code == 403
        assert client.get(f"/orders/worker/{order.pk}/").status_code == 403
        assert (
            client.post(
                f"/orders/worker/{order.pk}/check-in/", {"latitude": 39.1, "longitude": 117.2}
            ).status_code
            == 403
        )
    client.logout()
    assert "/accounts/login/" in client.get("/orders/worker/").url
    assert Order.objects.get(pk=order.pk).status == S.ASSIGNED


def test_a_worker_of_another_provider_cannot_open_the_visit(cast, client, order_at, other_provider):
    order = order_at(S.ASSIGNED)
    stranger = make_user(
        "other_care_worker", Role.CARE_WORKER, "120102", cast.organisations["other_provider"]
    )
    client.force_login(stranger)
    assert client.get(f"/orders/worker/{order.pk}/").status_code == 404
    assert (
        client.post(
            f"/orders/worker/{order.pk}/check-in/", {"latitude": HOME[0], "longitude": HOME[1]}
        ).status_code
        == 404
    )
    assert f"visit-{order.pk}" not in html(client.get("/orders/worker/"))


def test_a_care_worker_opening_the_staff_page_goes_to_the_phone_page(cast, client, order_at):
    order = order_at(S.ASSIGNED)
    client.force_login(cast.care_worker)
    response = client.get(f"/orders/{order.pk}/")
    assert response.status_code == 302 and response.url == f"/orders/worker/{order.pk}/"


def test_taking_an_order_assigns_it_to_the_worker(cast, client, order_at, worker):
    order = order_at(S.ACCEPTED)
    client.force_login(cast.care_worker)
    response = client.post(f"/orders/worker/{order.pk}/take/", follow=True)
    assert response.redirect_chain[-1][0] == f"/orders/worker/{order.pk}/"
    assert "接单成功" in response.content.decode()
    assert Order.objects.get(pk=order.pk).worker_id == worker.pk


# --- the visit ------------------------------------------------------------------------------------
def test_check_in_without_a_position_is_explained_and_writes_nothing(cast, client, order_at):
    order = order_at(S.ASSIGNED)
    client.force_login(cast.care_worker)
    page = html(client.get(f"/orders/worker/{order.pk}/"))
    assert "getCurrentPosition" in page and "enableHighAccuracy: true" in page and "timeout: 15000" in page
    assert "您拒绝了位置权限" in page  # the message for a denied permission, shown by the page's script
    page = html(client.post(f"/orders/worker/{order.pk}/check-in/", {"latitude": "", "longitude": ""}), 400)
    assert "无法获取定位：请允许浏览器使用位置信息后重试" in page
    assert not Visit.objects.exists() and Order.objects.get(pk=order.pk).status == S.ASSIGNED


def test_check_in_near_home_shows_the_distance(cast, client, order_at):
    order = order_at(S.ASSIGNED)
    client.force_login(cast.care_worker)
    response = client.post(
        f"/orders/worker/{order.pk}/check-in/",
        {"latitude": NEAR[0], "longitude": NEAR[1], "accuracy": "12"},
        follow=True,
    )
    page = response.content.decode()
    assert "已签到，距老人住址约 1" in page and 'data-testid="distance"' in page
    assert 'data-testid="geofence-warning"' not in page
    visit = Visit.objects.get()
    assert visit.check_in_accuracy_m == 12 and 100 < visit.check_in_distance_m < 200


def test_check_in_far_from_home_warns_of_the_geofence(cast, client, order_at):
    order = order_at(S.ASSIGNED)
    client.force_login(cast.care_worker)
    response = client.post(
        f"/orders/worker/{order.pk}/check-in/", {"latitude": FAR[0], "longitude": FAR[1]}, follow=True
    )
    page = response.content.decode()
    assert 'data-testid="geofence-warning"' in page and "超出允许范围（300 米）" in page
    assert Order.objects.get(pk=order.pk).status == S.CHECKED_IN  # flagged, not refused


def test_check_out_needs_what_was_done_then_offers_the_code(cast, client, order_at):
    order = secret(order_at(S.CHECKED_IN))
    client.force_login(cast.care_worker)
    page = html(client.get(f"/orders/worker/{order.pk}/"))
    assert 'name="items_done" value="上门或到助浴点协助洗浴"' in page
    assert 'capture="environment"' in page and 'accept="image/*"' in page
    page = html(
        client.post(
            f"/orders/worker/{order.pk}/check-out/", {"latitude": HOME[0], "longitude": HOME[1], "record": ""}
        ),
        400,
    )
    assert "请勾选完成的服务内容或填写服务记录" in page
    assert Order.objects.get(pk=order.pk).status == S.CHECKED_IN
    response = client.post(
        f"/orders/worker/{order.pk}/check-out/",
        {
            "latitude": HOME[0],
            "longitude": HOME[1],
            "items_done": ["上门或到助浴点协助洗浴"],
            "record": "老人精神好",
        },
        follow=True,
    )
    page = response.content.decode()
    assert 'data-testid="code-form"' in page and 'inputmode="numeric"' in page
    assert "907153" not in page
    assert Order.objects.get(pk=order.pk).visit.items_done == ["上门或到助浴点协助洗浴"]


def test_photos_are_uploaded_shown_as_thumbnails_and_checked(cast, client, order_at):
    order = order_at(S.CHECKED_IN)
    client.force_login(cast.care_worker)
    page = html(client.post(f"/orders/worker/{order.pk}/photos/", {}), 400)
    assert "请选择或拍摄要上传的照片" in page
    bad = SimpleUploadedFile("note.png", b"not a picture", content_type="image/png")
    page = html(client.post(f"/orders/worker/{order.pk}/photos/", {"photos": [bad]}), 400)
    assert "上传的文件不是可识别的图片" in page and not VisitPhoto.objects.exists()
    response = client.post(
        f"/orders/worker/{order.pk}/photos/", {"photos": [png(), png((10, 200, 10), "b.png")]}, follow=True
    )
    assert "已上传 2 张服务照片" in response.content.decode()
    photo = VisitPhoto.objects.first()
    assert f"/orders/{order.pk}/photos/{photo.pk}/" in response.content.decode()
    picture = client.get(f"/orders/{order.pk}/photos/{photo.pk}/")
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"
    client.force_login(cast.operator)
    assert client.get(f"/orders/{order.pk}/photos/{photo.pk}/").status_code == 200
    client.force_login(cast.other_district_staff)
    assert client.get(f"/orders/{order.pk}/photos/{photo.pk}/").status_code == 404


def test_a_wrong_code_says_how_many_tries_are_left_and_the_right_one_confirms(cast, client, order_at):
    order = order_at(S.CHECKED_OUT)
    client.force_login(cast.care_worker)
    wrong = "000000" if order.confirm_code != "000000" else "111111"
    page = html(client.post(f"/orders/worker/{order.pk}/confirm/", {"code": wrong}), 400)
    assert 'data-testid="error-code"' in page and "确认码不正确，还可以尝试 4 次" in page
    assert Order.objects.get(pk=order.pk).status == S.CHECKED_OUT
    response = client.post(f"/orders/worker/{order.pk}/confirm/", {"code": order.confirm_code}, follow=True)
    page = response.content.decode()
    assert "老人已确认服务" in page and 'data-testid="visit-done"' in page
    assert order.confirm_code not in page
    assert Order.objects.get(pk=order.pk).status == S.CONFIRMED


@pytest.mark.parametrize("status", [S.ASSIGNED, S.CHECKED_IN, S.CHECKED_OUT, S.CONFIRMED])
def test_the_confirmation_code_is_never_on_a_care_workers_page(cast, client, order_at, status):
    order = order_at(status)
    code = order.confirm_code
    secret(order)
    client.force_login(cast.care_worker)
    for url in ("/orders/worker/", f"/orders/worker/{order.pk}/"):
        assert "907153" not in html(client.get(url))
    assert code  # the order had one all along


# --- the family's link ----------------------------------------------------------------------------
def test_the_family_confirms_and_rates_without_signing_in(client, order_at, phone_elder):
    order = order_at(S.CHECKED_OUT, elder=phone_elder)
    url = f"/orders/family/{services.family_token(order)}/"
    page = html(client.get(url))
    assert "助浴" in page and "刘秀英" in page and 'data-testid="family-confirm"' in page
    assert "王桂芳" not in page and "王**" in page
    assert phone_elder.id_number not in page and phone_elder.masked_id_number not in page
    assert "13911112222" not in page and phone_elder.masked_phone not in page
    assert order.confirm_code not in page
    response = client.post(url, {"action": "confirm"}, follow=True)
    assert (
        "已确认服务" in response.content.decode() and 'data-testid="family-rate"' in response.content.decode()
    )
    assert Order.objects.get(pk=order.pk).visit.confirm_method == "family"
    page = html(client.post(url, {"action": "rate", "score": ""}), 400)
    assert 'data-testid="error-score"' in page and "评分应为 1～5 的整数" in page
    response = client.post(url, {"action": "rate", "score": "5", "comment": "护理员很细心"}, follow=True)
    assert (
        "感谢您的评价" in response.content.decode()
        and 'data-testid="family-done"' in response.content.decode()
    )
    order.refresh_from_db()
    assert (
        order.status == S.RATED and order.visit.rating == 5 and order.visit.rating_comment == "护理员很细心"
    )


def test_a_tampered_or_expired_link_is_refused(client, order_at):
    order = order_at(S.CHECKED_OUT)
    token = services.family_token(order)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    page = html(client.get(f"/orders/family/{tampered}/"), 400)
    assert "确认链接无效" in page
    assert client.post(f"/orders/family/{tampered}/", {"action": "confirm"}).status_code == 400
    with mock.patch("time.time", return_value=time.time() - timedelta(days=8).total_seconds()):
        old = services.family_token(order)
    page = html(client.get(f"/orders/family/{old}/"), 409)
    assert "确认链接已过期" in page
    assert Order.objects.get(pk=order.pk).status == S.CHECKED_OUT


def test_the_family_is_told_to_wait_before_the_worker_checks_out(client, order_at):
    order = order_at(S.CHECKED_IN)
    page = html(client.get(f"/orders/family/{services.family_token(order)}/"))
    assert 'data-testid="family-wait"' in page and 'data-testid="family-confirm"' not in page
