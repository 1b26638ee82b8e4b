"""A month's benefits in a real browser, as the issue's administrator does it: load the shipped packs,
run November 2026, see who gets what and why, the district reviews, the city approves, and the roster
and the bank file download."""

from datetime import date

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from yanglao.benefits import services
from yanglao.benefits.models import Entitlement
from yanglao.core.browser import login
from yanglao.core.testing import PASSWORD

pytestmark = pytest.mark.browser


def test_load_run_review_approve_and_download(browser_page, live_server, live_cast, make_elder, tmp_path):
    page = browser_page
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations before loading, running, approving
    poor = make_elder(born=date(1941, 5, 1), economic_status="subsistence", name="低保甲")
    make_elder(born=date(1960, 5, 1), name="一般乙")
    services.bank_account_set(
        actor="tests",
        elder=poor,
        bank_name="天津银行",
        account_name="低保甲",
        account_number="6217000011112222333",
    )

    login(page, live_server.url, live_cast.city_admin.username, PASSWORD)
    page.goto(f"{live_server.url}/benefits/")
    expect(page.get_by_test_id("empty")).to_be_visible()
    page.locator("#load-jurisdiction").fill("1201")
    page.get_by_test_id("load-form").get_by_role("button").click()
    expect(page.get_by_test_id("programme-table")).to_contain_text("beijing.senior_allowance")

    page.goto(f"{live_server.url}/benefits/runs/")
    page.locator("#run-period").fill("2026-11")
    page.get_by_role("button", name="开始计算").click()
    expect(page.get_by_test_id("run-job")).to_contain_text("完成")
    page.goto(f"{live_server.url}/benefits/runs/")
    page.get_by_test_id("run-table").get_by_role("link", name="2026-11").first.click()

    # Who gets what and why; the city cannot approve while the district has not reviewed.
    table = page.get_by_test_id("entitlement-table")
    expect(table).to_contain_text("高龄老年人津贴（v1）：80–89岁")
    expect(table).to_contain_text("困难老年人养老服务补贴（v1）：低保")
    expect(page.get_by_test_id("waiting")).to_be_visible()
    expect(page.get_by_test_id("approve-form").get_by_role("button")).to_be_disabled()
    page.screenshot(path=str(tmp_path / "period.png"), full_page=True)

    page.context.clear_cookies()
    login(page, live_server.url, live_cast.district_staff.username, PASSWORD)
    page.goto(f"{live_server.url}/benefits/periods/2026-11/")
    page.get_by_test_id("review-form").get_by_role("button").click()
    expect(page.get_by_test_id("review-form")).to_have_count(0)
    assert not Entitlement.objects.filter(state=Entitlement.State.DRAFT).exists()

    page.context.clear_cookies()
    login(page, live_server.url, live_cast.city_admin.username, PASSWORD)
    page.goto(f"{live_server.url}/benefits/periods/2026-11/")
    page.get_by_test_id("approve-form").get_by_role("button").click()
    expect(page.get_by_test_id("bank-link")).to_be_visible()
    assert not Entitlement.objects.exclude(state=Entitlement.State.APPROVED).exists()

    with page.expect_download() as roster:
        page.get_by_test_id("roster-link").click()
    saved = tmp_path / "roster.xlsx"
    roster.value.save_as(saved)
    assert roster.value.suggested_filename.endswith("2026-11.xlsx")
    sheet = load_workbook(saved, read_only=True)["发放花名册"]
    rows = [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] is not None]
    assert {(row[3], row[6]) for row in rows} == {("低保甲", 100)}  # the cash programmes: 高龄 100

    with page.expect_download() as bank:
        page.get_by_test_id("bank-link").click()
    text = bank.value.path().read_text(encoding="utf-8-sig")
    assert "6217000011112222333" in text and "100.00" in text
