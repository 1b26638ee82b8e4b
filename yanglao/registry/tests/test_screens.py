"""The registry pages a community worker and a district clerk use."""

import io
from datetime import date

from python_calamine import CalamineWorkbook

from yanglao.core.models import AuditLog
from yanglao.registry.models import Contact, Elder
from yanglao.registry.tests.conftest import make_id


def test_registering_from_the_form_shows_chinese_errors_beside_the_fields(cast, client):
    client.force_login(cast.community_worker)
    page = client.post(
        "/registry/elders/new/",
        {
            "name": "王五",
            "id_number": "120101194005170019",
            "residence_region": "120101001001",
            "living_arrangement": "alone",
            "economic_status": "general",
        },
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "身份证号码校验位错误" in html
    assert Elder.objects.count() == 0
    number = make_id()
    response = client.post(
        "/registry/elders/new/",
        {
            "name": "王五",
            "id_number": number,
            "residence_region": "120101001001",
            "living_arrangement": "alone",
            "economic_status": "general",
        },
    )
    elder = Elder.objects.get()
    assert response.url == f"/registry/elders/{elder.pk}/"
    detail = client.get(response.url).content.decode()
    assert "王五" in detail and "独居" in detail
    assert number not in detail  # masked until revealed


def test_the_edit_form_never_shows_the_numbers_and_keeps_them_when_left_empty(cast, client, make_elder):
    elder = make_elder(phone="13612345678")
    client.force_login(cast.community_worker)
    html = client.get(f"/registry/elders/{elder.pk}/edit/").content.decode()
    assert elder.id_number not in html and "13612345678" not in html
    assert elder.masked_id_number in html
    form = {
        "name": "张建国",
        "id_number": "",
        "phone": "",
        "residence_region": "120101001001",
        "living_arrangement": "empty_nest",
        "economic_status": "general",
    }
    client.post(f"/registry/elders/{elder.pk}/edit/", form)
    elder.refresh_from_db()
    assert (elder.living_arrangement, elder.phone) == ("empty_nest", "13612345678")
    row = AuditLog.objects.get(action="elder.update", object_id=str(elder.pk))
    assert row.changes == {
        "before": {"living_arrangement": "with_family"},
        "after": {"living_arrangement": "empty_nest"},
    }


def test_revealing_the_numbers_is_audited_and_needs_pii_view(cast, client, make_elder):
    elder = make_elder()
    client.force_login(cast.district_staff)  # no pii.view
    assert client.post(f"/registry/elders/{elder.pk}/reveal/").status_code == 403
    client.force_login(cast.community_worker)
    html = client.post(f"/registry/elders/{elder.pk}/reveal/").content.decode()
    assert elder.id_number in html
    assert (
        AuditLog.objects.filter(action="elder.view_personal_numbers", actor=cast.community_worker).count()
        == 1
    )


def test_events_and_contacts_from_the_detail_page(cast, client, make_elder):
    elder = make_elder()
    client.force_login(cast.community_worker)
    client.post(
        f"/registry/elders/{elder.pk}/events/new/", {"kind": "hospital_admission", "on": "2026-05-01"}
    )
    elder.refresh_from_db()
    assert elder.status == "in_hospital"
    response = client.post(
        f"/registry/elders/{elder.pk}/events/new/", {"kind": "move_within", "on": "2026-05-02"}, follow=True
    )
    assert "迁入社区" in response.content.decode()
    client.post(
        f"/registry/elders/{elder.pk}/contacts/new/",
        {
            "name": "张小明",
            "relation": "son",
            "phone": "13511112222",
            "guardian": "legal",
            "is_emergency": "on",
        },
    )
    contact = Contact.objects.get(elder=elder)
    assert contact.guardian == "legal" and contact.is_emergency
    page = client.get(f"/registry/elders/{elder.pk}/?tab=family").content.decode()
    assert "135****2222" in page and "13511112222" not in page
    client.post(f"/registry/elders/{elder.pk}/contacts/{contact.pk}/delete/")
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert AuditLog.objects.filter(action="elder.contact.remove").exists()


def test_list_filters_sorting_and_pagination(cast, client, make_elder):
    digits = "零一二三四五六七八九"
    names = []
    for i in range(55):
        name = "老人" + digits[i // 10] + digits[i % 10]
        names.append(name)
        make_elder(born=date(1940 + i % 20, 1, 1), name=name, living_arrangement="独居" if i % 5 == 0 else "")
    client.force_login(cast.community_worker)
    first = client.get("/registry/elders/").context
    assert first["page"].paginator.count == 55 and len(first["rows"]) == 50
    assert first["rows"][0]["elder"].name == min(names)  # code-point order, as both test databases sort
    alone = client.get("/registry/elders/", {"group": "alone"}).context
    assert alone["page"].paginator.count == 11
    by_age = client.get("/registry/elders/", {"sort": "age"}).context["rows"]
    assert by_age[0]["elder"].birth_date == date(1940, 1, 1)
    partial = client.get("/registry/elders/", {"q": "老人零一"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "老人零一" in partial.content.decode()
    assert partial.context["page"].paginator.count == 1
    bad = client.get("/registry/elders/", {"status": "nonsense"})
    assert "筛选条件无效" in bad.content.decode()


def test_the_region_picker_cascades_within_the_users_region(cast, client):
    client.force_login(cast.district_staff)
    html = client.get("/registry/elders/regions/", {"region": "120101001"}).content.decode()
    assert "劝业场街道" in html and "社区" in html
    assert "河东区" not in html


def test_export_is_masked_stamped_and_audited_and_unmasked_needs_pii_view(cast, client, make_elder):
    elder = make_elder(phone="13312345678")

    def sheet(response):
        return (
            CalamineWorkbook.from_filelike(io.BytesIO(b"".join(response.streaming_content)))
            .get_sheet_by_index(0)
            .to_python()
        )

    client.force_login(cast.district_staff)
    rows = sheet(client.get("/registry/elders/export.xlsx"))
    assert "导出人" in rows[0][0] and "district_staff" in rows[0][0]
    assert rows[2][5] == elder.masked_id_number and rows[2][6] == "133****5678"
    assert client.get("/registry/elders/export.xlsx", {"unmasked": "1"}).status_code == 403
    client.force_login(cast.community_worker)
    rows = sheet(client.get("/registry/elders/export.xlsx", {"unmasked": "1"}))
    assert rows[2][5] == elder.id_number
    exports = AuditLog.objects.filter(action="elder.export").order_by("at")
    assert [e.changes["after"]["unmasked"] for e in exports] == [False, True]


def test_two_elders_living_together_share_a_household(cast, client, make_elder):
    husband = make_elder(name="李大爷")
    wife = make_elder(name="王大妈", male=False)
    client.force_login(cast.community_worker)
    client.post(f"/registry/elders/{wife.pk}/household/", {"with_id_number": husband.id_number})
    husband.refresh_from_db()
    wife.refresh_from_db()
    assert husband.household_id == wife.household_id is not None
    assert "李大爷" in client.get(f"/registry/elders/{wife.pk}/?tab=family").content.decode()
    response = client.post(
        f"/registry/elders/{wife.pk}/household/", {"with_id_number": "110105194912310029"}, follow=True
    )
    assert "没有找到" in response.content.decode()


def test_empty_select_values_mean_all(cast, client, make_elder):
    make_elder()
    client.force_login(cast.community_worker)
    context = client.get(
        "/registry/elders/", {"q": "", "age_band": "", "status": "", "sex": "", "sort": "name"}
    ).context
    assert context["error"] is None
    assert context["page"].paginator.count == 1


def test_a_duplicate_id_number_is_shown_beside_the_field_not_on_an_error_page(cast, client, make_elder):
    elder = make_elder()
    client.force_login(cast.community_worker)
    page = client.post(
        "/registry/elders/new/",
        {
            "name": "重复",
            "id_number": elder.id_number,
            "residence_region": "120101001001",
            "living_arrangement": "alone",
            "economic_status": "general",
        },
    )
    assert page.status_code == 200
    assert page.context["form"].errors["id_number"] == ["该身份证号码已登记，请搜索后修改原档案"]


def test_the_region_picker_shows_no_template_comment(cast, client):
    client.force_login(cast.district_staff)
    page = client.get("/registry/elders/").content.decode()
    assert "Cascading selects" not in page
