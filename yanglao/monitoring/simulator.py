"""The device simulator (`yanglao simulate_devices`, the demo and the ingest benchmark): simulated devices
for existing elders, and realistic telemetry published over MQTT in the platform's own format
(docs/devices.md).

    devices = prepare(households=200, seed=7)          # registers, or reuses, SIM-<elder id>-<kind>
    report = publish(devices, rate=500, duration=60, sos_every=30, url="mqtt://127.0.0.1:1883")

`prepare` picks active elders (those already simulated first, then those living alone, then the rest)
and gives each an SOS button, a motion sensor, a water meter and an electricity meter, and some of them
a blood-pressure monitor and a smoke detector, in bulk. `publish` sends QoS 1 messages to
yanglao/v1/devices/<serial>/events at `rate` messages a second, paced by a token bucket, without waiting
for each PUBACK: up to `max_inflight` messages are unacknowledged at once, so one process reaches
thousands of messages a second. Message ids are <serial>-<run id>-<counter>: unique across runs."""

from __future__ import annotations

import contextlib
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from yanglao.core import audit
from yanglao.monitoring import ingest
from yanglao.monitoring.enums import DeviceKind, DeviceStatus, EventType
from yanglao.monitoring.models import Device
from yanglao.registry.enums import LivingArrangement
from yanglao.registry.enums import Status as ElderStatus
from yanglao.registry.models import Elder

TOPIC = "yanglao/v1/devices/{serial}/events"
ALARM_TOPIC = "yanglao/v1/devices/{serial}/alarms"  # instant alarms, as the device contract asks
DEFAULT_URL = "mqtt://127.0.0.1:1883"
VENDOR = "模拟设备厂商"
MODEL = "SIM-1"
EVERY_HOME = (
    DeviceKind.SOS_BUTTON,
    DeviceKind.MOTION_SENSOR,
    DeviceKind.WATER_METER,
    DeviceKind.ELECTRICITY_METER,
)
# Mains-powered devices report no battery.
MAINS = frozenset({DeviceKind.WATER_METER, DeviceKind.ELECTRICITY_METER})
# How often each kind speaks, relative to the others (a motion sensor far more than a smoke detector).
WEIGHT: dict[str, int] = {
    DeviceKind.MOTION_SENSOR: 6,
    DeviceKind.WATER_METER: 3,
    DeviceKind.ELECTRICITY_METER: 3,
    DeviceKind.SOS_BUTTON: 1,
    DeviceKind.SMOKE_DETECTOR: 1,
    DeviceKind.BP_MONITOR: 1,
}
BATCH = 2000
# Messages published per pass of the pacing loop: small enough that paho's network thread gets its turn.
CHUNK = 100


class SimulatorError(RuntimeError):
    """The broker cannot be reached or refused the connection."""


@dataclass
class SimDevice:
    """One simulated device and the state its next message continues from."""

    serial: str
    kind: str
    elder_id: int
    battery: float = 100.0
    total: float = 0.0  # a meter's running total (litres or kWh)
    last: float = field(default=0.0, repr=False)  # monotonic time of its last message

    @property
    def topic(self) -> str:
        return TOPIC.format(serial=self.serial)

    @property
    def alarm_topic(self) -> str:
        return ALARM_TOPIC.format(serial=self.serial)


def serial_for(elder_id: int, kind: str) -> str:
    return f"SIM-{elder_id}-{kind}"


def kinds_for(elder_id: int) -> list[str]:
    """The devices a simulated home has: every home the four basic ones; a third of them a blood-pressure
    monitor, a quarter a smoke detector (by the elder's id, so a second run gives the same homes)."""
    kinds = [str(k) for k in EVERY_HOME]
    if elder_id % 3 == 0:
        kinds.append(DeviceKind.BP_MONITOR.value)
    if elder_id % 4 == 1:
        kinds.append(DeviceKind.SMOKE_DETECTOR.value)
    return kinds


def _choose_elders(households: int, rng: random.Random) -> list[tuple[int, str, int | None]]:
    """(id, community, household id) of `households` active elders: those already simulated first (so a
    second run reuses its devices), then those living alone, then the others."""
    simulated = set(
        Device.objects.filter(simulated=True, status=DeviceStatus.ACTIVE, elder__isnull=False)
        .values_list("elder_id", flat=True)
        .distinct()
    )
    rows = list(
        Elder.objects.filter(status=ElderStatus.ACTIVE).values_list(
            "id", "residence_region_id", "household_id", "living_arrangement"
        )
    )
    rows.sort(key=lambda r: r[0])
    rng.shuffle(rows)
    rows.sort(key=lambda r: (r[0] not in simulated, r[3] != LivingArrangement.ALONE))
    return [(pk, region, household) for pk, region, household, _ in rows[:households]]


