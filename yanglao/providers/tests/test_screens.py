"""The provider, worker and catalogue pages: render for each role, show errors beside the fields, never
show personal numbers in clear unless revealed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_DISTRICT, HOME_STREET
from yanglao.providers.models import CareWorker, CatalogueItem, Provider, ProviderOffer, PurchaseContract
from yanglao.providers.tests.conftest import provider_facts, worker_id


def html(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_navigation_has_the_three_entries(cast, client):
    client.force_login(cast.district_staff)
    labels = [str(i["label"]) for i in client.get("/").context["nav_items"]]
    assert {"服务机构", "护理员", "服务目录"} <= set(labels)


@pytest.mark.parametrize(
    "who", ["city_admin", "district_staff", "provider_admin", "community_worker", "superuser"]
)
def test_the_lists_render_for_each_role(cast, client, provider, make_worker, who):
    make_worker(health_certificate_expires=timezone.localdate())
    client.force_login(getattr(cast, who))
    assert "服务机构" in html(client.get("/providers/"))
    assert "护理员" in html(client.get("/providers/workers/"))
    assert "助浴" in html(client.get("/providers/catalogue/"))


def test_the_provider_list_filters_searches_and_shows_an_empty_state(cast, client, provider, other_provider):
    client.force_login(cast.city_admin)
    page = html(client.get("/providers/", {"q": "河东"}))
    assert "河东区测试服务中心" in page and "和平区测试服务中心" not in page
    assert "和平区测试服务中心" in html(client.get("/providers/", {"region": HOME_STREET}))
    assert 'data-testid="empty"' in html(client.get("/providers/", {"item": "repair"}))
    bad = html(client.get("/providers/", {"status": "bogus"}))
    assert "合作状态筛选条件无效" in bad
    partial = client.get("/providers/", {"q": "河东"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and "河东区测试服务中心" in partial.content.decode()


def test_the_list_paginates(cast, client):
    from yanglao.providers import services

    for n in range(52):
        services.provider_register(actor="tests", **provider_facts(name=f"机构{n:02d}"))
    client.force_login(cast.city_admin)
    first = html(client.get("/providers/"))
    assert "第 1 / 2 页" in first and "共 52 家机构" in first
    assert "机构51" in html(client.get("/providers/", {"page": 2}))


def test_registering_from_the_form_shows_errors_beside_the_fields(cast, client):
    client.force_login(cast.city_admin)
    facts = provider_facts()
    form = {
        **facts,
        "credit_code": facts["credit_code"][:-1] + ("0" if facts["credit_code"][-1] != "0" else "1"),
    }
    page = html(client.post("/providers/new/", form))
    assert "统一社会信用代码校验位错误" in page and 'data-testid="error-credit_code"' in page
    assert Provider.objects.count() == 0
    response = client.post("/providers/new/", {**facts, "service_areas": [HOME_STREET]})
    provider = Provider.objects.get()
    assert response.status_code == 302 and response.url == f"/providers/{provider.pk}/"
    detail = html(client.get(response.url))
    assert facts["name"] in detail and "劝业场街道" in detail
    assert "02223456789" not in detail and "022****6789" in detail


def test_district_staff_cannot_open_the_registration_form(cast, client):
    client.force_login(cast.district_staff)
    assert client.get("/providers/new/").status_code == 403


def test_the_detail_page_manages_status_areas_offers_and_contracts(cast, client, provider):
    client.force_login(cast.city_admin)
    page = html(client.get(f"/providers/{provider.pk}/"))
    assert "助浴" in page and "85.00" in page and 'data-testid="offer-form"' in page
    client.post(f"/providers/{provider.pk}/status/", {"status": "suspended", "reason": ""})
    provider.refresh_from_db()
    assert provider.status == "active"
    client.post(f"/providers/{provider.pk}/status/", {"status": "suspended", "reason": "整改"})
    provider.refresh_from_db()
    assert provider.status == "suspended"
    client.post(f"/providers/{provider.pk}/areas/", {"service_areas": [HOME_DISTRICT]})
    assert list(provider.service_areas.values_list("code", flat=True)) == [HOME_DISTRICT]
    client.post(f"/providers/{provider.pk}/offers/", {"item": "cleaning", "price": "41"})
    assert ProviderOffer.objects.get(provider=provider, item__code="cleaning").price == 41
    client.post(f"/providers/{provider.pk}/offers/cleaning/withdraw/")
    assert not ProviderOffer.objects.get(provider=provider, item__code="cleaning").is_active
    bad = client.post(
        f"/providers/{provider.pk}/contracts/new/",
        {
            "number": "C-1",
            "title": "t",
            "region": HOME_DISTRICT,
            "start_on": "2026-02-01",
            "end_on": "2026-01-01",
            "budget": "1",
        },
    )
    assert "早于开始日期" in html(bad)
    good = client.post(
        f"/providers/{provider.pk}/contracts/new/",
        {
            "number": "C-1",
            "title": "t",
            "region": HOME_DISTRICT,
            "start_on": "2026-01-01",
            "end_on": "2026-12-31",
            "budget": "1",
            "items": ["bathing"],
        },
    )
    assert good.status_code == 302
    contract = PurchaseContract.objects.get()
    assert "C-1" in html(client.get(f"/providers/{provider.pk}/?tab=contracts"))
    client.post(
        f"/providers/{provider.pk}/contracts/{contract.pk}/",
        {
            "number": "C-1",
            "title": "改名",
            "region": HOME_DISTRICT,
            "start_on": "2026-01-01",
            "end_on": "2026-12-31",
            "budget": "1",
            "items": ["bathing"],
        },
    )
    contract.refresh_from_db()
    assert contract.title == "改名"


def test_the_edit_form_keeps_the_phone_when_left_empty(cast, client, provider):
    client.force_login(cast.city_admin)
    page = html(client.get(f"/providers/{provider.pk}/edit/"))
    assert "13812345678" not in page and "138****5678" in page
    form = {
        "name": "和平区改名中心",
        "credit_code": provider.organisation.credit_code,
        "region": HOME_DISTRICT,
        "legal_form": "social_org",
        "legal_representative": "周静",
        "contact_phone": "",
        "daily_capacity": 10,
    }
    assert client.post(f"/providers/{provider.pk}/edit/", form).status_code == 302
    provider.refresh_from_db()
    assert provider.contact_phone == "13812345678" and provider.organisation.name == "和平区改名中心"
    placed = {**form, "name": "和平区改名中心", "latitude": "39.11", "longitude": "117.19"}
    assert client.post(f"/providers/{provider.pk}/edit/", placed).status_code == 302
    moved = {**placed, "latitude": "39.12"}  # only the latitude changes: checked with the longitude kept
    assert client.post(f"/providers/{provider.pk}/edit/", moved).status_code == 302
    provider.refresh_from_db()
    assert (provider.latitude, provider.longitude) == (39.12, 117.19)


def test_a_read_only_user_sees_no_management_forms(cast, client, provider):
    client.force_login(cast.district_staff)
    page = html(client.get(f"/providers/{provider.pk}/"))
    assert 'data-testid="offer-form"' not in page and 'data-testid="status-form"' not in page
    client.force_login(cast.other_district_staff)
    assert client.get(f"/providers/{provider.pk}/").status_code == 404


def test_the_worker_list_shows_the_expiring_panel_and_masks_numbers(cast, client, make_worker):
    number = worker_id()
    make_worker(
        name="到期者", id_number=number, health_certificate_expires=timezone.localdate() + timedelta(days=3)
    )
    make_worker(name="无忧者", health_certificate_expires=timezone.localdate() + timedelta(days=300))
    client.force_login(cast.provider_admin)
    page = html(client.get("/providers/workers/"))
    assert 'data-testid="expiring-panel"' in page and "3 天后到期" in page
    assert number not in page and number[:6] + "********" + number[-4:] in page
    only = html(client.get("/providers/workers/", {"expiring": "1"}))
    assert "到期者" in only and "无忧者" not in only


def test_a_provider_admin_registers_a_worker_from_the_form(cast, client):
    client.force_login(cast.provider_admin)
    form = {"organisation": cast.organisations["provider"].pk, "name": "韩梅", "id_number": "1201"}
    page = html(client.post("/providers/workers/new/", form))
    assert "身份证号码应为18位" in page and 'data-testid="error-id_number"' in page
    number = worker_id()
    response = client.post("/providers/workers/new/", {**form, "id_number": number, "phone": "13800001111"})
    worker = CareWorker.objects.get()
    assert response.url == f"/providers/workers/{worker.pk}/"
    detail = html(client.get(response.url))
    assert "韩梅" in detail and number not in detail and "13800001111" not in detail


def test_certificates_training_and_status_from_the_detail_page(cast, client, make_worker):
    worker = make_worker()
    client.force_login(cast.provider_admin)
    client.post(
        f"/providers/workers/{worker.pk}/certificates/",
        {"grade": "junior", "number": "J1", "issued_on": "2021-01-01"},
    )
    client.post(
        f"/providers/workers/{worker.pk}/training/", {"topic": "急救", "hours": "8", "on": "2024-01-01"}
    )
    refused = client.post(
        f"/providers/workers/{worker.pk}/training/",
        {"topic": "x", "hours": "300", "on": "2024-01-01"},
        follow=True,
    )
    assert "学时不能大于200" in refused.content.decode()
    client.post(f"/providers/workers/{worker.pk}/status/", {"status": "suspended", "reason": "病假"})
    page = html(client.get(f"/providers/workers/{worker.pk}/?tab=certificates"))
    assert "J1" in page and "急救" in page and "停岗" in page


def test_revealing_a_workers_numbers_needs_pii_view_and_is_audited(cast, client, make_worker):
    number = worker_id()
    worker = make_worker(id_number=number)
    client.force_login(cast.provider_admin)
    assert client.post(f"/providers/workers/{worker.pk}/reveal/").status_code == 403
    client.force_login(cast.city_admin)
    assert number in html(client.post(f"/providers/workers/{worker.pk}/reveal/"))
    assert AuditLog.objects.filter(action="worker.view_personal_numbers").count() == 1


def test_the_worker_edit_form_never_shows_the_numbers(cast, client, make_worker):
    number = worker_id()
    worker = make_worker(id_number=number, phone="13912340000")
    client.force_login(cast.provider_admin)
    page = html(client.get(f"/providers/workers/{worker.pk}/edit/"))
    assert number not in page and "13912340000" not in page
    form = {"organisation": worker.organisation_id, "name": "新名字", "id_number": "", "phone": ""}
    assert client.post(f"/providers/workers/{worker.pk}/edit/", form).status_code == 302
    worker.refresh_from_db()
    assert (worker.name, worker.id_number, worker.phone) == ("新名字", number, "13912340000")


def test_the_catalogue_edits_inline_for_the_city_only(cast, client):
    client.force_login(cast.district_staff)
    page = html(client.get("/providers/catalogue/"))
    assert 'data-testid="edit-bathing"' not in page and 'data-testid="catalogue-create"' not in page
    assert client.post("/providers/catalogue/bathing/", {"name": "x"}).status_code == 403
    client.force_login(cast.city_admin)
    page = html(client.get("/providers/catalogue/"))
    assert 'data-testid="edit-bathing"' in page
    row_form = html(
        client.get("/providers/catalogue/bathing/", {"edit": "1"}, headers={"HX-Request": "true"})
    )
    assert 'data-testid="row-form-bathing"' in row_form
    values = {
        "name": "助浴",
        "unit": "visit",
        "standard_minutes": "0",
        "reference_price": "90",
        "order": "20",
        "is_active": "on",
    }
    refused = html(client.post("/providers/catalogue/bathing/", values, headers={"HX-Request": "true"}))
    assert "标准服务时长不能小于1" in refused
    saved = html(
        client.post(
            "/providers/catalogue/bathing/",
            {**values, "standard_minutes": "75"},
            headers={"HX-Request": "true"},
        )
    )
    assert "已保存" in saved
    item = CatalogueItem.objects.get(code="bathing")
    assert (item.standard_minutes, str(item.reference_price)) == (75, "90.00")
    created = client.post(
        "/providers/catalogue/",
        {
            "code": "foot_care",
            "name": "足部护理",
            "unit": "visit",
            "standard_minutes": "30",
            "reference_price": "40",
            "order": "130",
            "is_active": "on",
        },
    )
    assert created.status_code == 302 and CatalogueItem.objects.filter(code="foot_care").exists()
