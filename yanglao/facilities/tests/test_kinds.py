"""The facility kinds of DOMAIN.md §4 are data: 13 rows loaded by the migration, with their rules."""

from yanglao.facilities.kinds import ensure_kinds, read_kinds
from yanglao.facilities.models import FacilityKind

ALL_KINDS = {
    "district_centre": "区级养老服务指导中心",
    "street_centre": "街道养老服务中心/综合体",
    "day_care": "社区日间照料中心",
    "station": "养老服务驿站",
    "canteen": "老人家食堂/助餐点",
    "embedded_home": "嵌入式养老院",
    "mutual_aid": "互助幸福屋",
    "self_help": "宜老自助屋",
    "health_room": "医养健康屋",
    "rural_home": "农村幸福院",
    "township_home": "敬老院",
    "institution": "养老机构",
    "dementia_unit": "认知障碍照护专区",
}


def test_all_thirteen_kinds_are_loaded_with_their_chinese_names(db):
    assert dict(FacilityKind.objects.values_list("code", "name")) == ALL_KINDS


def test_kinds_carry_the_rules_the_services_read(db):
    street = FacilityKind.objects.get(code="street_centre")
    assert street.level == "street" and street.has_beds and street.min_floor_area_m2 == 1000
    assert FacilityKind.objects.get(code="canteen").required_services == ["meals"]
    assert FacilityKind.objects.get(code="institution").requires_filing
    assert not FacilityKind.objects.get(code="day_care").has_beds
    assert {k.level for k in FacilityKind.objects.all()} == {"district", "street", "community", "village"}
    orders = list(FacilityKind.objects.values_list("order", flat=True))
    assert orders == sorted(orders) and len(set(orders)) == 13


def test_ensure_kinds_restores_missing_kinds_and_keeps_an_administrators_changes(db):
    FacilityKind.objects.filter(code="self_help").delete()
    FacilityKind.objects.filter(code="street_centre").update(min_floor_area_m2=800)
    assert ensure_kinds() == 1
    assert FacilityKind.objects.count() == len(read_kinds()) == 13
    assert FacilityKind.objects.get(code="street_centre").min_floor_area_m2 == 800
    assert ensure_kinds() == 0


def test_kinds_api_lists_every_kind_with_its_rules(cast, client):
    client.force_login(cast.community_worker)
    body = client.get("/api/v1/facilities/kinds").json()
    assert [k["code"] for k in body][:3] == ["district_centre", "street_centre", "day_care"]
    assert len(body) == 13
    street = next(k for k in body if k["code"] == "street_centre")
    assert street["has_beds"] is True and float(street["min_floor_area_m2"]) == 1000


def test_a_city_administrator_changes_a_kinds_rules_on_the_admin_page_and_it_is_audited(cast, client):
    from yanglao.core.models import AuditLog

    url = "/admin/facilities/facilitykind/street_centre/change/"
    client.force_login(cast.district_staff)
    assert client.get(url).status_code in (302, 403)  # district staff use no admin pages
    client.force_login(cast.city_admin)
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data.update(min_floor_area_m2="", required_services="[]", typical_services='["meals"]')
    data = {k: ("on" if v is True else v) for k, v in data.items() if v not in (False, None)}
    assert client.post(url, data).status_code == 302
    assert FacilityKind.objects.get(code="street_centre").min_floor_area_m2 is None
    row = AuditLog.objects.get(action="facility_kind.update")
    assert row.actor == cast.city_admin and "min_floor_area_m2" in row.changes["after"]