def prepare(households: int, seed: int | None = None, *, actor: Any = "simulator") -> list[SimDevice]:
    """Register (or reuse) the simulated devices of `households` existing active elders; returns them in a
    stable order. Devices registered before and still active are reused; a retired one is left retired
    and not simulated. Fails with ValueError when there are no elders."""
    if households < 1:
        raise ValueError("households must be 1 or more")
    rng = random.Random(seed)
    chosen = _choose_elders(households, rng)
    if not chosen:
        raise ValueError("there are no active elders to simulate devices for (run `yanglao demo` first)")
    return register_homes(chosen, rng, actor=actor)


def register_homes(
    chosen: Sequence[tuple[int, str, int | None]], rng: random.Random, *, actor: Any = "simulator"
) -> list[SimDevice]:
    """The simulated devices of these homes ((elder id, community, household id) each), registered in
    bulk where missing (one audit row for the lot) and reused where present."""
    wanted = {
        serial_for(pk, kind): (pk, kind, region, household)
        for pk, region, household in chosen
        for kind in kinds_for(pk)
    }
    serials = list(wanted)
    existing: dict[str, str] = {}
    for start in range(0, len(serials), BATCH):
        existing.update(
            Device.objects.filter(serial__in=serials[start : start + BATCH]).values_list("serial", "status")
        )
    missing = [s for s in serials if s not in existing]
    today = timezone.localdate()
    if missing:
        with transaction.atomic():
            Device.objects.bulk_create(
                [
                    Device(
                        kind=wanted[s][1],
                        vendor=VENDOR,
                        model=MODEL,
                        serial=s,
                        elder_id=wanted[s][0],
                        household_id=wanted[s][3],
                        region_id=wanted[s][2],
                        installed_on=today,
                        status=DeviceStatus.ACTIVE,
                        simulated=True,
                    )
                    for s in missing
                ],
                batch_size=BATCH,
                ignore_conflicts=True,
            )
            audit.record(
                actor,
                "device.simulate",
                object_type="monitoring.device",
                after={
                    "registered": len(missing),
                    "reused": len(serials) - len(missing),
                    "households": len(chosen),
                },
            )
        ingest.forget_devices()
    made = []
    for serial in serials:
        if existing.get(serial, DeviceStatus.ACTIVE) != DeviceStatus.ACTIVE:
            continue
        pk, kind, _region, _household = wanted[serial]
        made.append(
            SimDevice(
                serial=serial,
                kind=kind,
                elder_id=pk,
                battery=0.0 if kind in MAINS else rng.uniform(40, 100),
                total=rng.uniform(10_000, 400_000)
                if kind == DeviceKind.WATER_METER
                else rng.uniform(500, 20_000),
            )
        )
    return made


