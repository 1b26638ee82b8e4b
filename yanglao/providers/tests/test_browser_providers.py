"""The provider screens in a real browser: the catalogue edited in place (htmx), a provider registered
with its areas, and a provider admin's worker list with the expiring-documents panel."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from yanglao.core.browser import login
from yanglao.core.testing import PASSWORD
from yanglao.providers import services
from yanglao.providers.models import CatalogueItem
from yanglao.providers.tests.conftest import provider_facts, worker_id

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("YANGLAO_SCREENSHOTS")  # a folder to keep screenshots in, when looking at layout


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_the_city_edits_the_catalogue_in_place(browser_page, live_server, live_cast, seeded_catalogue):
    page = browser_page
    login(page, live_server.url, live_cast.city_admin.username, PASSWORD)
    page.goto(f"{live_server.url}/providers/catalogue/")
    shot(page, "catalogue")
    page.get_by_test_id("edit-bathing").click()
    form = page.get_by_test_id("row-form-bathing")
    form.get_by_label("标准时长（分钟）").fill("0")
    form.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("error-standard_minutes")).to_contain_text("不能小于1")
    page.get_by_test_id("row-form-bathing").get_by_label("标准时长（分钟）").fill("70")
    page.get_by_test_id("row-form-bathing").get_by_role("button", name="保存").click()
    expect(page.locator("#item-bathing")).to_contain_text("已保存")
    assert CatalogueItem.objects.get(code="bathing").standard_minutes == 70


def test_a_provider_is_registered_with_its_service_areas(
    browser_page, live_server, live_cast, seeded_catalogue
):
    page = browser_page
    facts = provider_facts()
    login(page, live_server.url, live_cast.city_admin.username, PASSWORD)
    page.goto(f"{live_server.url}/providers/new/")
    page.get_by_label("机构名称").fill(facts["name"])
    page.get_by_label("统一社会信用代码").fill(facts["credit_code"])
    page.get_by_label("所在区域").select_option("120101")
    page.get_by_label("机构性质").select_option("social_org")
    page.get_by_label("法定代表人").fill("李明")
    page.get_by_label("服务区域").select_option(["120101001", "120101002"])
    shot(page, "provider_form")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("provider-name")).to_have_text(facts["name"])
    page.get_by_test_id("tab-areas").click()
    expect(page.get_by_test_id("areas")).to_contain_text("劝业场街道")
    shot(page, "provider_detail")


def test_a_provider_admin_sees_the_warning_panel_and_their_workers(
    browser_page, live_server, live_cast, seeded_catalogue
):
    provider = services.provider_attach(
        actor="tests",
        organisation=live_cast.organisations["provider"],
        legal_form="social_org",
        legal_representative="周静",
        service_areas=["120101001"],
    )
    services.offer_set(actor="tests", provider=provider, item="bathing", price=85)
    for name, days in (("刘秀英", 5), ("陈红", 200)):
        services.worker_register(
            actor="tests",
            organisation=live_cast.organisations["provider"],
            name=name,
            id_number=worker_id(),
            health_certificate_expires=timezone.localdate() + timedelta(days=days),
        )
    page = browser_page
    login(page, live_server.url, live_cast.provider_admin.username, PASSWORD)
    page.goto(f"{live_server.url}/providers/workers/")
    expect(page.get_by_test_id("expiring-panel")).to_contain_text("刘秀英")
    expect(page.get_by_test_id("worker-table").locator("tbody tr")).to_have_count(2)
    shot(page, "worker_list")
    page.get_by_test_id("search").fill("陈")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("worker-table").locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="陈红").click()
    expect(page.get_by_test_id("worker-name")).to_have_text("陈红")
    page.get_by_test_id("tab-training").click()
    page.get_by_label("培训内容").fill("失能老人照护")
    page.get_by_label("学时").fill("8")
    page.get_by_role("button", name="登记培训").click()
    expect(page.get_by_test_id("training-table")).to_contain_text("失能老人照护")
    shot(page, "worker_detail")
    page.goto(f"{live_server.url}/providers/{provider.pk}/")
    expect(page.get_by_test_id("provider-name")).to_be_visible()
