"""facility_update: only the facts given change, the kind's rules are checked on the result, the
change is audited with its before and after, and scope hides other districts' facilities."""

import pytest
from django.utils import timezone

from yanglao.core.errors import Conflict, NotFound, PermissionDenied, Unprocessable
from yanglao.core.models import AuditLog
from yanglao.facilities import services
from yanglao.facilities.tests.conftest import institution


def test_only_the_facts_given_change_and_the_change_is_audited(cast, make_facility):
    facility = make_facility()
    updated = services.facility_update(
        actor=cast.district_staff,
        facility=facility,
        opening_hours="周一至周五 8:30-17:00",
        ltc_designated="是",
    )
    assert updated.opening_hours == "周一至周五 8:30-17:00" and updated.ltc_designated is True
    assert updated.services == ["meals", "day_care"] and updated.address == facility.address
    row = AuditLog.objects.get(action="facility.update")
    assert row.changes == {
        "before": {"opening_hours": "周一至周日 8:00-17:30", "ltc_designated": False},
        "after": {"opening_hours": "周一至周五 8:30-17:00", "ltc_designated": True},
    }
    assert row.region_code == facility.region_id


def test_an_update_that_changes_nothing_writes_no_audit_row(cast, make_facility):
    facility = make_facility()
    services.facility_update(actor=cast.district_staff, facility=facility, name=facility.name)
    assert not AuditLog.objects.filter(action="facility.update").exists()


def test_the_rules_are_checked_on_the_result_of_a_partial_change(cast, make_facility):
    facility = make_facility(institution())
    with pytest.raises(Unprocessable) as caught:
        services.facility_update(actor=cast.city_admin, facility=facility, beds=50)
    assert caught.value.details == [
        {"field": "occupied_beds", "message": "在住人数（90）不能多于床位数（50）"}
    ]
    with pytest.raises(Unprocessable) as caught:
        services.facility_update(actor=cast.city_admin, facility=facility, grade_date=None)
    assert caught.value.field == "grade_date"
    facility.refresh_from_db()
    assert facility.beds == 120 and facility.grade_date is not None
    assert services.facility_update(actor=cast.city_admin, facility=facility, beds=90).occupancy_rate == 1


def test_changing_the_kind_rechecks_the_new_kinds_rules(cast, make_facility):
    facility = make_facility()
    with pytest.raises(Unprocessable) as caught:
        services.facility_update(actor=cast.district_staff, facility=facility, kind="embedded_home")
    assert caught.value.details == [{"field": "beds", "message": "嵌入式养老院设有床位，请填写床位数"}]
    moved = services.facility_update(
        actor=cast.district_staff, facility=facility, kind="embedded_home", beds=30, occupied_beds=12
    )
    assert moved.kind_id == "embedded_home" and moved.filing_missing  # an embedded home must file


def test_clearing_a_required_fact_is_refused(cast, make_facility):
    facility = make_facility()
    with pytest.raises(Unprocessable) as caught:
        services.facility_update(actor=cast.district_staff, facility=facility, name="", operating_model=None)
    assert {d["field"] for d in caught.value.details} == {"name", "operating_model"}


def test_a_facility_of_another_district_is_not_found(cast, make_facility):
    facility = make_facility()
    with pytest.raises(NotFound):
        services.facility_update(actor=cast.other_district_staff, facility=facility, note="x")


def test_moving_a_facility_outside_the_actors_region_is_refused(cast, make_facility):
    facility = make_facility()
    with pytest.raises(PermissionDenied) as caught:
        services.facility_update(actor=cast.district_staff, facility=facility, region="120102001001")
    assert caught.value.field == "region"
    moved = services.facility_update(actor=cast.district_staff, facility=facility, region="120101002002")
    assert moved.region_id == "120101002002"


def test_a_community_worker_cannot_change_a_facility(cast, make_facility):
    facility = make_facility()
    with pytest.raises(PermissionDenied):
        services.facility_update(actor=cast.community_worker, facility=facility, note="x")


def test_renaming_onto_another_facilitys_name_in_the_same_community_is_a_conflict(cast, make_facility):
    make_facility()
    second = make_facility(name="花园路社区养老服务驿站", kind="station")
    with pytest.raises(Conflict):
        services.facility_update(actor=cast.district_staff, facility=second, name="花园路社区日间照料中心")


def test_dates_are_checked_against_the_local_date(cast, make_facility):
    facility = make_facility(institution())
    today = timezone.localdate()
    assert (
        services.facility_update(actor=cast.city_admin, facility=facility, grade_date=today).grade_date
        == today
    )