# --- messages --------------------------------------------------------------------------------------
class Telemetry:
    """Makes each device's next message: motion in the daytime, meters' running totals rising at a
    household's pace, heartbeats, now and then a blood pressure (rarely a high one), batteries slowly
    running down, and on demand an SOS."""

    def __init__(self, rng: random.Random, run_id: str, zone: ZoneInfo) -> None:
        self.rng = rng
        self.run_id = run_id
        self.zone = zone
        self.counter = 0

    def _envelope(self, device: SimDevice, type_: str, at: str, data: dict[str, Any] | None) -> bytes:
        self.counter += 1
        body: dict[str, Any] = {
            "id": f"{device.serial}-{self.run_id}-{self.counter}",
            "serial": device.serial,
            "type": type_,
            "at": at,
        }
        if device.kind not in MAINS:
            # About 1% a day at a message every few minutes: visible over a demo, never sudden.
            device.battery = max(3.0, device.battery - self.rng.uniform(0.0, 0.004))
            body["battery"] = int(device.battery)
        if data:
            body["data"] = data
        return json.dumps(body, separators=(",", ":")).encode()

    def next(self, device: SimDevice, now: float, at: str, hour: int) -> bytes:
        rng = self.rng
        daytime = 7 <= hour < 21
        minutes = min(60.0, (now - device.last) / 60.0) if device.last else rng.uniform(0.5, 5.0)
        device.last = now
        kind = device.kind
        if kind == DeviceKind.MOTION_SENSOR:
            if daytime or rng.random() < 0.1:
                return self._envelope(device, EventType.MOTION, at, {"count": rng.randint(1, 6)})
            return self._envelope(device, EventType.HEARTBEAT, at, None)
        if kind == DeviceKind.WATER_METER:
            running = rng.random() < (0.35 if daytime else 0.03)
            flow = round(rng.uniform(2.0, 9.0), 1) if running else 0.0
            device.total += flow * max(minutes, 0.1)
            return self._envelope(
                device, EventType.WATER, at, {"litres": round(device.total, 1), "flow_lpm": flow}
            )
        if kind == DeviceKind.ELECTRICITY_METER:
            watts = round(rng.uniform(120, 1600) if daytime else rng.uniform(30, 220))
            device.total += watts * max(minutes, 0.1) / 60_000
            return self._envelope(
                device, EventType.ELECTRICITY, at, {"kwh": round(device.total, 3), "watts": watts}
            )
        if kind == DeviceKind.BP_MONITOR:
            if rng.random() < 0.01:  # rarely high: the urgent alarm the demo shows
                systolic, diastolic = rng.randint(180, 200), rng.randint(100, 120)
            else:
                systolic = int(min(175, max(100, rng.gauss(132, 12))))
                diastolic = int(min(105, max(60, rng.gauss(82, 8))))
            data = {"systolic": systolic, "diastolic": diastolic, "pulse": rng.randint(58, 92)}
            return self._envelope(device, EventType.BLOOD_PRESSURE, at, data)
        return self._envelope(device, EventType.HEARTBEAT, at, None)

    def sos(self, device: SimDevice, at: str) -> bytes:
        return self._envelope(device, EventType.SOS, at, None)


# --- publishing ------------------------------------------------------------------------------------
def _client(url: str, run_id: str, max_inflight: int) -> tuple[Any, str, int]:
    import paho.mqtt.client as mqtt

    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise SimulatorError(f"the broker URL must start with mqtt:// or mqtts://, not {url!r}")
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"yanglao-sim-{run_id}",
        clean_session=True,
        protocol=mqtt.MQTTv311,
    )
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or "") or None)
    if parts.scheme == "mqtts":
        client.tls_set()
    client.max_inflight_messages_set(max_inflight)
    client.max_queued_messages_set(0)
    client.reconnect_delay_set(1, 10)
    return client, parts.hostname or "127.0.0.1", parts.port or (8883 if parts.scheme == "mqtts" else 1883)


def _now_text(zone: ZoneInfo) -> tuple[str, int]:
    moment = datetime.now(zone)
    return moment.isoformat(timespec="seconds"), moment.hour


def publish(
    devices: Sequence[SimDevice],
    rate: float,
    duration: float,
    sos_every: float | None = None,
    url: str | None = None,
    *,
    seed: int | None = None,
    max_inflight: int = 2000,
    drain_seconds: float = 10.0,
    progress: Callable[[dict[str, Any]], None] | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Publish telemetry from `devices` at `rate` messages a second for `duration` seconds (QoS 1), an
    SOS from a random home every `sos_every` seconds, then wait up to `drain_seconds` for the last
    PUBACKs. Returns {sent, acked, failed, sos, seconds, rate, ack_rate, reconnects, run_id, url, devices}.

    One thread does everything: it publishes and, between passes, runs paho's network loop itself (no
    loop_start thread), which is what lets one Python process pass 10,000 messages a second: a second
    thread would spend its time fighting the first for the interpreter lock."""
    if not devices:
        raise ValueError("no devices to simulate")
    if rate <= 0 or duration <= 0:
        raise ValueError("rate and duration must be more than 0")
    url = url or getattr(settings, "MQTT_URL", None) or DEFAULT_URL
    run_id = secrets.token_hex(4)
    rng = random.Random(seed)
    telemetry = Telemetry(rng, run_id, ZoneInfo(settings.TIME_ZONE))
    client, host, port = _client(url, run_id, max_inflight)
    link = _Link(client)
    client.on_connect = link.on_connect
    client.on_publish = link.on_publish
    try:
        client.connect(host, port, keepalive=30)
    except OSError as error:
        raise SimulatorError(f"cannot connect to the MQTT broker at {url}: {error}") from None
    try:
        deadline = time.monotonic() + 10
        while not link.connected and time.monotonic() < deadline:
            link.pump(0.1)
        if not link.connected:
            raise SimulatorError(f"the MQTT broker at {url} did not accept the connection within 10 s")
        report = _pace(link, devices, telemetry, rng, rate, duration, sos_every, max_inflight, progress, stop)
        deadline = time.monotonic() + drain_seconds
        while link.acked < report["sent"] - report["failed"] and time.monotonic() < deadline:
            link.pump(0.05)
    finally:
        client.disconnect()
        with contextlib.suppress(Exception):
            client.loop(0.1)
    seconds = report["seconds"]
    report.update(
        acked=link.acked,
        rate=round(report["sent"] / seconds, 1) if seconds else 0.0,
        ack_rate=round(link.acked / seconds, 1) if seconds else 0.0,
        reconnects=link.reconnects,
        run_id=run_id,
        url=url,
        devices=len(devices),
    )
    return report


class _Link:
    """The connection as the pacing loop sees it: PUBACKs counted, paho's network loop run on demand,
    and a lost connection re-established (paho keeps unacknowledged messages and sends them again)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.connected = False
        self.acked = 0
        self.reconnects = 0
        self._retry_at = 0.0

    def on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = not reason_code.is_failure

    def on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.acked += 1

    def pump(self, timeout: float) -> None:
        """Read PUBACKs and write what is pending, waiting at most `timeout` seconds for the socket."""
        rc = self.client.loop(timeout)
        if rc == 0:
            return
        self.connected = False
        now = time.monotonic()
        if now < self._retry_at:
            time.sleep(min(timeout, self._retry_at - now))
            return
        self._retry_at = now + 1.0
        try:
            self.client.reconnect()
            self.reconnects += 1
        except OSError:
            pass


