"""The facility screens without a browser: the list with filters, sorting, pages and empty states
(htmx gets only the results), the detail page, the create and edit forms with Chinese errors beside
the fields, the status form, and the navigation entry."""

from django.urls import reverse

from yanglao.core.models import AuditLog
from yanglao.facilities.models import Facility
from yanglao.facilities.tests.conftest import day_care, institution

LIST = reverse("facilities:list")
CREATE = reverse("facilities:create")


def form_data(**overrides):
    data = {k: v for k, v in day_care().items() if v is not None}
    data.update(overrides)
    return data


def test_the_navigation_offers_the_facilities_list(cast, client):
    client.force_login(cast.district_staff)
    labels = [str(item["label"]) for item in client.get(LIST).context["nav_items"]]
    assert "养老设施" in labels


def test_an_empty_region_says_so_and_offers_to_register(cast, client):
    client.force_login(cast.district_staff)
    page = client.get(LIST).content.decode()
    assert 'data-testid="empty"' in page and "还没有登记养老设施" in page
    assert CREATE in page
    client.force_login(cast.community_worker)
    page = client.get(LIST).content.decode()
    assert "还没有登记养老设施" in page and 'data-testid="create-facility"' not in page


def test_the_list_filters_and_says_when_nothing_matches(cast, client, make_facility):
    make_facility()
    make_facility(institution(operator=cast.organisations["provider"].pk))
    client.force_login(cast.district_staff)
    page = client.get(LIST).content.decode()
    assert "共 2 个设施" in page and "花园路社区日间照料中心" in page and "和平区颐年养老院" in page
    assert "床位使用率 75.0%" in page
    only = client.get(LIST, {"kind": "institution", "grade": "3", "ltc": "1", "operating_model": "private"})
    assert "共 1 个设施" in only.content.decode() and "花园路社区日间照料中心" not in only.content.decode()
    none = client.get(LIST, {"q": "没有这个名字"}).content.decode()
    assert "没有符合条件的设施" in none
    by_region = client.get(LIST, {"region": ["120101", "120101001"]}).content.decode()
    assert "共 2 个设施" in by_region
    graded_none = client.get(LIST, {"grade": "none"}).content.decode()
    assert "共 1 个设施" in graded_none


def test_htmx_gets_only_the_results_and_a_bad_filter_is_explained(cast, client, make_facility):
    make_facility()
    client.force_login(cast.district_staff)
    partial = client.get(LIST, {"service": "meals"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="facility-table"' in partial and "<html" not in partial
    bad = client.get(LIST, {"kind": "hospital"}).content.decode()
    assert 'data-testid="filter-error"' in bad and "筛选条件无效：hospital" in bad


def test_sorting_and_pages(cast, client, make_facility):
    for n in range(52):
        make_facility(name=f"测试设施{n:02d}")
    client.force_login(cast.district_staff)
    first = client.get(LIST, {"sort": "-name"}).content.decode()
    assert "第 1 / 2 页" in first and "测试设施51" in first and "测试设施00" not in first
    second = client.get(LIST, {"sort": "-name", "page": 2}).content.decode()
    assert "测试设施00" in second


def test_the_detail_page_shows_the_facts(cast, client, make_facility):
    facility = make_facility(
        institution(operator=cast.organisations["provider"].pk, filing_number="", filing_date=None)
    )
    client.force_login(cast.district_staff)
    page = client.get(reverse("facilities:detail", args=[facility.pk])).content.decode()
    assert "和平区颐年养老院" in page and "床位 120 张，在住 90 人" in page and "75.0%" in page
    assert "三级" in page and "长护险定点" in page and "和平区测试服务中心" in page
    assert 'data-testid="filing-missing"' in page  # an institution without a filing number
    assert 'data-testid="status-form"' in page
    client.force_login(cast.community_worker)
    assert (
        client.get(reverse("facilities:detail", args=[facility.pk])).status_code == 404
    )  # not their community
    client.force_login(cast.other_district_staff)
    assert client.get(reverse("facilities:detail", args=[facility.pk])).status_code == 404


def test_registering_shows_chinese_errors_beside_the_fields_then_saves(cast, client):
    client.force_login(cast.district_staff)
    assert client.get(CREATE).status_code == 200
    unnamed = client.post(CREATE, form_data(name=""))
    assert 'data-testid="error-name"' in unnamed.content.decode()
    refused = client.post(CREATE, form_data(beds="5", latitude="80", grade="2", grade_date="2024-01-01"))
    assert refused.status_code == 200
    page = refused.content.decode()
    assert 'data-testid="form-errors"' in page
    assert "社区日间照料中心不设床位" in page and "中国境内" in page and "不参加养老机构等级评定" in page
    assert not Facility.objects.exists()
    assert set(refused.context["form"].errors) == {"beds", "latitude", "grade"}
    done = client.post(CREATE, form_data())
    facility = Facility.objects.get()
    assert done.url == reverse("facilities:detail", args=[facility.pk])
    assert facility.services == ["meals", "day_care"] and facility.created_by == cast.district_staff


def test_the_region_picker_sends_the_deepest_choice(cast, client):
    client.force_login(cast.district_staff)
    data = form_data()
    data["region"] = ["120101001", "120101001001"]  # the picker's street and community selects
    client.post(CREATE, data)
    assert Facility.objects.get().region_id == "120101001001"
    refused = client.post(CREATE, {**form_data(name="第二个"), "region": ["120101001", "120101001"]})
    assert refused.context["form"].errors["region"] == [
        "社区日间照料中心须登记到社区（村）一级，“劝业场街道”是街道乡镇：请选择设施所在的具体区域"
    ]


def test_a_region_outside_the_scope_is_refused_beside_the_region(cast, client):
    client.force_login(cast.district_staff)
    refused = client.post(CREATE, form_data(region="120102001001"))
    assert "不在您的管辖范围内" in refused.context["form"].errors["region"][0]


def test_community_workers_cannot_open_the_form(cast, client):
    client.force_login(cast.community_worker)
    assert client.get(CREATE).status_code == 403


def test_editing_saves_only_the_changes(cast, client, make_facility):
    facility = make_facility()
    url = reverse("facilities:edit", args=[facility.pk])
    client.force_login(cast.district_staff)
    page = client.get(url).content.decode()
    assert 'value="花园路社区日间照料中心"' in page
    data = form_data(opening_hours="周一至周五")
    data["services"] = ["meals", "day_care"]
    done = client.post(url, data)
    assert done.status_code == 302
    facility.refresh_from_db()
    assert facility.opening_hours == "周一至周五"
    assert AuditLog.objects.get(action="facility.update").changes["after"] == {"opening_hours": "周一至周五"}
    refused = client.post(url, {**data, "kind": "canteen", "services": ["day_care"]})
    assert refused.context["form"].errors["services"] == ["老人家食堂/助餐点须提供“助餐”服务"]


def test_the_status_form_suspends_with_a_reason(cast, client, make_facility):
    facility = make_facility()
    url = reverse("facilities:status", args=[facility.pk])
    client.force_login(cast.district_staff)
    missing = client.post(url, {"status": "suspended", "reason": ""}, follow=True)
    assert "这个字段是必填项" in missing.content.decode()
    done = client.post(url, {"status": "suspended", "reason": "消防整改"}, follow=True)
    assert "设施状态已改为“暂停”" in done.content.decode()
    facility.refresh_from_db()
    assert facility.status == "suspended"
    history = client.get(reverse("facilities:detail", args=[facility.pk])).content.decode()
    assert "变更状态" in history and "原因：消防整改" in history
