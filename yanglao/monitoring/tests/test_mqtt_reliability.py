"""The MQTT ingest loses nothing and counts nothing twice, against a real Mosquitto on 127.0.0.1:1883 run
with the shipped configuration (config/mosquitto/yanglao.conf; .ci/run starts it):

- a worker killed while 1,000 SOS are in flight, and started again: exactly one alarm per SOS;
- Mosquitto restarted mid-stream: the worker and the publisher reconnect by themselves, nothing sent with
  QoS 1 is lost;
- the same message delivered twice: one reading, one alarm;
- a stopped worker's backlog larger than Mosquitto's default queue (1,000): all of it arrives.

Where the worker runs. It must see the rows the test commits and the test must see the worker's, so the
tests use `transactional_db`. On PostgreSQL the worker is a real `manage.py ingest_mqtt` process on the
test database and "killed" is SIGKILL. On SQLite pytest-django's test database lives in memory
(``file:memorydb_default?mode=memory&cache=shared``), which no other process can open, so the worker runs
in a thread of the test process (IngestWorker, the code the command runs) and "killed" is
IngestWorker.kill(): the connection dropped without DISCONNECT and nothing stored or acknowledged from that
moment, which is all the broker can see of a killed process. SQLite's shared cache locks whole tables
without waiting, so while a worker thread writes, the test reads the worker's counters, and reads the
database once the worker has stopped.

Each test uses its own share group and worker names, unique per run, so no session left by another run
can take its messages, and ends its workers' sessions at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from yanglao.core import idcard
from yanglao.core.probe import answers
from yanglao.core.testing import HOME_COMMUNITY, require_service, services_required
from yanglao.monitoring.models import Alarm, Device, Reading
from yanglao.monitoring.mqtt import (
    CLIENT_PREFIX,
    LANE_TOPICS,
    IngestWorker,
    alarm_topic,
    broker_from_url,
    device_topic,
    make_client,
)
from yanglao.registry.models import Elder

pytestmark = pytest.mark.services

URL = "mqtt://127.0.0.1:1883"
CONF = Path(settings.BASE_DIR) / "config" / "mosquitto" / "yanglao.conf"
PID_FILE = Path("/tmp/yanglao-mosquitto.pid")


@pytest.fixture
def broker():
    require_service("Mosquitto (MQTT)", URL)


@pytest.fixture
def run_id():
    return uuid.uuid4().hex[:10]


def shipped_broker_pid() -> int | None:
    """The pid of the Mosquitto running config/mosquitto/yanglao.conf, or None."""
    try:
        pid = int(PID_FILE.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if b"mosquitto" not in Path(cmdline[0].decode()).name.encode() or not any(
        arg.endswith(b"yanglao.conf") for arg in cmdline
    ):
        return None
    return pid


@pytest.fixture
def shipped_broker(broker):
    """The running broker was started from the shipped configuration (and this test may restart it)."""
    pid = shipped_broker_pid()
    reason = None
    if pid is None:
        reason = f"the Mosquitto on {URL} was not started from {CONF} (no {PID_FILE} naming it)"
    elif not os.access(f"/proc/{pid}", os.W_OK) and os.geteuid() != 0:
        reason = "this user may not restart the running Mosquitto"
    if reason:
        if services_required():
            pytest.fail(f"{reason}; .ci/run starts it with `mosquitto -d -c {CONF}`")
        pytest.skip(f"!!! SKIPPED: {reason}; start it with `mosquitto -d -c {CONF}` !!!")
    return pid


def restart_broker(pid: int) -> None:
    """SIGTERM (Mosquitto saves its sessions), wait for it to go, start it again from the shipped file."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("Mosquitto did not stop within 20 s")
    subprocess.run(["mosquitto", "-d", "-c", str(CONF)], check=True)
    deadline = time.monotonic() + 20
    while not answers(URL, timeout=0.5):
        assert time.monotonic() < deadline, "Mosquitto did not come back within 20 s"
        time.sleep(0.1)


def end_session(client_id: str) -> None:
    """Delete a worker's persistent session on the broker (connect with clean start, expire at once)."""
    if not answers(URL, timeout=1):
        return
    client = make_client(broker_from_url(URL), client_id)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    try:
        client.connect("127.0.0.1", 1883, clean_start=True, properties=properties)
        client.loop_start()
        time.sleep(0.2)
        client.disconnect()
    finally:
        client.loop_stop()


