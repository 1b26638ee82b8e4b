"""A service order's whole life in real browsers: an operator takes it on the form and it is dispatched
automatically, the provider accepts and assigns it on its queue, the care worker — on a 375×667 phone
with its position granted — checks in, checks out with the tasks ticked, uploads a photo and enters the
code the elder reads out, the family rates it through their link, and the order page shows it all."""

import importlib
import os
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from yanglao.core.browser import DEFAULT_LOCALE, DEFAULT_TIMEOUT_MS, launch_chromium, login
from yanglao.core.testing import HOME_COMMUNITY, PASSWORD
from yanglao.orders.enums import OrderStatus as S
from yanglao.orders.models import Order
from yanglao.orders.tests.conftest import FAR, HOME, NEAR

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("YANGLAO_SCREENSHOTS")  # a folder to keep screenshots in, when looking at layout
PHONE = {"width": 375, "height": 667}


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def seeded_catalogue(tianjin):
    """The catalogue again after a transactional test flushed it (its migration seeds it only once)."""
    importlib.import_module("yanglao.providers.migrations.0002_catalogue_items").seed(apps, None)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }


@contextmanager
def browser():
    with launch_chromium() as chromium:
        yield chromium


def new_page(chromium, **options):
    context = chromium.new_context(locale=DEFAULT_LOCALE, **options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def phone(chromium, at):
    """A phone-sized page that has been allowed to read its position, standing at `at`."""
    return new_page(
        chromium,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"latitude": at[0], "longitude": at[1], "accuracy": 15},
    )


def sign_in(page, url, username):
    page.context.clear_cookies()
    login(page, url, username, PASSWORD)


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_an_order_from_the_phone_call_to_the_familys_rating(
    live_server,
    live_cast,
    seeded_catalogue,
    provider,
    worker,
    make_elder,
    tmp_path,
):
    make_elder(
        HOME_COMMUNITY, name="赵淑珍", latitude=HOME[0], longitude=HOME[1], address="和平区劝业场街8号"
    )
    picture = tmp_path / "visit.png"
    Image.new("RGB", (120, 90), (30, 120, 200)).save(picture)
    url = live_server.url
    with browser() as chromium:
        # The operator takes the call: finds the elder, picks the item and the time.
        staff = new_page(chromium, viewport={"width": 1280, "height": 900})
        sign_in(staff, url, live_cast.operator.username)
        staff.goto(f"{url}/orders/new/")
        staff.get_by_test_id("elder-search").fill("淑珍")
        staff.get_by_test_id("elder-matches").get_by_role("link", name="选择").click()
        expect(staff.get_by_test_id("chosen-elder")).to_contain_text("赵淑珍")
        staff.get_by_label("服务项目").select_option("bathing")
        now = timezone.now()
        staff.get_by_label("期望服务开始").fill(local(now))
        staff.get_by_label("期望服务结束").fill(local(now + timedelta(hours=2)))
        staff.get_by_test_id("submit-order").click()
        expect(staff.get_by_test_id("order-provider")).to_have_text("和平区测试服务中心")
        code = staff.get_by_test_id("confirm-code").inner_text().strip()
        order = Order.objects.get()
        assert order.status == S.DISPATCHED and code == order.confirm_code
        shot(staff, "order_created")

        # The provider accepts and gives it to its care worker.
        sign_in(staff, url, live_cast.provider_admin.username)
        staff.goto(f"{url}/orders/queue/")
        staff.get_by_test_id(f"accept-{order.pk}").click()
        staff.get_by_test_id(f"worker-{order.pk}").select_option(str(worker.pk))
        staff.get_by_test_id(f"assign-{order.pk}").click()
        expect(staff.get_by_test_id(f"in-hand-{order.pk}")).to_contain_text("刘秀英")

        # The care worker, on the phone at the door.
        mobile = phone(chromium, NEAR)
        sign_in(mobile, url, live_cast.care_worker.username)
        mobile.goto(f"{url}/orders/worker/")
        card = mobile.get_by_test_id(f"visit-{order.pk}")
        expect(card).to_contain_text("赵淑珍")
        expect(card).to_contain_text("和平区劝业场街8号")
        assert card.get_by_test_id(f"nav-{order.pk}").get_attribute("href").startswith("geo:")
        shot(mobile, "worker_day")
        card.get_by_test_id(f"open-{order.pk}").click()
        mobile.get_by_test_id("check-in").click()
        expect(mobile.get_by_test_id("distance")).to_contain_text("距老人住址约 1")
        expect(mobile.get_by_test_id("geofence-warning")).to_have_count(0)
        mobile.locator("#photos").set_input_files(str(picture))
        mobile.get_by_test_id("upload").click()
        expect(mobile.get_by_test_id("photos").locator("img")).to_have_count(1)
        form = mobile.get_by_test_id("check-out-form")
        for box in form.locator("input[name=items_done]").all():
            box.check()
        form.get_by_label("服务记录").fill("洗浴顺利，皮肤无异常")
        mobile.get_by_test_id("check-out").click()
        mobile.get_by_test_id("code").fill(code)
        shot(mobile, "worker_code")
        mobile.get_by_test_id("confirm").click()
        expect(mobile.get_by_test_id("visit-done")).to_be_visible()
        assert code not in mobile.content()

        # The operator sends the family the link; they open it on their phone and rate.
        sign_in(staff, url, live_cast.operator.username)
        staff.goto(f"{url}/orders/{order.pk}/")
        link = staff.get_by_test_id("family-link").input_value()
        mobile.context.clear_cookies()
        mobile.goto(link)
        expect(mobile.get_by_test_id("family-item")).to_have_text("助浴")
        mobile.get_by_text("非常满意").click()
        mobile.get_by_label("想说的话（可不填）").fill("护理员很耐心")
        mobile.get_by_test_id("family-rate").click()
        expect(mobile.get_by_test_id("family-done")).to_be_visible()
        shot(mobile, "family_done")

        # The whole history on the order page.
        staff.reload()
        history = staff.get_by_test_id("history-action")
        expect(history).to_have_text(
            ["下单", "派单", "接单", "分配护理员", "签到", "签退", "确认服务", "评价"]
        )
        expect(staff.get_by_test_id("rating")).to_contain_text("5 星")
        expect(staff.get_by_test_id("photos").locator("img")).to_have_count(1)
        shot(staff, "order_done")
    order.refresh_from_db()
    assert order.status == S.RATED and order.visit.rating == 5 and order.visit.confirm_method == "code"
    assert order.visit.items_done and order.visit.photos.count() == 1


def test_a_check_in_far_from_home_shows_the_geofence_warning(
    live_server,
    live_cast,
    seeded_catalogue,
    order_at,
):
    order = order_at(S.ASSIGNED)
    with browser() as chromium:
        mobile = phone(chromium, FAR)
        sign_in(mobile, live_server.url, live_cast.care_worker.username)
        mobile.goto(f"{live_server.url}/orders/worker/{order.pk}/")
        mobile.get_by_test_id("check-in").click()
        expect(mobile.get_by_test_id("geofence-warning")).to_contain_text("超出允许范围（300 米）")
        shot(mobile, "worker_far")
    assert Order.objects.get(pk=order.pk).status == S.CHECKED_IN
