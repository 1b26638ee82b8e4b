"""facility_create: every rule names its field in Chinese (HTTP 422), nothing is written on a refusal,
the kind's data decides beds, grade, floor area and services, and the actor's role and region decide
who may register where."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from yanglao.accounts.models import Organisation
from yanglao.core.errors import Conflict, PermissionDenied, Unprocessable
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, make_credit_code, other_community
from yanglao.facilities import services, signals
from yanglao.facilities.models import Facility, FacilityKind
from yanglao.facilities.tests.conftest import day_care, institution

TOMORROW = (timezone.localdate() + timedelta(days=1)).isoformat()


def refused(actor="tests", **facts):
    with pytest.raises(Unprocessable) as caught:
        services.facility_create(actor=actor, **facts)
    assert Facility.objects.count() == 0
    assert not AuditLog.objects.filter(action="facility.create").exists()
    return caught.value


def test_a_day_care_centre_is_registered_audited_and_announced(cast, django_capture_on_commit_callbacks):
    heard = []
    signals.facility_changed.connect(lambda **kw: heard.append(kw), weak=False, dispatch_uid="t-create")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            facility = services.facility_create(actor=cast.district_staff, **day_care())
    finally:
        signals.facility_changed.disconnect(dispatch_uid="t-create")
    assert facility.kind_id == "day_care" and facility.region_id == HOME_COMMUNITY
    assert facility.status == "operating" and facility.status_since == timezone.localdate()
    assert facility.services == ["meals", "day_care"]  # catalogue order
    assert facility.created_by == cast.district_staff
    assert facility.occupancy_rate is None
    row = AuditLog.objects.get(action="facility.create")
    assert row.actor == cast.district_staff and row.region_code == HOME_COMMUNITY
    assert (
        row.changes["after"]["kind"] == "day_care"
        and row.changes["after"]["name"] == "花园路社区日间照料中心"
    )
    assert heard and heard[0]["action"] == "create"


def test_an_institution_keeps_beds_grade_filing_fees_and_its_occupancy_rate(cast):
    facility = services.facility_create(
        actor=cast.city_admin, **institution(operator=cast.organisations["provider"].pk)
    )
    assert (facility.beds, facility.occupied_beds) == (120, 90)
    assert facility.occupancy_rate == Decimal("0.75") and facility.occupancy_percent == Decimal("75.0")
    assert facility.grade == 3 and facility.ltc_designated and not facility.filing_missing
    assert facility.operator == cast.organisations["provider"]


def test_chinese_labels_are_accepted_for_codes(cast):
    facility = services.facility_create(
        actor=cast.district_staff,
        **day_care(
            kind="社区日间照料中心",
            operating_model="公建民营",
            operator=cast.organisations["provider"],
            services="助餐、日托，助浴",
        ),
    )
    assert facility.kind_id == "day_care" and facility.operating_model == "public_private"
    assert facility.services == ["meals", "bathing", "day_care"]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"name": " "}, "name", "请填写设施名称"),
        ({"name": "长" * 201}, "name", "最多200个字"),
        ({"kind": "nursing"}, "kind", "设施类别“nursing”不存在"),
        ({"kind": ""}, "kind", "请选择设施类别"),
        ({"region": "12a"}, "region", "只能由数字组成"),
        ({"region": "120101999999"}, "region", "不存在"),
        ({"region": "120101"}, "region", "须登记到社区（村）一级"),
        ({"address": "路" * 201}, "address", "最多200个字"),
        ({"latitude": 60}, "latitude", "中国境内"),
        ({"latitude": "北纬39"}, "latitude", "应为数字"),
        ({"longitude": 150.2}, "longitude", "73.5到135.1"),
        ({"longitude": None}, "longitude", "请同时填写经度和纬度"),
        ({"floor_area_m2": 0}, "floor_area_m2", "建筑面积应大于0"),
        ({"floor_area_m2": "很大"}, "floor_area_m2", "应为数字"),
        ({"beds": 10}, "beds", "社区日间照料中心不设床位"),
        ({"occupied_beds": 3}, "occupied_beds", "不设床位"),
        ({"beds": -1}, "beds", "床位数应在0到"),
        ({"operating_model": ""}, "operating_model", "请选择运营模式"),
        ({"operating_model": "承包"}, "operating_model", "不是有效的选项"),
        ({"operating_model": "private"}, "operator", "须填写运营机构"),
        ({"operator": 999999}, "operator", "不存在"),
        ({"services": ["meals", "flying"]}, "services", "服务项目“flying”不在服务目录中"),
        ({"filing_number": "120101-2022-1"}, "filing_date", "请同时填写备案日期"),
        ({"filing_date": "2022-01-05"}, "filing_number", "请同时填写备案号"),
        ({"filing_number": "X1", "filing_date": TOMORROW}, "filing_date", "晚于今天"),
        ({"grade": 3, "grade_date": "2023-01-01"}, "grade", "不参加养老机构等级评定"),
        ({"ltc_designated": "也许"}, "ltc_designated", "应填“是”或“否”"),
        ({"monthly_fee_min": 900, "monthly_fee_max": 600}, "monthly_fee_max", "不能低于下限"),
        ({"monthly_fee_min": -1}, "monthly_fee_min", "应在0到"),
        ({"opening_hours": "早" * 101}, "opening_hours", "最多100个字"),
    ],
)
def test_each_bad_fact_is_refused_naming_its_field(cast, overrides, field, words):
    error = refused(cast.district_staff, **day_care(**overrides))
    assert error.status == 422
    assert [d["field"] for d in error.details] == [field], error.details
    assert words in error.details[0]["message"]
    assert error.field == field


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"beds": 0, "occupied_beds": 0}, "beds", "养老机构设有床位，请填写床位数"),
        ({"beds": 80, "occupied_beds": 81}, "occupied_beds", "在住人数（81）不能多于床位数（80）"),
        ({"grade": 6}, "grade", "应在1到5之间"),
        ({"grade": "三级", "grade_date": None}, "grade_date", "请同时填写评定日期"),
        ({"grade": None}, "grade", "请同时选择等级"),
        ({"grade_date": TOMORROW}, "grade_date", "晚于今天"),
    ],
)
def test_rules_of_kinds_with_beds_and_grades(cast, overrides, field, words):
    error = refused(cast.city_admin, **institution(**overrides))
    assert [d["field"] for d in error.details] == [field], error.details
    assert words in error.details[0]["message"]


def test_a_street_centre_needs_its_minimum_floor_area(cast):
    facts = day_care(
        kind="street_centre", region="120101001", name="劝业场街道养老服务综合体", beds=40, occupied_beds=10
    )
    error = refused(cast.district_staff, **{**facts, "floor_area_m2": Decimal("800")})
    assert error.details[0] == {
        "field": "floor_area_m2",
        "message": "街道养老服务中心/综合体的建筑面积应不少于1000平方米，现为800",
    }
    error = refused(cast.district_staff, **{**facts, "floor_area_m2": None})
    assert "须填写建筑面积（不少于1000平方米）" in error.message
    assert services.facility_create(actor=cast.district_staff, **{**facts, "floor_area_m2": 1000}).pk


def test_a_canteen_must_offer_meals(cast):
    facts = day_care(kind="canteen", name="花园路社区老人家食堂", services=["cleaning"])
    error = refused(cast.district_staff, **facts)
    assert error.details == [{"field": "services", "message": "老人家食堂/助餐点须提供“助餐”服务"}]


def test_a_privately_run_facility_is_not_run_by_a_government_department(cast):
    bureau = Organisation.objects.create(
        name="和平区民政局", kind="government", region_id="120101", credit_code=make_credit_code(50)
    )
    error = refused(cast.district_staff, **day_care(operating_model="public_private", operator=bureau.pk))
    assert error.details[0]["field"] == "operator" and "不能是政府部门" in error.message
    assert (
        services.facility_create(actor=cast.district_staff, **day_care(operator=bureau.pk)).operator == bureau
    )


def test_an_inactive_operator_is_refused(cast):
    provider = cast.organisations["provider"]
    provider.is_active = False
    provider.save()
    error = refused(cast.district_staff, **day_care(operating_model="private", operator=provider.pk))
    assert "已停用" in error.message


def test_every_problem_is_reported_at_once(cast):
    error = refused(
        cast.district_staff, **day_care(name="", latitude=99, beds=5, services=["x"], operating_model="")
    )
    assert {d["field"] for d in error.details} == {"name", "latitude", "beds", "services", "operating_model"}
    assert error.message.startswith("有5项填写有误")


def test_unknown_facts_are_refused(cast):
    error = refused(cast.district_staff, **day_care(colour="red"))
    assert error.field == "colour"


def test_a_rule_changed_in_the_kinds_data_changes_what_is_accepted(cast):
    """No code branches on a kind: giving day-care centres beds makes beds required for them."""
    FacilityKind.objects.filter(code="day_care").update(has_beds=True, gradable=True)
    error = refused(cast.district_staff, **day_care())
    assert error.details[0] == {"field": "beds", "message": "社区日间照料中心设有床位，请填写床位数"}
    facility = services.facility_create(
        actor=cast.district_staff, **day_care(beds=10, grade=2, grade_date="2024-05-01")
    )
    assert facility.beds == 10 and facility.grade == 2


def test_a_second_facility_of_the_same_name_in_the_same_community_is_a_conflict(cast, make_facility):
    make_facility()
    with pytest.raises(Conflict) as caught:
        services.facility_create(actor=cast.district_staff, **day_care())
    assert caught.value.field == "name" and caught.value.status == 409
    elsewhere = services.facility_create(
        actor=cast.city_admin, **day_care(region=other_community(), latitude=None, longitude=None)
    )
    assert elsewhere.name == "花园路社区日间照料中心"


def test_a_filing_number_belongs_to_one_facility(cast):
    services.facility_create(actor=cast.city_admin, **institution())
    with pytest.raises(Conflict) as caught:
        services.facility_create(actor=cast.city_admin, **institution(name="另一养老院"))
    assert caught.value.field == "filing_number"


@pytest.mark.parametrize("role", ["community_worker", "provider_admin", "assessor", "auditor", "elder"])
def test_roles_without_facilities_manage_cannot_register(cast, role):
    with pytest.raises(PermissionDenied):
        services.facility_create(actor=getattr(cast, role), **day_care())
    assert Facility.objects.count() == 0


def test_district_staff_register_only_inside_their_own_region(cast):
    with pytest.raises(PermissionDenied) as caught:
        services.facility_create(actor=cast.other_district_staff, **day_care())
    assert caught.value.field == "region" and "不在您的管辖范围内" in caught.value.message
    other_street = "120101002002"  # 泰安道社区, 小白楼街道
    with pytest.raises(PermissionDenied):
        services.facility_create(actor=cast.street_staff, **day_care(region=other_street))
    assert services.facility_create(actor=cast.street_staff, **day_care()).pk
    assert Facility.objects.count() == 1