# --- publishing ------------------------------------------------------------------------------------------
class Publisher:
    """A QoS 1 publisher that behaves as the device contract asks (mqtt.py): paho keeps every
    unacknowledged message and sends it again after reconnecting, and a message the broker acknowledges
    with reason code 16, "no matching subscribers" (right after a broker restart, before the workers have
    subscribed again: Mosquitto 2.0 does not persist shared subscriptions), is published again."""

    def __init__(self) -> None:
        self.client = make_client(broker_from_url(URL), f"yanglao-test-pub-{uuid.uuid4().hex[:8]}")
        self.client.max_inflight_messages_set(500)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.lock = threading.Lock()
        self.pending: dict[int, tuple[str, str, str]] = {}  # mid -> (message id, topic, payload)
        self.early: dict[int, object] = {}
        self.sent: list[str] = []
        self.acknowledged: set[str] = set()
        self.republished = 0
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", 1883, keepalive=10)
        self.client.loop_start()

    # paho calls on_publish holding its own lock, so this lock is never held while calling paho.
    def _publish(self, message_id: str, topic: str, payload: str) -> None:
        entry = (message_id, topic, payload)
        info = self.client.publish(topic, payload, qos=1)
        with self.lock:
            early = self.early.pop(info.mid, None)
            if early is None:
                self.pending[info.mid] = entry
                return
        self._settle(entry, early)

    def _on_publish(self, client, userdata, mid, reason, properties) -> None:
        with self.lock:
            entry = self.pending.pop(mid, None)
            if entry is None:  # acknowledged before _publish had noted it
                self.early[mid] = reason
                return
        self._settle(entry, reason)

    def _settle(self, entry: tuple[str, str, str], reason) -> None:
        if reason.value == 16:  # no matching subscribers: not taken, publish it again shortly
            self.republished += 1
            threading.Timer(0.2, self._publish, entry).start()
        elif not reason.is_failure:
            self.acknowledged.add(entry[0])

    def send(
        self,
        messages: Iterable[dict],
        *,
        per_second: float | None = None,
        topic: Callable[[dict], str] = lambda message: device_topic(message["serial"]),
    ) -> None:
        started = time.monotonic()
        for count, message in enumerate(messages, start=1):
            self.sent.append(message["id"])
            self._publish(message["id"], topic(message), json.dumps(message))
            if per_second:
                ahead = started + count / per_second - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)

    def wait_all_acknowledged(self, timeout: float) -> int:
        wait_for(
            lambda: self.acknowledged.issuperset(self.sent),
            timeout,
            "the broker to acknowledge every publish",
        )
        return len(self.acknowledged)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker):
    made = Publisher()
    yield made
    made.close()


def message(serial: str, type_: str, id_: str, **extra) -> dict:
    return {"id": id_, "serial": serial, "type": type_, "at": timezone.now().isoformat(), **extra}


# --- the worker, in a process (PostgreSQL) or a thread (SQLite) ---------------------------------------------
def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """`ingest_mqtt` as the tests drive it, both lanes (events and alarms): start, kill (-9), stop
    (SIGTERM)."""

    in_process = False

    def __init__(self, name: str, group: str, **options) -> None:
        self.name, self.group, self.options = name, group, options
        self.client_id = CLIENT_PREFIX + name
        self.client_ids = [self.client_id, f"{CLIENT_PREFIX}alarms-{name}"]

    @staticmethod
    def make(name: str, group: str, **options) -> Worker:
        if connection.vendor == "postgresql":
            return ProcessWorker(name, group, **options)
        return ThreadWorker(name, group, **options)


class ThreadWorker(Worker):
    in_process = True

    def start(self) -> None:
        self.lanes = [
            IngestWorker(url=URL, lane=lane, name=self.name, group=self.group, log_every=5, **self.options)
            for lane in LANE_TOPICS
        ]
        for lane in self.lanes:
            lane.start()
            assert lane.wait_subscribed(20), f"the {lane.lane} lane did not subscribe within 20 s"

    def kill(self) -> None:
        for lane in self.lanes:
            lane.kill()

    def stop(self) -> None:
        for lane in self.lanes:
            lane.stop()

    @property
    def stored(self) -> int:
        return sum(lane.stats.stored for lane in self.lanes)

    @property
    def connects(self) -> int:
        return self.lanes[0].stats.connects