def _pace(
    link: _Link,
    devices: Sequence[SimDevice],
    telemetry: Telemetry,
    rng: random.Random,
    rate: float,
    duration: float,
    sos_every: float | None,
    max_inflight: int,
    progress: Callable[[dict[str, Any]], None] | None,
    stop: threading.Event | None,
) -> dict[str, Any]:
    """The token bucket: tokens accrue at `rate` a second up to a tenth of a second's worth (so a stall
    is not followed by a burst), each message spends one; and never more than `max_inflight` messages
    unacknowledged. Ctrl-C ends the run early, with its report."""
    client = link.client
    weights = [WEIGHT.get(d.kind, 1) for d in devices]
    buttons = [d for d in devices if d.kind == DeviceKind.SOS_BUTTON]
    # Draw the devices in blocks: one call to rng.choices per block is far cheaper than one per message.
    block: list[SimDevice] = []
    capacity = max(1.0, rate / 10)
    tokens = 1.0
    sent = failed = sos = 0
    start = last = time.monotonic()
    next_sos = start + sos_every if sos_every else None
    next_report = start + 5
    end = start + duration
    at, hour = _now_text(telemetry.zone)
    stamp_second = int(time.time())
    try:
        while True:
            now = time.monotonic()
            if now >= end or (stop is not None and stop.is_set()):
                break
            tokens = min(capacity, tokens + (now - last) * rate)
            last = now
            if int(time.time()) != stamp_second:
                stamp_second = int(time.time())
                at, hour = _now_text(telemetry.zone)
            if next_sos is not None and now >= next_sos and buttons:
                device = rng.choice(buttons)
                failed += _send(client, device, telemetry.sos(device, at), device.alarm_topic)
                sent += 1
                sos += 1
                next_sos += sos_every or 0
            room = max_inflight - (sent - failed - link.acked)
            n = min(int(tokens), room, CHUNK)
            if n <= 0:
                # Wait on the socket until the next token is due (or for PUBACKs to make room).
                link.pump(min(0.05, max(0.0005, (1 - tokens) / rate)) if room > 0 else 0.001)
                continue
            for _ in range(n):
                if not block:
                    block = rng.choices(devices, weights=weights, k=1024)
                device = block.pop()
                failed += _send(client, device, telemetry.next(device, now, at, hour))
                sent += 1
            tokens -= n
            link.pump(0)
            if progress is not None and now >= next_report:
                next_report = now + 5
                progress({"sent": sent, "acked": link.acked, "seconds": round(now - start, 1)})
    except KeyboardInterrupt:
        pass  # stopped by hand: report what was sent
    return {"sent": sent, "failed": failed, "sos": sos, "seconds": round(time.monotonic() - start, 3)}


def _send(client: Any, device: SimDevice, payload: bytes, topic: str | None = None) -> int:
    """Publish one message (on the device's events topic unless told); 1 when the client refused it,
    else 0. A message published while the connection is down (MQTT_ERR_NO_CONN, 4) is kept by the client
    and sent after it reconnects."""
    info = client.publish(topic or device.topic, payload, qos=1)
    return 0 if info.rc in (0, 4) else 1
