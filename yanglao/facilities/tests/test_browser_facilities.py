"""Facilities in a real browser: district staff register a day-care centre through the cascading
region picker, see a rule's error beside its field, then find the centre with the list's filters."""

import pytest
from playwright.sync_api import expect

from yanglao.core.browser import login
from yanglao.core.testing import PASSWORD
from yanglao.facilities import services
from yanglao.facilities.models import Facility
from yanglao.facilities.tests.conftest import institution

pytestmark = pytest.mark.browser


def test_register_through_the_region_picker_then_filter_the_list(
    browser_page, live_server, live_cast, tmp_path
):
    page = browser_page
    services.facility_create(actor="tests", **institution())
    login(page, live_server.url, live_cast.district_staff.username, PASSWORD)
    page.goto(f"{live_server.url}/facilities/")
    rows = page.get_by_test_id("facility-table").locator("tbody tr")
    expect(rows).to_have_count(1)

    page.get_by_test_id("create-facility").click()
    page.locator("#id_name").fill("花园路社区日间照料中心")
    page.locator("#id_kind").select_option("day_care")
    page.get_by_test_id("region-level-1").select_option("120101001")  # 劝业场街道: htmx loads its communities
    page.get_by_test_id("region-level-2").select_option("120101001001")
    page.locator("#id_operating_model").select_option("public_public")
    page.locator("#id_beds").fill("8")
    page.get_by_label("助餐").check()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("error-beds")).to_contain_text("社区日间照料中心不设床位")
    expect(page.get_by_test_id("region-level-2")).to_have_value("120101001001")  # the choice is kept

    page.locator("#id_beds").fill("")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("facility-name")).to_have_text("花园路社区日间照料中心")
    assert Facility.objects.get(kind_id="day_care").region_id == "120101001001"

    page.goto(f"{live_server.url}/facilities/")
    expect(rows).to_have_count(2)
    page.screenshot(path=str(tmp_path / "list.png"), full_page=True)
    page.locator("#f-kind").select_option("day_care")  # auto-submits through htmx
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("花园路社区日间照料中心")
    assert "kind=day_care" in page.url  # hx-push-url: the filtered list can be bookmarked
    page.get_by_test_id("search").fill("没有这个设施")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("empty")).to_contain_text("没有符合条件的设施")
