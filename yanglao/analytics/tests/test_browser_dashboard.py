"""The home dashboard in a real browser: login, the Tianjin figures and chart, scope, language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from yanglao.core.browser import login
from yanglao.core.testing import HOME_DISTRICT, OTHER_DISTRICT, PASSWORD

pytestmark = pytest.mark.browser

TIANJIN_DISTRICTS = 16


@pytest.fixture
def users(tianjin, transactional_db, cast):
    """The cast, created after the regions and committed (transactional_db), so the server sees them."""
    return cast


def test_city_admin_sees_tianjin_dashboard_with_local_assets_only(browser_page, live_server, users):
    page = browser_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    login(page, live_server.url, users.city_admin.username, PASSWORD)

    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/(\?.*)?$"))
    expect(page).to_have_title(re.compile("天津市"))
    expect(page.get_by_test_id("dashboard-title")).to_contain_text("天津市")
    expect(page.get_by_test_id("children-table").locator("tbody tr")).to_have_count(TIANJIN_DISTRICTS)
    expect(page.get_by_test_id("child-count")).to_have_text(str(TIANJIN_DISTRICTS))
    expect(page.locator("#chart canvas").first).to_be_visible()

    assert requested, "the page made no requests at all"
    foreign = [url for url in requested if not url.startswith(live_server.url + "/")]
    assert not foreign, f"requests left the live server (assets must be served locally): {foreign}"


def test_wrong_password_shows_chinese_error_and_stays_on_login(browser_page, live_server, users):
    page = browser_page

    login(page, live_server.url, users.city_admin.username, "not-the-password")

    expect(page.get_by_test_id("login-error")).to_contain_text("用户名或密码不正确")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/accounts/login/"))
    expect(page.locator("#id_password")).to_be_visible()


def test_district_staff_sees_own_streets_and_is_refused_another_district(browser_page, live_server, users):
    from yanglao.regions.models import Region

    page = browser_page
    streets = list(
        Region.objects.filter(parent_id=HOME_DISTRICT).order_by("code").values_list("name", flat=True)
    )
    assert streets, "和平区 has no streets loaded"

    login(page, live_server.url, users.district_staff.username, PASSWORD)

    expect(page.get_by_test_id("dashboard-title")).to_contain_text("和平区")
    rows = page.get_by_test_id("children-table").locator("tbody tr")
    expect(rows).to_have_count(len(streets))
    expect(rows.locator("td:first-child")).to_have_text(streets)
    expect(page.get_by_test_id("children-table")).to_contain_text("劝业场街道")

    response = page.goto(f"{live_server.url}/?region={OTHER_DISTRICT}")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_contain_text("无权访问")
    expect(page.get_by_test_id("children-table")).to_have_count(0)


def test_english_switch_sets_html_lang(browser_page, live_server, users):
    page = browser_page
    login(page, live_server.url, users.city_admin.username, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/(\?.*)?$"))