class ProcessWorker(Worker):
    def start(self) -> None:
        command = [sys.executable, "manage.py", "ingest_mqtt", "--url", URL, "--name", self.name]
        command += ["--group", self.group, "--log-every", "5"]
        if "batch" in self.options:
            command += ["--batch", str(self.options["batch"])]
        if "wait_ms" in self.options:
            command += ["--wait-ms", str(self.options["wait_ms"])]
        env = {**os.environ, "DATABASE_URL": database_url(), "YANGLAO_ENV": "test", "PYTHONUNBUFFERED": "1"}
        self.lines: list[str] = []
        self.subscribed = threading.Event()
        self.process = subprocess.Popen(  # noqa: S603 (our own command)
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,  # the alarm lane's child process writes here too
            text=True,
            start_new_session=True,  # so that kill() can kill both lanes at once
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self.subscribed.wait(30):
            self.kill()
            raise AssertionError("the lanes did not subscribe within 30 s:\n" + "".join(self.lines[-30:]))

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            if sum(" subscribed to " in line for line in self.lines) >= len(LANE_TOPICS):
                self.subscribed.set()

    def kill(self) -> None:
        # SIGKILL to both lanes: no batch finished, no acknowledgement, no DISCONNECT
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        sys.stderr.write(f"--- {self.client_id} (pid {self.process.pid}, killed) ---\n" + "".join(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
        sys.stderr.write(f"--- {self.client_id} (pid {self.process.pid}) ---\n" + "".join(self.lines))

    @property
    def connects(self) -> int:
        return sum(" connected to " in line and self.client_id + " " in line for line in self.lines)


@pytest.fixture
def workers(broker, run_id):
    """make(name, **options): a worker of this test's own group; all stopped and their sessions ended
    at the end."""
    made: list[Worker] = []
    group = f"yanglao-test-{run_id}"

    def make(name: str, **options) -> Worker:
        worker = Worker.make(f"t{run_id}-{name}", group, **options)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        with contextlib.suppress(Exception):  # a worker killed by the test is already gone
            worker.stop()
    for client_id in {client_id for w in made for client_id in w.client_ids}:
        end_session(client_id)


def stored_total(workers: list[Worker], id_prefix: str) -> int:
    """Readings stored so far: the workers' own counts in a thread (SQLite), the database otherwise."""
    if workers[0].in_process:
        return sum(w.stored for w in workers if hasattr(w, "lanes"))
    return Reading.objects.filter(message_id__startswith=id_prefix).count()


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, progress: Callable[[], object] = lambda: ""
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what} {progress()}"
        time.sleep(0.05)


# --- data ------------------------------------------------------------------------------------------------
def make_elders_with_devices(count: int, run_id: str, kind: str = "sos_button") -> list[Device]:
    """`count` elders, each with one device, bulk-created (valid, unique ID numbers)."""
    elders = []
    for i in range(count):
        born = date(1938, 1, 1) + timedelta(days=i // 400)
        first17 = f"120101{born:%Y%m%d}{(i % 400) * 2 + 1:03d}"
        elders.append(
            Elder(
                name=f"测试老人{i}",
                id_number=first17 + idcard.check_character(first17),
                birth_date=born,
                sex="male",
                residence_region_id=HOME_COMMUNITY,
                living_arrangement="alone",
            )
        )
    Elder.objects.bulk_create(elders, batch_size=500)
    elders = list(Elder.objects.filter(name__startswith="测试老人").order_by("id")[:count])
    devices = [
        Device(
            kind=kind,
            vendor="测试厂商",
            serial=f"{run_id}-{kind[:3].upper()}-{i:04d}",
            elder=elder,
            region_id=HOME_COMMUNITY,
        )
        for i, elder in enumerate(elders)
    ]
    return Device.objects.bulk_create(devices, batch_size=500)


def make_devices(count: int, run_id: str, kind: str = "motion_sensor") -> list[Device]:
    devices = [
        Device(kind=kind, vendor="测试厂商", serial=f"{run_id}-M-{i:03d}", region_id=HOME_COMMUNITY)
        for i in range(count)
    ]
    return Device.objects.bulk_create(devices)


# --- the tests -------------------------------------------------------------------------------------------
def test_a_worker_killed_mid_stream_and_started_again_makes_each_sos_exactly_one_alarm(
    tianjin, transactional_db, workers, publisher, run_id
):
    devices = make_elders_with_devices(1000, run_id)
    first = workers("a", batch=100, wait_ms=20)
    first.start()
    sos = [message(d.serial, "sos", f"{run_id}-sos-{i:04d}") for i, d in enumerate(devices)]

    def half_on_the_alarms_topic(sos: dict) -> str:  # the other half from devices that send all as events
        number = int(sos["id"].rsplit("-", 1)[1])
        return (alarm_topic if number % 2 else device_topic)(sos["serial"])

    sender = threading.Thread(
        target=publisher.send, args=(sos,), kwargs={"per_second": 2500, "topic": half_on_the_alarms_topic}
    )
    sender.start()

    wait_for(lambda: stored_total([first], run_id) >= 200, 40, "the first 200 SOS to be stored")
    first.kill()
    killed_at = stored_total([first], run_id)
    assert killed_at < 1000, "the worker was killed after the stream had ended: the test proves nothing"
    sender.join(30)
    assert publisher.wait_all_acknowledged(30) == 1000

    second = workers("a", batch=100, wait_ms=20)  # the same name: the same session
    second.start()
    wait_for(lambda: stored_total([first, second], run_id) >= 1000, 45, "all 1,000 SOS to be stored")
    second.stop()

    assert Reading.objects.filter(message_id__startswith=run_id).count() == 1000
    alarms = Alarm.objects.filter(device__serial__startswith=run_id)
    assert alarms.count() == 1000
    assert alarms.values("elder_id").distinct().count() == 1000
    # A message stored before the kill and delivered again after it was not counted again.
    assert set(alarms.values_list("rule", "message_count").distinct()) == {("sos", 1)}


def test_mosquitto_restarted_mid_stream_loses_nothing_sent_with_qos_1(
    tianjin, transactional_db, shipped_broker, workers, publisher, run_id
):
    devices = make_devices(50, run_id)
    worker = workers("b")
    worker.start()
    motion = [
        message(devices[i % 50].serial, "motion", f"{run_id}-mo-{i:05d}", data={"count": 1})
        for i in range(3000)
    ]
    sender = threading.Thread(target=publisher.send, args=(motion,), kwargs={"per_second": 1000})
    sender.start()
    wait_for(lambda: stored_total([worker], run_id) >= 300, 20, "the first 300 messages to be stored")
    restart_broker(shipped_broker)
    sender.join(60)
    assert publisher.wait_all_acknowledged(45) == 3000
    wait_for(
        lambda: stored_total([worker], run_id) >= 3000,
        45,
        "all 3,000 messages to be stored",
        lambda: f"(stored {stored_total([worker], run_id)}, published again {publisher.republished})",
    )
    assert worker.connects >= 2, "the worker did not reconnect by itself"
    worker.stop()
    assert Reading.objects.filter(message_id__startswith=run_id).count() == 3000


def test_the_same_message_delivered_twice_makes_one_reading_and_one_alarm(
    tianjin, transactional_db, workers, publisher, run_id
):
    (device,) = make_elders_with_devices(1, run_id)
    worker = workers("c")
    worker.start()
    sos = message(device.serial, "sos", f"{run_id}-twice")
    # Twice at once on the two lanes' topics (two connections, two database connections), then once more
    # after it was stored.
    publisher.send([sos], topic=lambda m: alarm_topic(m["serial"]))
    publisher.send([sos])
    publisher.wait_all_acknowledged(10)
    wait_for(lambda: stored_total([worker], run_id) >= 1, 20, "the SOS to be stored")
    publisher.send([sos], topic=lambda m: alarm_topic(m["serial"]))
    publisher.wait_all_acknowledged(10)
    time.sleep(1.0)
    worker.stop()
    assert Reading.objects.filter(message_id=sos["id"]).count() == 1
    alarm = Alarm.objects.get(device=device)
    assert (alarm.rule, alarm.message_count) == ("sos", 1)


def test_a_stopped_workers_backlog_beyond_mosquittos_default_queue_all_arrives(
    tianjin, transactional_db, shipped_broker, workers, publisher, run_id
):
    devices = make_devices(20, run_id)
    worker = workers("d")
    worker.start()  # the session and its subscription exist from now on
    worker.stop()
    backlog = [
        message(devices[i % 20].serial, "heartbeat", f"{run_id}-hb-{i:05d}", battery=80) for i in range(3000)
    ]
    publisher.send(backlog)
    assert publisher.wait_all_acknowledged(30) == 3000
    again = workers("d")
    again.start()
    wait_for(lambda: stored_total([worker, again], run_id) >= 3000, 40, "the whole backlog of 3,000")
    again.stop()
    assert Reading.objects.filter(message_id__startswith=run_id).count() == 3000
