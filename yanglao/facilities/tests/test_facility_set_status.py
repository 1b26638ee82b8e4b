"""facility_set_status: suspend, close or reopen with a reason; audited; scope applies."""

import pytest
from django.utils import timezone

from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.facilities import services


def test_suspending_records_the_reason_and_the_date(cast, make_facility):
    facility = make_facility()
    done = services.facility_set_status(
        actor=cast.district_staff, facility=facility, status="suspended", reason="消防整改"
    )
    assert (done.status, done.status_reason, done.status_since) == (
        "suspended",
        "消防整改",
        timezone.localdate(),
    )
    row = AuditLog.objects.get(action="facility.status")
    assert row.changes["before"]["status"] == "operating" and row.changes["after"]["status"] == "suspended"
    reopened = services.facility_set_status(
        actor=cast.district_staff, facility=done, status="operating", reason="整改完成"
    )
    assert reopened.status == "operating"


def test_a_reason_is_required_and_the_status_must_exist(cast, make_facility):
    facility = make_facility()
    with pytest.raises(InvalidInput) as caught:
        services.facility_set_status(
            actor=cast.district_staff, facility=facility, status="closed", reason=" "
        )
    assert caught.value.field == "reason"
    with pytest.raises(InvalidInput) as caught:
        services.facility_set_status(actor=cast.district_staff, facility=facility, status="gone", reason="x")
    assert caught.value.field == "status" and "运营中、暂停、已关闭" in caught.value.message


def test_setting_the_current_status_again_is_a_conflict(cast, make_facility):
    facility = make_facility()
    with pytest.raises(Conflict):
        services.facility_set_status(
            actor=cast.district_staff, facility=facility, status="operating", reason="x"
        )
    assert not AuditLog.objects.filter(action="facility.status").exists()


def test_scope_and_permission_apply(cast, make_facility):
    facility = make_facility()
    with pytest.raises(NotFound):
        services.facility_set_status(
            actor=cast.other_district_staff, facility=facility, status="closed", reason="x"
        )
    with pytest.raises(PermissionDenied):
        services.facility_set_status(
            actor=cast.community_worker, facility=facility, status="closed", reason="x"
        )
