"""A batch of messages is stored and acted on once: an SOS raises one critical alarm, further SOS of the
same elder fold into it, a re-delivered message changes nothing, a bad message is refused alone."""

from datetime import timedelta

from django.utils import timezone

from yanglao.monitoring import ingest
from yanglao.monitoring.models import Alarm, Device, Reading
from yanglao.monitoring.tests.conftest import message


def test_an_sos_raises_one_critical_alarm_and_the_next_ones_fold_into_it(devices, elder):
    first = ingest.process([message("SOS-0001", "sos", battery=90)])
    assert first.stored == 1 and len(first.raised) == 1
    alarm = Alarm.objects.get()
    assert (alarm.rule, alarm.severity, alarm.status, alarm.elder_id) == ("sos", "critical", "new", elder.pk)
    again = ingest.process([message("SOS-0001", "sos"), message("SOS-0001", "sos")])
    assert again.raised == [] and again.folded == 1
    alarm.refresh_from_db()
    assert alarm.message_count == 3 and Alarm.objects.count() == 1
    device = Device.objects.get(serial="SOS-0001")
    assert device.battery == 90 and device.last_seen_at is not None


def test_the_same_message_delivered_twice_is_stored_and_acted_on_once(devices):
    sos = message("SOS-0001", "sos")
    assert ingest.process([sos, sos]).as_dict()["duplicates"] == 1
    later = ingest.process([sos])
    assert (later.stored, later.duplicates, later.raised, later.folded) == (0, 1, [], 0)
    assert Reading.objects.count() == 1 and Alarm.objects.get().message_count == 1


def test_a_bad_message_is_refused_alone_with_its_field_named(devices):
    result = ingest.process(
        [
            {"id": "x1", "serial": "SOS-0001", "type": "teleport", "at": timezone.now().isoformat()},
            message("BP-0001", "blood_pressure", data={"systolic": 150}),
            message("NOPE", "sos"),
            message("SOS-0001", "sos", at=timezone.now() + timedelta(hours=1)),
            b"{not json",
            message("BP-0001", "blood_pressure", data={"systolic": 120, "diastolic": 80}),
        ]
    )
    assert (result.stored, result.rejected) == (1, 5)
    assert [p["field"] for p in result.problems] == ["type", "data.diastolic", "at", "message", "serial"]


def test_blood_pressure_at_the_threshold_is_urgent_and_just_below_is_not(devices):
    low = ingest.process([message("BP-0001", "blood_pressure", data={"systolic": 179, "diastolic": 109})])
    assert low.raised == []
    high = ingest.process([message("BP-0001", "blood_pressure", data={"systolic": 150, "diastolic": 110})])
    alarm = Alarm.objects.get(pk=high.raised[0])
    assert (alarm.rule, alarm.severity) == ("blood_pressure", "urgent") and "150/110" in alarm.summary


def test_a_household_threshold_overrides_the_city_value(devices, elder):
    from yanglao.monitoring.models import ElderThreshold

    ElderThreshold.objects.create(elder=elder, key="monitoring.bp_systolic", value=160)
    result = ingest.process([message("BP-0001", "blood_pressure", data={"systolic": 165, "diastolic": 90})])
    assert len(result.raised) == 1


def test_smoke_is_per_detector_and_low_battery_is_maintenance(devices):
    result = ingest.process([message("SMK-0001", "smoke", battery=15)])
    rules = dict(Alarm.objects.filter(pk__in=result.raised).values_list("rule", "severity"))
    assert rules == {"smoke": "critical", "battery_low": "maintenance"}


def test_a_retired_device_is_refused(devices):
    Device.objects.filter(serial="SOS-0001").update(status="removed")
    result = ingest.process([message("SOS-0001", "sos")])
    assert result.rejected == 1 and result.problems[0]["problem"] == "device not active"


def test_the_newest_battery_report_of_a_batch_is_kept_even_when_the_last_message_has_none(devices):
    now = timezone.now()
    ingest.process(
        [
            message("PIR-0001", "motion", at=now - timedelta(minutes=2), battery=55),
            message("PIR-0001", "motion", at=now - timedelta(minutes=1), battery=54),
            message("PIR-0001", "motion", at=now),
        ]
    )
    device = Device.objects.get(serial="PIR-0001")
    assert device.battery == 54 and device.last_seen_at == now


def test_last_seen_is_written_when_it_moves_a_minute_or_the_battery_changes(
    devices, django_capture_on_commit_callbacks
):
    start = timezone.now() - timedelta(minutes=5)

    def process(seconds: int, **extra) -> None:
        with django_capture_on_commit_callbacks(execute=True):  # what was written is remembered on commit
            ingest.process([message("PIR-0001", "motion", at=start + timedelta(seconds=seconds), **extra)])

    seen = lambda: Device.objects.values_list("last_seen_at", "battery").get(serial="PIR-0001")  # noqa: E731
    process(0, battery=80)
    assert seen() == (start, 80)
    process(30, battery=80)
    assert seen() == (start, 80)  # half a minute later, same battery: not worth a row update
    process(40, battery=79)
    assert seen() == (start + timedelta(seconds=40), 79)  # the battery changed
    process(100)
    assert seen() == (start + timedelta(seconds=100), 79)  # a minute on


def test_a_rolled_back_batch_is_not_remembered_as_written(devices):
    from django.db import transaction

    start = timezone.now() - timedelta(minutes=5)
    try:
        with transaction.atomic():
            ingest.process([message("PIR-0001", "motion", at=start)])
            raise RuntimeError("the caller's transaction fails")
    except RuntimeError:
        pass
    ingest.process([message("PIR-0001", "motion", at=start + timedelta(seconds=10))])
    assert Device.objects.get(serial="PIR-0001").last_seen_at == start + timedelta(seconds=10)


def test_a_households_new_threshold_counts_from_the_next_batch(devices, elder):
    from yanglao.monitoring.models import ElderThreshold

    reading = {"systolic": 165, "diastolic": 90}
    assert ingest.process([message("BP-0001", "blood_pressure", data=reading)]).raised == []
    ElderThreshold.objects.create(elder=elder, key="monitoring.bp_systolic", value=160)
    assert len(ingest.process([message("BP-0001", "blood_pressure", data=reading)]).raised) == 1
