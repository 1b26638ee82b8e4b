"""The monitoring demo step (`yanglao demo`, order 70): simulated devices for about fifty elders of the
demo community (widening to its street and district when it has fewer), and a few days of their recent
history stored through the real ingest (ingest.process) on the clock of the time it happened: readings,
past SOS and blood-pressure alarms that the demo operator answered and resolved (so the service-level
panel has figures), and three open alarms for the console: an SOS, a high blood pressure, a low battery.

Idempotent: the devices are the simulator's (SIM-<elder id>-<kind>, reused), and the history's message
ids start with DEMO-, so a second run finds them and adds nothing."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from yanglao.accounts.demo import DEMO_COMMUNITY
from yanglao.accounts.models import User
from yanglao.monitoring import ingest, services, simulator
from yanglao.monitoring.enums import DeviceKind, EventType, Outcome
from yanglao.monitoring.models import Alarm, Reading
from yanglao.regions import codes
from yanglao.registry.enums import LivingArrangement
from yanglao.registry.enums import Status as ElderStatus
from yanglao.registry.models import Elder

PREFIX = "DEMO-"
HOMES = 50
DAYS = 3
STEP = timedelta(minutes=15)
# Past alarms and how the operator answered them: (hours ago, rule, seconds to acknowledge, dispatch
# targets, outcome, note). Mostly within the 60-second target, one slow answer, so the panel shows both.
PAST = [
    (70, "sos", 25, ["family"], Outcome.FAMILY_HANDLED, "老人起夜时头晕，女儿已赶到照看"),
    (52, "sos", 41, [], Outcome.FALSE_ALARM, "老人打扫时误按，电话确认平安"),
    (
        46,
        "blood_pressure",
        75,
        ["community_worker"],
        Outcome.HANDLED_AT_HOME,
        "网格员上门复测 150/95，已叮嘱服药",
    ),
    (
        30,
        "sos",
        18,
        ["community_worker", "ambulance"],
        Outcome.SENT_TO_HOSPITAL,
        "老人在卫生间摔倒，120 送医",
    ),
    (20, "sos", 150, ["family"], Outcome.HANDLED_AT_HOME, "坐席忙线，稍后响应；家属已到场"),
    (9, "sos", 33, [], Outcome.FALSE_ALARM, "按钮挂绳被孙子拉到，电话确认无事"),
]


@contextmanager
def _clock(moment: datetime) -> Iterator[None]:
    """Run the ingest and the alarm services as if it were `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _homes(wanted: int) -> list[tuple[int, str, int | None]]:
    """Active elders of the demo community first, then its street, then its district; those living alone
    first within each."""
    rows: list[tuple[int, str, int | None]] = []
    seen: set[int] = set()
    for prefix in (DEMO_COMMUNITY, DEMO_COMMUNITY[:9], DEMO_COMMUNITY[:6]):
        found = (
            Elder.objects.filter(codes.within(prefix, "residence_region_id"), status=ElderStatus.ACTIVE)
            .annotate(
                alone=Case(
                    When(living_arrangement=LivingArrangement.ALONE, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                )
            )
            .order_by("alone", "id")
            .values_list("id", "residence_region_id", "household_id")[: wanted * 2]
        )
        for row in found:
            if row[0] not in seen and len(rows) < wanted:
                seen.add(row[0])
                rows.append(row)
        if len(rows) >= wanted:
            break
    return rows


def _message(device: simulator.SimDevice, type_: str, at: datetime, tick: int, **data: Any) -> dict:
    body: dict[str, Any] = {
        "id": f"{PREFIX}{device.serial}-{tick}-{type_}",
        "serial": device.serial,
        "type": type_,
        "at": at.isoformat(),
    }
    if device.kind not in simulator.MAINS:
        body["battery"] = int(device.battery)
    if data:
        body["data"] = data
    return body


def _history(
    devices: list[simulator.SimDevice], start: datetime, end: datetime, rng: random.Random
) -> dict[datetime, list[dict]]:
    """The homes' ordinary days, by the quarter hour they are received in."""
    batches: dict[datetime, list[dict]] = defaultdict(list)
    tick = 0
    moment = start
    while moment < end:
        tick += 1
        local = timezone.localtime(moment)
        daytime = 7 <= local.hour < 21
        hourly = local.minute < 15
        for device in devices:
            at = moment + timedelta(seconds=rng.randint(0, 800))
            if at >= end:
                continue
            kind = device.kind
            if kind == DeviceKind.MOTION_SENSOR and daytime and rng.random() < 0.7:
                batches[moment].append(_message(device, EventType.MOTION, at, tick, count=rng.randint(1, 6)))
            elif kind == DeviceKind.WATER_METER and hourly:
                flow = rng.uniform(2, 8) if (daytime and rng.random() < 0.5) else 0.0
                device.total += flow * rng.uniform(3, 12)
                batches[moment].append(
                    _message(
                        device,
                        EventType.WATER,
                        at,
                        tick,
                        litres=round(device.total, 1),
                        flow_lpm=round(flow, 1),
                    )
                )
            elif kind == DeviceKind.ELECTRICITY_METER and hourly:
                watts = rng.randint(150, 1500) if daytime else rng.randint(30, 200)
                device.total += watts / 1000
                batches[moment].append(
                    _message(device, EventType.ELECTRICITY, at, tick, kwh=round(device.total, 3), watts=watts)
                )
            elif kind == DeviceKind.BP_MONITOR and local.hour == 8 and local.minute < 15:
                batches[moment].append(
                    _message(
                        device,
                        EventType.BLOOD_PRESSURE,
                        at,
                        tick,
                        systolic=rng.randint(118, 165),
                        diastolic=rng.randint(70, 98),
                        pulse=rng.randint(60, 88),
                    )
                )
            elif (
                kind in (DeviceKind.SOS_BUTTON, DeviceKind.SMOKE_DETECTOR)
                and local.minute < 15
                and local.hour % 6 == 0
            ):
                device.battery = max(25.0, device.battery - rng.uniform(0.1, 0.4))
                batches[moment].append(_message(device, EventType.HEARTBEAT, at, tick))
        moment += STEP
    return batches


def _operator() -> Any:
    return User.objects.filter(username="operator", is_active=True).first() or "demo"


def _handle(
    alarm_id: int, raised: datetime, answer: int, targets: list[str], outcome: str, note: str
) -> None:
    """The demo operator's answer to a past alarm, each step on its own clock."""
    actor = _operator()
    alarm = Alarm.objects.get(pk=alarm_id)
    with _clock(raised + timedelta(seconds=answer)):
        services.alarm_acknowledge(actor=actor, alarm=alarm)
    if targets:
        with _clock(raised + timedelta(seconds=answer + 90)):
            services.alarm_dispatch(actor=actor, alarm=alarm, targets=targets, note="")
    with _clock(raised + timedelta(minutes=35)):
        services.alarm_resolve(actor=actor, alarm=alarm, outcome=outcome, note=note)


def _event(device: simulator.SimDevice, rule: str, at: datetime, tag: str) -> dict:
    if rule == "blood_pressure":
        return _message(device, EventType.BLOOD_PRESSURE, at, 0, systolic=186, diastolic=112, pulse=96) | {
            "id": f"{PREFIX}{device.serial}-{tag}"
        }
    return _message(device, EventType.SOS, at, 0) | {"id": f"{PREFIX}{device.serial}-{tag}"}


def demo_devices(
    *, stdout: Any = None, seed: int = 71, homes: int = HOMES, days: int = DAYS, **options: Any
) -> int:
    """The demo step (see the module's docstring); returns the readings stored."""

    def say(text: str) -> None:
        if stdout is not None:
            stdout.write(text)

    chosen = _homes(homes)
    if not chosen:
        say("demo devices: no elders in the demo community yet (the population step comes first)")
        return 0
    rng = random.Random(seed)
    devices = simulator.register_homes(chosen, rng, actor="demo")
    if Reading.objects.filter(message_id__startswith=PREFIX).exists():
        say(f"demo devices: {len(devices)} devices of {len(chosen)} homes already present with their history")
        return 0
    now = timezone.now()
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    batches = _history(devices, start, now, rng)
    by_kind: dict[str, list[simulator.SimDevice]] = defaultdict(list)
    for device in devices:
        by_kind[device.kind].append(device)
    buttons = by_kind[DeviceKind.SOS_BUTTON]
    monitors = by_kind[DeviceKind.BP_MONITOR] or buttons
    # The past alarms, each at its own moment, handled after it is raised.
    events: dict[datetime, list[tuple[dict, tuple]]] = defaultdict(list)
    past = [p for p in PAST if p[0] < days * 24]
    for index, (hours_ago, rule, answer, targets, outcome, note) in enumerate(past):
        pool = monitors if rule == "blood_pressure" else buttons
        device = pool[index % len(pool)]
        at = now - timedelta(hours=hours_ago, minutes=rng.randint(0, 50))
        slot = start + ((at - start) // STEP) * STEP
        events[slot].append((_event(device, rule, at, f"past{index}"), (answer, targets, outcome, note)))
    stored = 0
    for slot in sorted(set(batches) | set(events)):
        received = min(slot + STEP, now)
        with _clock(received):
            stored += ingest.process(batches.get(slot, []) + [m for m, _ in events.get(slot, [])]).stored
        for message, (answer, targets, outcome, note) in events.get(slot, []):
            alarm = (
                Alarm.objects.filter(detail__message_id=message["id"]).first()
                or Alarm.objects.filter(device__serial=message["serial"], status="new")
                .order_by("-id")
                .first()
            )
            if alarm is not None:
                _handle(alarm.pk, alarm.raised_at, answer, targets, outcome, note)
    # Open now: an SOS a few minutes ago, a high blood pressure, a button whose battery is running out.
    sos_device = buttons[-1]
    low = buttons[len(buttons) // 2]
    low.battery = 12
    opened = [
        _event(sos_device, "sos", now - timedelta(minutes=3), "open-sos"),
        _event(monitors[-1], "blood_pressure", now - timedelta(minutes=18), "open-bp"),
        _message(low, EventType.HEARTBEAT, now - timedelta(minutes=40), 0)
        | {"id": f"{PREFIX}{low.serial}-open-battery"},
    ]
    stored += ingest.process(opened).stored
    say(
        f"demo devices: {len(devices)} devices in {len(chosen)} homes, {stored} readings over {days} days, "
        f"{len(past)} past alarms handled, 3 open"
    )
    return stored
