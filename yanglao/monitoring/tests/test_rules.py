"""The timed rules (rules.py), each at its threshold: just under raises nothing, at and over raise one
alarm; a household's own threshold moves the line; repeated evaluations keep one alarm per situation;
no motion counts daytime hours only and only for elders living alone."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from yanglao.core.testing import HOME_COMMUNITY
from yanglao.monitoring import events, rules
from yanglao.monitoring.enums import Rule
from yanglao.monitoring.models import Alarm, Device, ElderThreshold, Reading

_ids = itertools.count(1)
# A day in the future, so no real clock time gets in the way (the tests pass `now`).
DAY = timezone.localdate() + timedelta(days=3)


def at(hour: int, minute: int = 0, *, days: int = 0, second: int = 0) -> datetime:
    """An aware local time on DAY (+ days)."""
    return timezone.make_aware(datetime.combine(DAY + timedelta(days=days), time(hour, minute, second)))


def reading(device: Device, type_: str, when: datetime, v1=None, v2=None) -> Reading:
    return Reading.objects.create(
        message_id=f"T-{next(_ids):07d}",
        device=device,
        elder_id=device.elder_id,
        type=type_,
        at=when,
        received_at=when,
        value1=v1,
        value2=v2,
    )


def seen(device: Device, when: datetime) -> None:
    Device.objects.filter(pk=device.pk).update(last_seen_at=when)


def evaluate(rule: str, now: datetime) -> dict:
    return rules.evaluate(now=now, rules=[rule])


def alarms(rule: str) -> list[Alarm]:
    return list(Alarm.objects.filter(rule=rule).order_by("id"))


# --- no motion ---------------------------------------------------------------------------------------
@pytest.fixture
def pir(devices):
    sensor = devices["motion_sensor"]
    seen(sensor, at(14, 50))
    return sensor


def test_no_motion_raises_at_six_daytime_hours_not_a_minute_before(pir, elder):
    reading(pir, "motion", at(9, 0), 1)
    assert evaluate(Rule.NO_MOTION, at(14, 59))["raised"] == 0
    report = evaluate(Rule.NO_MOTION, at(15, 0))
    assert report["raised"] == 1
    alarm = Alarm.objects.get()
    assert (alarm.rule, alarm.severity, alarm.situation) == ("no_motion", "urgent", f"no_motion:e{elder.pk}")
    assert alarm.elder_id == elder.pk and alarm.device_id == pir.pk and alarm.region_id == HOME_COMMUNITY
    assert alarm.first_at == at(9, 0) and alarm.detail["daytime_hours"] == 6.0
    assert "6 小时" in alarm.summary
    # Over the line, again and again: still the one alarm.
    assert evaluate(Rule.NO_MOTION, at(16, 0))["rules"]["no_motion"]["still_open"] == 1
    evaluate(Rule.NO_MOTION, at(17, 0))
    alarm.refresh_from_db()
    assert Alarm.objects.count() == 1 and alarm.last_at == at(17, 0) and alarm.message_count == 1


def test_night_hours_do_not_count_as_silence(pir):
    # Last seen moving at 20:30; daytime ends 21:00 and starts 07:00: 0.5 h + 5.5 h = 6 h at 12:30.
    reading(pir, "motion", at(20, 30, days=-1), 1)
    seen(pir, at(12, 0))
    assert evaluate(Rule.NO_MOTION, at(12, 29))["raised"] == 0
    assert evaluate(Rule.NO_MOTION, at(12, 30))["raised"] == 1


def test_no_motion_is_not_evaluated_at_night(pir):
    reading(pir, "motion", at(9, 0, days=-2), 1)
    seen(pir, at(22, 50))
    report = evaluate(Rule.NO_MOTION, at(23, 0))
    assert report["raised"] == 0 and report["rules"]["no_motion"]["skipped"] == "night"
    seen(pir, at(6, 50, days=1))
    assert evaluate(Rule.NO_MOTION, at(6, 59, days=1))["raised"] == 0
    assert evaluate(Rule.NO_MOTION, at(7, 0, days=1))["raised"] == 1


def test_only_elders_living_alone_are_watched_for_no_motion(pir, elder):
    reading(pir, "motion", at(7, 0), 1)
    type(elder).objects.filter(pk=elder.pk).update(living_arrangement="with_family")
    assert evaluate(Rule.NO_MOTION, at(15, 0))["raised"] == 0
    type(elder).objects.filter(pk=elder.pk).update(living_arrangement="alone")
    assert evaluate(Rule.NO_MOTION, at(15, 0))["raised"] == 1


def test_an_elder_in_hospital_is_not_watched(pir, elder):
    reading(pir, "motion", at(7, 0), 1)
    type(elder).objects.filter(pk=elder.pk).update(status="in_hospital")
    assert evaluate(Rule.NO_MOTION, at(15, 0))["raised"] == 0


def test_a_household_threshold_moves_the_line(pir, elder):
    ElderThreshold.objects.create(elder=elder, key="monitoring.no_motion_hours", value=8)
    reading(pir, "motion", at(7, 0), 1)
    assert evaluate(Rule.NO_MOTION, at(14, 59))["raised"] == 0
    assert evaluate(Rule.NO_MOTION, at(15, 0))["raised"] == 1
    assert Alarm.objects.get().detail["limit_hours"] == 8


def test_a_motion_report_of_zero_is_not_motion(pir):
    reading(pir, "motion", at(8, 0), 1)
    reading(pir, "motion", at(12, 0), 0)  # the sensor's periodic "nobody moved"
    assert evaluate(Rule.NO_MOTION, at(14, 0))["raised"] == 1


def test_a_dead_sensor_is_not_a_silent_elder(pir):
    reading(pir, "motion", at(7, 0), 1)
    seen(pir, at(7, 0, days=-2))
    assert evaluate(Rule.NO_MOTION, at(15, 0))["raised"] == 0


def test_motion_again_while_the_alarm_is_open_does_not_raise_a_second(pir):
    reading(pir, "motion", at(7, 0), 1)
    assert evaluate(Rule.NO_MOTION, at(13, 0))["raised"] == 1
    reading(pir, "motion", at(13, 30), 1)  # cleared...
    assert evaluate(Rule.NO_MOTION, at(14, 0))["rules"]["no_motion"]["candidates"] == 0
    seen(pir, at(20, 0))
    # ...and silent again for 6 daytime hours (13:30 → 21:00 is 7.5 h), while the alarm is still open.
    report = evaluate(Rule.NO_MOTION, at(20, 0))
    assert report["raised"] == 0 and report["rules"]["no_motion"]["still_open"] == 1
    assert Alarm.objects.count() == 1


def test_a_resolved_episode_is_not_raised_again_but_a_new_one_is(pir, elder):
    from yanglao.monitoring.services import alarm_resolve

    reading(pir, "motion", at(7, 0), 1)
    evaluate(Rule.NO_MOTION, at(13, 0))
    alarm_resolve(actor="tests", alarm=Alarm.objects.get(), outcome="handled_at_home", note="")
    report = evaluate(Rule.NO_MOTION, at(13, 5))
    assert report["raised"] == 0 and report["rules"]["no_motion"]["already_handled"] == 1
    reading(pir, "motion", at(13, 30), 1)
    seen(pir, at(19, 30))
    assert evaluate(Rule.NO_MOTION, at(19, 30))["raised"] == 1
    assert Alarm.objects.filter(situation=f"no_motion:e{elder.pk}").count() == 2


def test_raised_alarms_are_announced_after_commit(pir, django_capture_on_commit_callbacks):
    heard = []

    def listener(sender, alarm_ids, **kwargs):
        heard.extend(alarm_ids)

    events.alarms_raised.connect(listener)
    try:
        reading(pir, "motion", at(7, 0), 1)
        with django_capture_on_commit_callbacks(execute=True):
            evaluate(Rule.NO_MOTION, at(13, 0))
    finally:
        events.alarms_raised.disconnect(listener)
    assert heard == [Alarm.objects.get().pk]


def test_daytime_seconds_span_days():
    seconds = rules.daytime_seconds(at(20, 0, days=-2), at(8, 0), day_starts=7, day_ends=21)
    assert seconds == (1 + 14 + 1) * 3600


# --- water ---------------------------------------------------------------------------------------------
@pytest.fixture
def meter(devices):
    device = devices["water_meter"]
    seen(device, at(15, 0))
    return device


def hourly_totals(device, start: datetime, end: datetime, total_at) -> None:
    moment = start
    while moment <= end:
        reading(device, "water", moment, total_at(moment))
        moment += timedelta(hours=1)


def test_no_water_raises_after_24_hours_without_the_total_rising(meter, elder):
    # The total rose to 1250 at 14:00 yesterday and has not moved since.
    hourly_totals(meter, at(0, 0, days=-2), at(15, 0), lambda m: 1200.0 if m < at(14, 0, days=-1) else 1250.0)
    assert evaluate(Rule.NO_WATER, at(13, 59))["raised"] == 0
    assert evaluate(Rule.NO_WATER, at(14, 0))["raised"] == 1
    alarm = Alarm.objects.get()
    assert alarm.situation == f"no_water:e{elder.pk}" and alarm.first_at == at(14, 0, days=-1)
    assert evaluate(Rule.NO_WATER, at(15, 0))["raised"] == 0 and Alarm.objects.count() == 1


def test_water_used_within_the_window_raises_nothing(meter):
    hourly_totals(meter, at(0, 0, days=-2), at(15, 0), lambda m: 1000.0 + (m.hour // 6) + m.day * 10)
    assert evaluate(Rule.NO_WATER, at(15, 0))["raised"] == 0


def test_no_water_household_threshold(meter, elder):
    ElderThreshold.objects.create(elder=elder, key="monitoring.no_water_hours", value=12)
    hourly_totals(meter, at(0, 0, days=-1), at(15, 0), lambda m: 500.0 if m < at(3, 0) else 510.0)
    assert evaluate(Rule.NO_WATER, at(14, 59))["raised"] == 0
    assert evaluate(Rule.NO_WATER, at(15, 0))["raised"] == 1


def test_an_offline_meter_is_offline_not_dry(meter):
    hourly_totals(meter, at(0, 0, days=-3), at(9, 0, days=-2), lambda m: 700.0)
    seen(meter, at(9, 0, days=-2))
    assert evaluate(Rule.NO_WATER, at(15, 0))["raised"] == 0
    assert evaluate(Rule.OFFLINE, at(15, 0))["raised"] >= 1


def test_a_meter_reporting_only_on_change_is_judged_from_its_last_change(meter):
    reading(meter, "water", at(10, 0, days=-2), 300.0)
    reading(meter, "water", at(9, 0, days=-1), 320.0)  # then heartbeats only
    seen(meter, at(8, 55))
    assert evaluate(Rule.NO_WATER, at(8, 59))["raised"] == 0
    assert evaluate(Rule.NO_WATER, at(9, 0))["raised"] == 1


def flowing(device, start: datetime, end: datetime, *, step=timedelta(minutes=30), flow=lambda m: 6.0):
    moment, total = start, 100.0
    while moment <= end:
        total += 1
        reading(device, "water", moment, total, flow(moment))
        moment += step


def test_water_running_for_three_hours_raises_once_per_meter(meter):
    reading(meter, "water", at(9, 30), 100.0, 0.0)
    flowing(meter, at(10, 0), at(12, 30))
    assert evaluate(Rule.WATER_RUNNING, at(12, 31))["raised"] == 0  # 2.5 h of running
    reading(meter, "water", at(13, 0), 200.0, 5.5)
    assert evaluate(Rule.WATER_RUNNING, at(13, 1))["raised"] == 1
    alarm = Alarm.objects.get()
    assert alarm.situation == f"water_running:d{meter.pk}" and alarm.first_at == at(10, 0)
    reading(meter, "water", at(13, 30), 201.0, 5.5)
    assert evaluate(Rule.WATER_RUNNING, at(13, 31))["raised"] == 0 and Alarm.objects.count() == 1


def test_a_pause_in_the_flow_breaks_the_run(meter):
    flowing(meter, at(9, 0), at(13, 0), flow=lambda m: 0.0 if m == at(11, 0) else 4.0)
    assert evaluate(Rule.WATER_RUNNING, at(13, 1))["raised"] == 0


def test_a_meter_without_flow_runs_when_its_total_rises_at_every_reading(meter):
    totals = iter(range(100, 200, 3))
    moment = at(9, 30)
    while moment <= at(13, 0):
        reading(meter, "water", moment, float(next(totals)))
        moment += timedelta(minutes=30)
    # 09:30 has nothing before it to compare with: the run is seen from 10:00.
    assert evaluate(Rule.WATER_RUNNING, at(12, 59))["raised"] == 0
    assert evaluate(Rule.WATER_RUNNING, at(13, 0))["raised"] == 1


def test_a_total_that_stays_put_once_breaks_the_run(meter):
    values = [100, 103, 106, 106, 109, 112, 115, 118, 121]
    for index, value in enumerate(values):
        reading(meter, "water", at(9, 0) + timedelta(minutes=30 * index), float(value))
    assert evaluate(Rule.WATER_RUNNING, at(13, 1))["raised"] == 0


def test_water_running_household_threshold(meter, elder):
    ElderThreshold.objects.create(elder=elder, key="monitoring.water_running_hours", value=2)
    reading(meter, "water", at(9, 30), 100.0, 0.0)
    flowing(meter, at(10, 0), at(12, 0))
    assert evaluate(Rule.WATER_RUNNING, at(12, 1))["raised"] == 1


# --- electricity -----------------------------------------------------------------------------------
@pytest.fixture
def ele(devices):
    return devices["electricity_meter"]


def daily_use(device, uses: list[float], *, start_total: float = 1000.0) -> None:
    """One reading at 20:00 on each of the days before DAY (the last one yesterday), and one at 23:00
    the day before the first, giving that day its starting total."""
    first = DAY - timedelta(days=len(uses))
    total = start_total
    reading(device, "electricity", _local(first - timedelta(days=1), 23), total)
    for offset, used in enumerate(uses):
        total += used
        reading(device, "electricity", _local(first + timedelta(days=offset), 20), total)
        reading(device, "electricity", _local(first + timedelta(days=offset), 8), total - used / 2)


def _local(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


BASELINE = [4.0, 6.0] * 7  # mean 5, sample standard deviation √(14/13) ≈ 1.0377; 3σ ≈ 3.113


def test_electricity_far_above_the_household_baseline_raises(ele, elder):
    daily_use(ele, [*BASELINE, 8.2])  # 5 + 3.2: outside 3σ
    assert evaluate(Rule.ELECTRICITY, at(0, 30))["raised"] == 1
    alarm = Alarm.objects.get()
    assert alarm.situation == f"electricity:e{elder.pk}" and alarm.detail["kwh"] == pytest.approx(8.2)
    assert alarm.detail["baseline_days"] == 14 and alarm.first_at == _local(DAY - timedelta(days=1), 0)
    assert "偏高" in alarm.summary
    # Evaluated again the same day (or resolved and evaluated again): still the one alarm.
    assert evaluate(Rule.ELECTRICITY, at(9, 0))["raised"] == 0


def test_electricity_just_inside_the_band_raises_nothing(ele):
    daily_use(ele, [*BASELINE, 8.0])  # 5 + 3.0: inside 3σ (3.113)
    assert evaluate(Rule.ELECTRICITY, at(0, 30))["raised"] == 0


def test_electricity_far_below_raises_too(ele):
    daily_use(ele, [*BASELINE, 1.8])
    assert evaluate(Rule.ELECTRICITY, at(0, 30))["raised"] == 1
    assert "偏低" in Alarm.objects.get().summary


def test_electricity_needs_seven_days_of_baseline(ele):
    daily_use(ele, [4.0, 6.0, 4.0, 6.0, 4.0, 6.0, 20.0])  # six baseline days
    assert evaluate(Rule.ELECTRICITY, at(0, 30))["raised"] == 0
    Reading.objects.all().delete()
    daily_use(ele, [4.0, 6.0, 4.0, 6.0, 4.0, 6.0, 5.0, 20.0])  # seven
    assert evaluate(Rule.ELECTRICITY, at(0, 30))["raised"] == 1


def test_electricity_household_deviation(ele, elder):
    ElderThreshold.objects.create(elder=elder, key="monitoring.electricity_deviation", value=2.0)
    daily_use(ele, [*BASELINE, 7.2])  # 2.2 over the mean: outside 2σ (2.075), inside 3σ
    assert evaluate(Rule.ELECTRICITY, at(0, 30))["raised"] == 1


# --- offline ---------------------------------------------------------------------------------------
def test_offline_after_24_hours_one_alarm_per_device(devices):
    Device.objects.exclude(pk=devices["sos_button"].pk).update(status="inactive")
    sos = devices["sos_button"]
    seen(sos, at(15, 0, days=-1))
    assert evaluate(Rule.OFFLINE, at(14, 59))["raised"] == 0
    assert evaluate(Rule.OFFLINE, at(15, 0))["raised"] == 1
    alarm = Alarm.objects.get()
    assert (alarm.severity, alarm.situation, alarm.first_at) == (
        "maintenance",
        f"offline:d{sos.pk}",
        at(15, 0, days=-1),
    )
    assert evaluate(Rule.OFFLINE, at(16, 0))["raised"] == 0 and Alarm.objects.count() == 1


def test_a_device_never_heard_from_after_installation(devices):
    Device.objects.update(status="inactive")
    bp = devices["bp_monitor"]
    Device.objects.filter(pk=bp.pk).update(status="active", installed_on=DAY - timedelta(days=1))
    assert evaluate(Rule.OFFLINE, at(23, 59, days=-1))["raised"] == 0
    report = evaluate(Rule.OFFLINE, at(0, 0))
    assert report["raised"] == 1 and Alarm.objects.get().detail["never_seen"] is True


def test_offline_household_threshold_and_retired_devices(devices, elder):
    Device.objects.exclude(pk=devices["sos_button"].pk).update(status="removed")
    ElderThreshold.objects.create(elder=elder, key="monitoring.offline_hours", value=48)
    seen(devices["sos_button"], at(15, 0, days=-1))
    assert evaluate(Rule.OFFLINE, at(15, 0))["raised"] == 0
    assert evaluate(Rule.OFFLINE, at(15, 0, days=1))["raised"] == 1


def test_evaluate_runs_every_rule_and_reports_each(devices):
    report = rules.evaluate(now=timezone.now() + timedelta(hours=1))
    assert set(report["rules"]) == {"no_motion", "no_water", "water_running", "electricity", "offline"}
    # Every device was registered now and never heard from: not yet 24 h.
    assert report["raised"] == 0


def test_the_situation_keys_are_the_ingests():
    from yanglao.monitoring.ingest import DeviceInfo, Situation

    device = DeviceInfo(7, 3, HOME_COMMUNITY, "water_meter", True)
    for rule in (Rule.NO_WATER, Rule.WATER_RUNNING, Rule.OFFLINE, Rule.SOS):
        assert rules.situation_key(rule, 3, 7) == Situation(rule, device, None, None).key  # type: ignore[arg-type]


def test_the_periodic_jobs_run_the_rules(devices):
    from yanglao.monitoring import tasks

    assert set(tasks.evaluate_rules.call()["rules"]) == {"no_motion", "no_water", "water_running", "offline"}
    assert set(tasks.evaluate_electricity.call()["rules"]) == {"electricity"}
