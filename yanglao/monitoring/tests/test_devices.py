"""Device services: register, update, retire and issue a token. Each refuses bad input naming the field
and writes nothing; each keeps to the actor's region; each is audited (never with the token) and drops
the ingest's device cache after commit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.accounts.roles import Role
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, OTHER_DISTRICT, make_user, other_community
from yanglao.monitoring import devices, ingest, tokens
from yanglao.monitoring.models import Device
from yanglao.monitoring.tests.conftest import message


def register(actor, owner, **facts):
    values = {
        "kind": "sos_button",
        "vendor": "安心科技",
        "serial": "AX-0001",
        "model": "SOS-2",
        "elder": owner,
    }
    values.update(facts)
    return devices.device_register(actor=actor, **values)


def test_a_city_admin_registers_a_device_in_the_elders_community(
    cast, elder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        device = register(cast.city_admin, elder, installed_on=timezone.localdate())
    assert (device.region_id, device.elder_id, device.status, device.simulated) == (
        HOME_COMMUNITY,
        elder.pk,
        "active",
        False,
    )
    assert ingest.forget_devices in callbacks
    row = AuditLog.objects.get(action="device.register")
    assert row.actor == cast.city_admin and row.region_code == HOME_COMMUNITY
    assert row.changes["after"]["serial"] == "AX-0001"


def test_a_household_device_takes_the_households_region(cast, elder):
    from yanglao.registry.models import Household

    home = Household.objects.create(region_id=HOME_COMMUNITY, address="南京路1号")
    device = devices.device_register(
        actor=cast.city_admin, kind="smoke_detector", vendor="安心科技", serial="SMK-9", household=home.pk
    )
    assert (device.region_id, device.household_id, device.elder_id) == (HOME_COMMUNITY, home.pk, None)


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"kind": "teleporter"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"vendor": " "}, "vendor"),
        ({"serial": ""}, "serial"),
        ({"serial": "AX/0001"}, "serial"),
        ({"serial": "A" * 65}, "serial"),
        ({"model": "M" * 61}, "model"),
        ({"installed_on": "明天"}, "installed_on"),
        ({"elder": None}, "elder"),
        ({"elder": 99999999}, "elder"),
        ({"household": 99999999}, "household"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(cast, elder, facts, field):
    with pytest.raises(InvalidInput) as caught:
        register(cast.city_admin, elder, **facts)
    assert field in {d["field"] for d in caught.value.as_dict()["details"]}
    assert not Device.objects.exists() and not AuditLog.objects.filter(action__startswith="device.").exists()


def test_an_install_date_in_the_future_is_refused(cast, elder):
    with pytest.raises(InvalidInput) as caught:
        register(cast.city_admin, elder, installed_on=timezone.localdate() + timedelta(days=1))
    assert caught.value.field == "installed_on"


def test_every_problem_is_reported_at_once(cast, elder):
    with pytest.raises(InvalidInput) as caught:
        register(cast.city_admin, elder, kind="x", vendor="", serial="a b")
    assert [d["field"] for d in caught.value.details] == ["kind", "vendor", "serial"]


def test_a_serial_is_registered_once(cast, elder):
    register(cast.city_admin, elder)
    with pytest.raises(Conflict) as caught:
        register(cast.city_admin, elder, kind="wristband")
    assert caught.value.field == "serial" and Device.objects.count() == 1


def test_a_deceased_elder_gets_no_device(cast, elder):
    type(elder).objects.filter(pk=elder.pk).update(status="deceased")
    elder.refresh_from_db()
    with pytest.raises(InvalidInput) as caught:
        register(cast.city_admin, elder)
    assert caught.value.field == "elder"


def test_without_devices_manage_or_outside_the_region_nothing_is_registered(cast, elder):
    with pytest.raises(PermissionDenied):
        register(cast.operator, elder)
    elsewhere = make_user("hedong_admin", Role.CITY_ADMIN, OTHER_DISTRICT)
    with pytest.raises(PermissionDenied) as caught:
        register(elsewhere, elder)
    assert caught.value.field == "elder" and not Device.objects.exists()


@pytest.fixture
def device(cast, elder):
    return register(cast.city_admin, elder)


def test_update_changes_only_what_is_given_and_audits_the_difference(cast, device):
    updated = devices.device_update(actor=cast.city_admin, device=device, model="SOS-3", vendor="安心科技")
    assert (updated.model, updated.vendor, updated.serial) == ("SOS-3", "安心科技", "AX-0001")
    row = AuditLog.objects.get(action="device.update")
    assert row.changes == {"before": {"model": "SOS-2"}, "after": {"model": "SOS-3"}}


def test_moving_a_device_to_another_elder_moves_its_region(cast, device, make_elder):
    elsewhere = make_elder(other_community(), name="李秀英")
    moved = devices.device_update(actor=cast.city_admin, device=device, elder=elsewhere)
    assert (moved.region_id, moved.elder_id) == (elsewhere.residence_region_id, elsewhere.pk)


def test_update_refuses_bad_values_naming_the_field(cast, device, elder):
    register(cast.city_admin, elder, serial="AX-0002")
    for changes, field, error in [
        ({"serial": "AX-0002"}, "serial", Conflict),
        ({"kind": "nope"}, "kind", InvalidInput),
        ({"status": "removed"}, "status", InvalidInput),
        ({"colour": "red"}, "colour", InvalidInput),
    ]:
        with pytest.raises(error) as caught:
            devices.device_update(actor=cast.city_admin, device=device, **changes)
        assert caught.value.field == field
    device.refresh_from_db()
    assert (device.serial, device.kind, device.status) == ("AX-0001", "sos_button", "active")


def test_outside_the_region_a_device_is_not_found(cast, device):
    elsewhere = make_user("hedong_admin", Role.CITY_ADMIN, OTHER_DISTRICT)
    with pytest.raises(NotFound):
        devices.device_update(actor=elsewhere, device=device, model="x")
    with pytest.raises(NotFound):
        devices.device_get(elsewhere, device.pk)
    with pytest.raises(NotFound):
        devices.device_retire(actor=elsewhere, device=device, reason="x")


def test_a_token_is_issued_once_works_for_ingest_and_is_never_audited(cast, device):
    raw = devices.device_issue_token(actor=cast.city_admin, device=device)
    assert raw.startswith("dev_") and tokens.device_for(raw).pk == device.pk
    again = devices.device_issue_token(actor=cast.city_admin, device=device)
    assert tokens.device_for(raw) is None and tokens.device_for(again).pk == device.pk
    rows = AuditLog.objects.filter(action="device.token").order_by("id")
    assert [r.changes["after"]["replaced"] for r in rows] == [False, True]
    assert all(raw not in str(r.changes) and again not in str(r.changes) for r in rows)
    with pytest.raises(PermissionDenied):
        devices.device_issue_token(actor=cast.operator, device=device)


def test_retiring_stops_messages_and_the_token(cast, device, django_capture_on_commit_callbacks):
    raw = devices.device_issue_token(actor=cast.city_admin, device=device)
    assert ingest.process([message("AX-0001", "heartbeat")]).stored == 1
    with pytest.raises(InvalidInput) as caught:
        devices.device_retire(actor=cast.city_admin, device=device, reason=" ")
    assert caught.value.field == "reason"
    with django_capture_on_commit_callbacks(execute=True):
        retired = devices.device_retire(actor=cast.city_admin, device=device, reason="老人入住养老机构")
    assert retired.status == "removed" and retired.token_hash is None and tokens.device_for(raw) is None
    refused = ingest.process([message("AX-0001", "heartbeat")])
    assert refused.rejected == 1 and refused.problems[0]["problem"] == "device not active"
    row = AuditLog.objects.get(action="device.retire")
    assert row.changes["after"] == {"status": "removed", "reason": "老人入住养老机构"}
    with pytest.raises(Conflict):
        devices.device_retire(actor=cast.city_admin, device=device, reason="again")
    with pytest.raises(Conflict):
        devices.device_update(actor=cast.city_admin, device=device, model="x")
    with pytest.raises(Conflict):
        devices.device_issue_token(actor=cast.city_admin, device=device)


def test_a_system_job_is_trusted(elder):
    device = register("import_devices", elder)
    assert AuditLog.objects.get(action="device.register").actor_name == "import_devices"
    assert device.pk
