"""The monitoring demo step: simulated devices for the demo community's elders, a few days of history
through the real ingest, past alarms answered by the demo operator (on their own clock), three open
alarms for the console; a second run adds nothing."""

from yanglao.core import demo as core_demo
from yanglao.core.testing import HOME_COMMUNITY
from yanglao.monitoring import demo
from yanglao.monitoring.models import Alarm, Device, Reading

NAMES = ("王建国", "李秀英", "张桂兰", "刘德华", "陈玉梅", "杨振华")


def test_the_step_is_registered_after_the_orders_step():
    step = core_demo.STEPS["monitoring.devices"]
    assert step.order == 70 and step.order > core_demo.STEPS["orders.demo"].order


def test_the_demo_gives_the_console_a_past_and_three_open_alarms_once(cast, make_elder):
    elders = [make_elder(HOME_COMMUNITY, name=n, living_arrangement="alone") for n in NAMES]
    stored = demo.demo_devices(homes=6, days=3)
    devices = Device.objects.filter(simulated=True)
    assert {d.elder_id for d in devices} == {e.pk for e in elders}
    assert stored > 500 and Reading.objects.count() == stored
    resolved = list(Alarm.objects.filter(status="resolved"))
    assert len(resolved) == len(demo.PAST)
    answers = sorted(round((a.acknowledged_at - a.raised_at).total_seconds()) for a in resolved)
    assert answers == sorted(p[2] for p in demo.PAST)
    assert all(a.acknowledged_by == cast.operator and a.outcome for a in resolved)
    open_rules = sorted(Alarm.objects.exclude(status="resolved").values_list("rule", flat=True))
    assert open_rules == ["battery_low", "blood_pressure", "sos"]
    counts = (Device.objects.count(), Reading.objects.count(), Alarm.objects.count())
    assert demo.demo_devices(homes=6, days=3) == 0
    assert (Device.objects.count(), Reading.objects.count(), Alarm.objects.count()) == counts


def test_without_elders_the_step_does_nothing(db):
    assert demo.demo_devices() == 0 and not Device.objects.exists()
