"""The assessment workflow in a real browser on a tablet: two assessors fill the form screen by screen
(autosaved), both attest on the same device, the district approves, and the level shows on the elder's
page."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from yanglao.accounts.roles import Role
from yanglao.assessments import instruments, services
from yanglao.core import policy
from yanglao.core.browser import login
from yanglao.core.testing import PASSWORD, make_user
from yanglao.registry import services as registry_services
from yanglao.registry.tests.conftest import make_id

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}
MIN_TOUCH_PX = 48
GB = instruments.get("gbt42195-2022")

# The score chosen for each item, screen by screen: 24 + 7 + 21 + 6 = 58 → 中度失能 (46–65).
CHOICES = {
    "自理能力": {"1": 3, "2": 3, "3": 3, "4": 3, "5": 3, "6": 3, "7": 3, "8": 3},
    "基础运动能力": {"9": 2, "10": 2, "11": 2, "12": 1},
    "精神状态": {"13": 3, "14": 3, "15": 3, "16": 3, "17": 3, "18": 3, "19": 1, "20": 0, "21": 2},
    "感知觉与社会参与": {"22": 1, "23": 1, "24": 2, "25": 1, "26": 1},
}
TOTAL = 58
# F01 (vascular dementia) worsens one level, two falls in 30 days another: 中度 → 重度 → 完全.
PRELIMINARY, FINAL = "中度失能", "完全失能"


def test_two_assessors_fill_attest_and_the_district_approves(browser_page, live_server, live_cast):
    assert [g.name for g in GB.groups] == list(CHOICES)
    assert sorted(k for c in CHOICES.values() for k in c) == sorted(GB.items)  # all 26 items
    assert sum(sum(c.values()) for c in CHOICES.values()) == TOTAL

    cast = live_cast
    elder = registry_services.elder_register(
        actor="tests",
        name="王秀兰",
        id_number=make_id("120101", date(1938, 2, 3), male=False),
        residence_region="120101001001",
    )
    requested = services.assessment_request(actor=cast.community_worker, elder=elder, kind="first")
    assessment = services.assessment_assign(
        actor=cast.district_staff, assessment=requested, organisation=cast.organisations["assessor"]
    )
    second = make_user(
        "assessor_two", Role.ASSESSOR, "1201", cast.organisations["assessor"], full_name="评估员二"
    )

    page = browser_page
    page.set_viewport_size(TABLET)
    base = live_server.url
    login(page, base, cast.assessor.username, PASSWORD)
    page.goto(f"{base}/assessments/{assessment.pk}/")
    expect(page.get_by_test_id("assessment-status")).to_have_text("已派评估机构")
    page.get_by_test_id("open-form").click()

    def autosave(request_or_response) -> bool:
        return request_or_response.url.endswith(f"/assessments/{assessment.pk}/autosave/")

    def choose(key: str, score: int) -> None:
        """Tap an option and wait for its autosave to answer (one write at a time)."""
        with page.expect_response(autosave):
            page.locator(f"label[for='i{key}-{score}']").click()

    for step, (group, choices) in enumerate(CHOICES.items(), start=1):
        expect(page.locator("[aria-current=step]")).to_have_text(f"{step}. {group}")
        if step == 1:
            options = page.locator(".assess-form label.option")
            expect(options.first).to_be_visible()
            assert options.count() == sum(len(GB.items[k].options) for k in choices)
            for index in range(options.count()):
                box = options.nth(index).bounding_box()
                assert box is not None and box["height"] >= MIN_TOUCH_PX, (index, box)
                assert box["width"] >= MIN_TOUCH_PX, (index, box)
        for number, (key, score) in enumerate(choices.items()):
            choose(key, score)
            expect(page.locator(f"#i{key}-{score}")).to_be_checked()
            if step == 1 and number == 0:
                # the autosave indicator answers the first tap; a reload shows the saved draft
                expect(page.locator("#autosave").get_by_test_id("autosaved")).to_be_visible()
                page.reload()
                expect(page.locator(f"#i{key}-{score}")).to_be_checked()
        if step == 2:
            # back to the first screen: its answers were saved and are still selected
            page.get_by_test_id("back").click()
            expect(page.locator("[aria-current=step]")).to_have_text(f"1. {GB.groups[0].name}")
            for key, score in CHOICES[GB.groups[0].name].items():
                expect(page.locator(f"#i{key}-{score}")).to_be_checked()
            page.get_by_test_id("next").click()
            expect(page.locator("[aria-current=step]")).to_have_text(f"2. {group}")
            for key, score in choices.items():
                expect(page.locator(f"#i{key}-{score}")).to_be_checked()
        page.get_by_test_id("next").click()

    # the last screen: adjustments, preview, attestation
    expect(page.locator("[aria-current=step]")).to_have_text(f"{len(CHOICES) + 1}. 补充信息与确认")
    expect(page.get_by_test_id("preview-total")).to_have_text(str(TOTAL))
    expect(page.get_by_test_id("preview-level")).to_have_text(PRELIMINARY)
    # a typed field autosaves when it is left (waited for, so the save below does not race it)
    for field, value in (("#diagnoses", "F01"), ("#risk-fall", "2")):
        page.locator(field).fill(value)
        with page.expect_response(autosave):
            page.locator(field).press("Tab")
        expect(page.locator("#autosave").get_by_test_id("autosaved")).to_be_visible()
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("#diagnoses")).to_have_value("F01")
    expect(page.locator("#risk-fall")).to_have_value("2")
    expect(page.get_by_test_id("preview-total")).to_have_text(str(TOTAL))
    expect(page.get_by_test_id("preview-level")).to_have_text(FINAL)
    expect(page.get_by_test_id("preview")).to_contain_text(PRELIMINARY)

    page.get_by_test_id("attest-me").click()
    expect(page.get_by_test_id("attest")).to_contain_text(cast.assessor.full_name)
    expect(page.get_by_test_id("attest-me")).to_have_count(0)  # the same assessor cannot attest twice
    # the second assessor's credentials are not draft data: typing them sends no autosave
    autosaves = []
    page.on("request", lambda r: autosaves.append(r.post_data) if autosave(r) else None)
    page.locator("#second-username").fill(second.username)
    page.locator("#second-password").fill(PASSWORD)
    page.locator("#second-password").press("Tab")
    page.get_by_test_id("attest-second").click()
    expect(page).to_have_url(f"{base}/assessments/{assessment.pk}/")
    expect(page.get_by_test_id("assessment-status")).to_have_text("待审核")
    expect(page.get_by_test_id("total")).to_have_text(str(TOTAL))
    expect(page.get_by_test_id("final-level")).to_have_text(FINAL)
    expect(page.get_by_test_id("open-form")).to_have_count(0)
    assert autosaves == []

    # the district reviews
    page.get_by_role("button", name="退出").click()
    page.wait_for_load_state("load")
    login(page, base, cast.district_staff.username, PASSWORD)
    expect(page.get_by_test_id("current-user")).to_contain_text(cast.district_staff.full_name)
    page.goto(f"{base}/assessments/{assessment.pk}/")
    review = page.get_by_test_id("review-form")
    page.once("dialog", lambda dialog: dialog.accept())
    review.get_by_role("button", name="审核通过，结果生效").click()
    expect(page.get_by_test_id("assessment-status")).to_have_text("已生效")
    today = timezone.localdate()
    until = services.add_months(today, policy.value(services.VALIDITY, on=today)) - timedelta(days=1)
    expect(page.get_by_test_id("validity")).to_have_text(f"{today:%Y-%m-%d} ～ {until:%Y-%m-%d}")

    page.goto(f"{base}/registry/elders/{elder.pk}/?tab=assessments")
    expect(page.get_by_test_id("current-level")).to_have_text(FINAL)
    expect(page.get_by_test_id("assessment-tab")).to_contain_text(f"{until:%Y-%m-%d}")
