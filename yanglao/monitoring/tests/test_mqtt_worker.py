"""The ingest worker against a real Mosquitto (skipped loudly without one): a database error keeps the
batch unacknowledged and retries it until it is stored once; a message that breaks processing is isolated
and the rest of its batch is stored; a payload naming another device than its topic, or an unknown vendor,
is refused and acknowledged; vendor topics go through the adapter. The worker runs in a thread of the test
process (see test_mqtt_reliability.py for why) on both databases."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from django.db import OperationalError

from yanglao.core.testing import HOME_COMMUNITY, require_service
from yanglao.monitoring import ingest
from yanglao.monitoring.models import Device, Reading
from yanglao.monitoring.mqtt import (
    IngestWorker,
    alarm_topic,
    broker_from_url,
    device_topic,
    make_client,
    vendor_alarm_topic,
    vendor_topic,
)
from yanglao.monitoring.tests.test_mqtt_reliability import end_session, wait_for

pytestmark = pytest.mark.services
URL = "mqtt://127.0.0.1:1883"


@pytest.fixture
def run_id():
    require_service("Mosquitto (MQTT)", URL)
    return uuid.uuid4().hex[:10]


@pytest.fixture
def worker(run_id, transactional_db, tianjin):
    made = []

    def make(**options):
        options.setdefault("retry_seconds", 0.2)
        started = IngestWorker(url=URL, name=f"w{run_id}", group=f"yanglao-test-{run_id}", **options)
        started.start()
        assert started.wait_subscribed(20)
        made.append(started)
        return started

    yield make
    for started in made:
        started.stop()
    for client_id in {started.client_id for started in made} | {f"yanglao-ingest-w{run_id}"}:
        end_session(client_id)


@pytest.fixture
def publish():
    client = make_client(broker_from_url(URL), f"yanglao-test-pub-{uuid.uuid4().hex[:8]}")
    client.connect("127.0.0.1", 1883)
    client.loop_start()

    def send(topic, payload):
        info = client.publish(
            topic, payload if isinstance(payload, str | bytes) else json.dumps(payload), qos=1
        )
        info.wait_for_publish(10)

    yield send
    client.disconnect()
    client.loop_stop()


def native(serial, id_, type_="heartbeat", **extra):
    return {"id": id_, "serial": serial, "type": type_, "at": datetime.now(tz=UTC).isoformat(), **extra}


def test_a_database_error_keeps_the_batch_and_retries_it_until_stored(worker, publish, run_id, monkeypatch):
    Device.objects.create(kind="motion_sensor", vendor="t", serial=f"{run_id}-1", region_id=HOME_COMMUNITY)
    real = ingest.process
    failures = []

    def flaky(messages, **kw):
        if len(failures) < 2:
            failures.append(len(messages))
            raise OperationalError("database is locked (simulated)")
        return real(messages, **kw)

    monkeypatch.setattr(ingest, "process", flaky)
    running = worker()
    publish(device_topic(f"{run_id}-1"), native(f"{run_id}-1", f"{run_id}-m1"))
    wait_for(lambda: running.stats.stored == 1, 20, "the message to be stored after the errors")
    assert running.stats.db_errors == 2 and running.stats.acked == 1
    running.stop()
    again = (
        worker()
    )  # acknowledged: not delivered again (other traffic on the broker is refused, not a duplicate)
    time.sleep(1.0)
    again.stop()
    assert again.stats.duplicates == 0 and again.stats.stored == 0
    assert Reading.objects.filter(message_id=f"{run_id}-m1").count() == 1


def test_a_message_that_breaks_processing_is_isolated_and_the_rest_is_stored(
    worker, publish, run_id, monkeypatch
):
    serial = f"{run_id}-1"
    Device.objects.create(kind="motion_sensor", vendor="t", serial=serial, region_id=HOME_COMMUNITY)
    real = ingest.process

    def breaks_on_poison(messages, **kw):
        if any(m.get("id") == f"{run_id}-poison" for m in messages):
            raise ValueError("a bug")
        return real(messages, **kw)

    monkeypatch.setattr(ingest, "process", breaks_on_poison)
    running = worker(wait_ms=300)
    publish(device_topic(serial), [native(serial, f"{run_id}-a"), native(serial, f"{run_id}-poison")])
    publish(device_topic(serial), native(serial, f"{run_id}-b"))
    wait_for(lambda: running.stats.stored == 2 and running.stats.poison == 1, 20, "the healthy messages")
    running.stop()
    assert set(Reading.objects.values_list("message_id", flat=True)) == {f"{run_id}-a", f"{run_id}-b"}


def test_refused_payloads_are_acknowledged_and_vendor_topics_are_translated(worker, publish, run_id):
    Device.objects.create(kind="sos_button", vendor="安心", serial=f"{run_id}-AX", region_id=HOME_COMMUNITY)
    Device.objects.create(kind="bp_monitor", vendor="嘉禾", serial=f"{run_id}-JH", region_id=HOME_COMMUNITY)
    running = worker()
    now = datetime.now(tz=UTC)
    publish(
        device_topic(f"{run_id}-AX"), native(f"{run_id}-JH", f"{run_id}-wrong")
    )  # another device's serial
    publish(device_topic(f"{run_id}-AX"), b"{not json")
    publish(vendor_topic("acme"), b"{}")  # unknown vendor
    anxin = {
        "deviceId": f"{run_id}-AX",
        "msgId": run_id,
        "ts": int(now.timestamp() * 1000),
        "event": "SOS_ALARM",
    }
    publish(vendor_topic("anxin"), anxin)
    publish(
        vendor_topic("jiahe", "gw-1/up"),
        f"dev={run_id}-JH;seq=9;t={int(now.timestamp())};type=bp;sys=120;dia=80",
    )
    without_serial = native(f"{run_id}-AX", f"{run_id}-own")
    del without_serial["serial"]
    publish(device_topic(f"{run_id}-AX"), without_serial)
    wait_for(lambda: running.stats.stored == 3 and running.stats.rejected >= 3, 20, "all six deliveries")
    running.stop()
    assert running.stats.acked >= 6
    assert set(Reading.objects.values_list("message_id", flat=True)) == {
        f"anxin-{run_id}",
        f"jiahe-{run_id}-JH-9",
        f"{run_id}-own",
    }
    assert set(running.stats.problems) >= {
        "serial: " + f"'{run_id}-JH' is not the topic's device '{run_id}-AX'"
    }


def test_the_batch_cannot_exceed_the_in_flight_window():
    with pytest.raises(ValueError, match="window"):
        IngestWorker(url=URL, batch=500, window=100)
    assert IngestWorker(url=URL, batch=1000).window == 8000
    assert IngestWorker(url=URL, batch=10_000).window == 65535  # MQTT's largest Receive Maximum
    assert IngestWorker(url=URL, name="7").client_id == "yanglao-ingest-7"
    with pytest.raises(ValueError):
        IngestWorker(url=URL, name="a/b")


def test_an_sos_is_stored_at_once_while_a_batch_of_ordinary_messages_is_still_gathering(
    worker, publish, run_id
):
    for serial in (f"{run_id}-PIR", f"{run_id}-SOS"):
        kind = "motion_sensor" if serial.endswith("PIR") else "sos_button"
        Device.objects.create(kind=kind, vendor="t", serial=serial, region_id=HOME_COMMUNITY)
    running = worker(wait_ms=5000)  # an ordinary batch waits 5 s for company
    publish(device_topic(f"{run_id}-PIR"), native(f"{run_id}-PIR", f"{run_id}-motion", "motion"))
    started = time.monotonic()
    publish(device_topic(f"{run_id}-SOS"), native(f"{run_id}-SOS", f"{run_id}-sos", "sos"))
    wait_for(lambda: running.stats.alarms_raised == 1, 4, "the SOS's alarm, ahead of the waiting batch")
    assert time.monotonic() - started < 4
    assert running.stats.stored == 1  # the motion message is still gathering
    wait_for(lambda: running.stats.stored == 2, 10, "the ordinary batch after its wait")
    assert running.stats.acked == 2


def test_the_alarm_lane_takes_the_alarm_topics_over_its_own_session_and_the_events_lane_the_rest(
    worker, publish, run_id
):
    for serial, kind, vendor in (
        (f"{run_id}-SOS", "sos_button", "t"),
        (f"{run_id}-AX", "sos_button", "安心"),
        (f"{run_id}-PIR", "motion_sensor", "t"),
    ):
        Device.objects.create(kind=kind, vendor=vendor, serial=serial, region_id=HOME_COMMUNITY)
    events = worker(wait_ms=5000)  # an ordinary batch waits 5 s for company
    alarms = worker(lane="alarms", wait_ms=5000)  # the alarm lane never waits
    assert alarms.client_id == f"yanglao-ingest-alarms-w{run_id}"
    assert alarms.topics == [
        f"$share/yanglao-test-{run_id}-alarms/yanglao/v1/devices/+/alarms",
        f"$share/yanglao-test-{run_id}-alarms/yanglao/v1/alarms/+/#",
    ]
    publish(device_topic(f"{run_id}-PIR"), native(f"{run_id}-PIR", f"{run_id}-motion", "motion"))
    started = time.monotonic()
    publish(alarm_topic(f"{run_id}-SOS"), native(f"{run_id}-SOS", f"{run_id}-sos", "sos"))
    anxin = {"deviceId": f"{run_id}-AX", "msgId": run_id, "ts": int(time.time() * 1000), "event": "SOS_ALARM"}
    publish(vendor_alarm_topic("anxin"), anxin)
    publish(alarm_topic(f"{run_id}-SOS"), native(f"{run_id}-AX", f"{run_id}-wrong", "sos"))  # not its serial
    wait_for(lambda: alarms.stats.stored == 2, 4, "both SOS stored by the alarm lane at once")
    assert time.monotonic() - started < 4
    assert events.stats.stored == 0  # the motion message is still gathering
    assert alarms.stats.alarms_raised == 2
    wait_for(lambda: alarms.stats.rejected == 1, 4, "the wrong serial refused on the alarm topic too")
    wait_for(lambda: events.stats.stored == 1, 10, "the ordinary batch after its wait")
    assert events.stats.received == 1  # the events lane never saw the alarm topics
    assert set(Reading.objects.values_list("message_id", flat=True)) == {
        f"{run_id}-motion",
        f"{run_id}-sos",
        f"anxin-{run_id}",
    }
    with pytest.raises(ValueError, match="lane"):
        IngestWorker(url=URL, lane="sos")


@pytest.mark.parametrize(
    ("topic", "payload", "urgent"),
    [
        ("yanglao/v1/devices/S1/events", b'{"id": "1", "type": "sos", "at": "x"}', True),
        ("yanglao/v1/devices/S1/events", b'[{"type":"heartbeat"},{"type":"fall"}]', True),
        ("yanglao/v1/devices/S1/events", b'{"type": "gas_usage", "data": {"m3": 1}}', False),
        ("yanglao/v1/devices/S1/events", b'{"type": "motion", "note": "sos"}', False),
        ("yanglao/v1/vendors/anxin/events", b'{"event": "SMOKE_ALARM"}', True),
        ("yanglao/v1/vendors/anxin/events", b'{"event": "HEART_RATE"}', False),
        ("yanglao/v1/vendors/jiahe/up", b"dev=JH-1;seq=7;t=1;type=gas;bat=50", True),
        ("yanglao/v1/vendors/jiahe/up", b"dev=JH-1;seq=7;t=1;type=gasm;m3=2", False),
        ("yanglao/v1/vendors/nobody/up", b"type=sos", False),
    ],
)
def test_which_deliveries_take_the_urgent_lane(topic, payload, urgent):
    from yanglao.monitoring.mqtt import _looks_urgent

    assert _looks_urgent(topic, payload) is urgent


class ChunkedSocket:
    """A socket whose recv() hands out the bytes given, in the pieces given, then would block."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = list(pieces)
        self.calls = 0

    def recv(self, size: int) -> bytes:
        self.calls += 1
        if not self.pieces:
            raise BlockingIOError
        piece = self.pieces.pop(0)
        assert len(piece) <= size
        return piece

    def pending(self) -> int:
        return 0

    def close(self) -> None:
        self.pieces = []


def test_the_buffered_reader_hands_paho_every_whole_packet_of_a_chunk_and_waits_for_a_cut_one():
    from paho.mqtt.packettypes import PacketTypes

    from yanglao.monitoring.mqtt import BufferedClient

    def publish_packet(mid: int, payload: bytes) -> bytes:
        topic = b"yanglao/v1/devices/S1/events"
        body = len(topic).to_bytes(2, "big") + topic + mid.to_bytes(2, "big") + b"\x00" + payload
        return bytes([PacketTypes.PUBLISH << 4 | 0x02, len(body)]) + body  # QoS 1, length < 128

    packets = [publish_packet(i + 1, b'{"n": %d}' % i) for i in range(5)]
    stream = b"".join(packets)
    cut = len(packets[0]) + len(packets[1]) + 7  # the third packet is cut after 7 bytes
    client = BufferedClient(
        paho.CallbackAPIVersion.VERSION2, client_id="t", protocol=paho.MQTTv5, manual_ack=True
    )
    received = []
    client.on_message = lambda c, u, m: received.append(m.payload)
    client._sock = ChunkedSocket([stream[:cut], stream[cut:]])
    client._state = paho._ConnectionState.MQTT_CS_CONNECTED
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS
    assert received == [b'{"n": 0}', b'{"n": 1}']  # one recv(), two whole packets, the cut one waits
    assert client._sock.calls == 1
    client.loop_read()
    assert received == [b'{"n": %d}' % i for i in range(5)]
    assert client._sock.calls == 2


def test_the_buffered_reader_reads_nothing_while_the_worker_has_no_room():
    from yanglao.monitoring.mqtt import BufferedClient

    client = BufferedClient(
        paho.CallbackAPIVersion.VERSION2, client_id="t", protocol=paho.MQTTv5, manual_ack=True
    )
    topic = b"yanglao/v1/devices/S1/events"
    body = len(topic).to_bytes(2, "big") + topic + (1).to_bytes(2, "big") + b"\x00" + b"{}"
    received = []
    client.on_message = lambda c, u, m: received.append(m.payload)
    client._sock = ChunkedSocket([bytes([0x32, len(body)]) + body])
    client._state = paho._ConnectionState.MQTT_CS_CONNECTED
    room = [False]
    client.room_to_read = lambda: room[0]
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS
    assert client._sock.calls == 0 and received == []  # left in the socket, which stays readable
    room[0] = True
    client.loop_read()
    assert client._sock.calls == 1 and received == [b"{}"]


def test_the_network_thread_waits_for_room_until_a_batch_is_taken():
    from yanglao.monitoring import mqtt

    worker = IngestWorker(url=URL, batch=10, window=20)
    worker._inbox.extend(mqtt.Delivery(0, i, 1, "t", b"{}") for i in range(20))
    started = time.monotonic()
    assert worker._room_to_read() is False  # full: waited, then lets paho send and ping
    assert mqtt.READ_PAUSE_S * 0.8 <= time.monotonic() - started < 1.0
    answers = []
    waiter = threading.Thread(target=lambda: answers.append((worker._room_to_read(), time.monotonic())))
    waiter.start()
    time.sleep(0.01)
    taken_at = time.monotonic()
    assert len(worker._take(worker._inbox, worker._cond, 0.0)) == 10
    waiter.join(5)
    assert answers[0][0] is True and answers[0][1] - taken_at < mqtt.READ_PAUSE_S  # woken by the take


def test_the_worker_holds_about_a_window_of_messages_however_many_the_broker_has(
    worker, publish, run_id, monkeypatch
):
    from yanglao.monitoring import mqtt

    serial = f"{run_id}-W"
    Device.objects.create(kind="motion_sensor", vendor="t", serial=serial, region_id=HOME_COMMUNITY)
    started = worker(batch=20, wait_ms=10, window=40)
    handle, largest, published = started._handle, [0], threading.Event()

    def slow(batch):  # a database busy until everything is published: the broker holds a backlog
        published.wait(60)
        largest[0] = max(largest[0], len(started._inbox) + len(batch))
        handle(batch)

    monkeypatch.setattr(started, "_handle", slow)
    count = 1500
    for i in range(count):
        publish(device_topic(serial), native(serial, f"{run_id}-w{i}"))
    time.sleep(0.5)  # what the broker sends at once has arrived
    largest[0] = max(largest[0], len(started._inbox))
    published.set()
    wait_for(lambda: started.stats.stored == count, 60, "every message stored")
    # One chunk of the socket (64 KiB, about 400 of these packets) may be read past the window.
    assert largest[0] <= 40 + mqtt.RECV_CHUNK // 150, largest[0]
    assert Reading.objects.filter(message_id__startswith=f"{run_id}-w").count() == count


def test_the_events_lanes_bulk_threads_step_back_in_cpu_priority_and_no_other_thread_does():
    from yanglao.monitoring.mqtt import EVENTS_NICE, URGENT_NICE, _change_priority

    here = threading.get_native_id()
    before = os.getpriority(os.PRIO_PROCESS, here)
    seen = {}

    def bulk():
        _change_priority(EVENTS_NICE)
        seen["bulk"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        inherited = threading.Thread(
            target=lambda: seen.update(child=os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        )
        inherited.start()
        inherited.join()

    thread = threading.Thread(target=bulk)
    thread.start()
    thread.join()
    assert seen == {"bulk": before + EVENTS_NICE, "child": before + EVENTS_NICE}
    assert os.getpriority(os.PRIO_PROCESS, here) == before  # this thread, and so the process, unchanged
    assert IngestWorker(url=URL).nice == EVENTS_NICE
    assert IngestWorker(url=URL, lane="alarms").nice == URGENT_NICE < 0


@pytest.mark.django_db
def test_an_urgent_write_on_sqlite_asks_for_the_lock_again_at_once_and_gives_up_only_on_other_errors(
    monkeypatch,
):
    from django.db import connection

    from yanglao.monitoring import mqtt

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write lock only: PostgreSQL writers do not queue on one lock")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        usual = cursor.fetchone()[0]
    attempts, sleeps = [], []

    def locked_twice(messages, **kw):
        attempts.append(connection.in_atomic_block)
        if len(attempts) <= 2:
            raise OperationalError("database is locked")
        return ingest.Result(received=len(messages), stored=len(messages))

    monkeypatch.setattr(ingest, "process", locked_twice)
    monkeypatch.setattr(mqtt.time, "sleep", sleeps.append)
    result = mqtt._process_at_first_chance([{"id": "x"}])
    assert result.stored == 1 and len(attempts) == 3 and sleeps == [mqtt.URGENT_LOCK_POLL_S] * 2
    assert all(attempts)  # each try inside its own transaction, begun (the lock taken) before processing
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 0  # no waiting inside SQLite on this connection
        cursor.execute(f"PRAGMA busy_timeout = {int(usual)}")  # the suite's other tests share it

    def broken(messages, **kw):
        raise OperationalError("no such table: monitoring_reading")

    monkeypatch.setattr(ingest, "process", broken)
    with pytest.raises(OperationalError, match="no such table"):
        mqtt._process_at_first_chance([{"id": "y"}])
    assert len(sleeps) == 2


def test_the_threads_that_carry_an_sos_step_forward_or_say_once_that_they_may_not(monkeypatch, caplog):
    from yanglao.monitoring import mqtt

    seen = {}

    def urgent():
        thread = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, thread)
        mqtt._change_priority(mqtt.URGENT_NICE)
        seen["change"] = os.getpriority(os.PRIO_PROCESS, thread) - before

    thread = threading.Thread(target=urgent)
    thread.start()
    thread.join()
    may = os.geteuid() == 0  # or CAP_SYS_NICE, which this test does not look for
    if may:
        assert seen["change"] == mqtt.URGENT_NICE
    monkeypatch.setattr(mqtt, "_refused_priority", False)

    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(mqtt.os, "setpriority", refuse)
    mqtt._change_priority(mqtt.URGENT_NICE)
    mqtt._change_priority(mqtt.URGENT_NICE)
    warnings = [r for r in caplog.records if "could not raise the CPU priority" in r.getMessage()]
    assert len(warnings) == 1 and "CAP_SYS_NICE" in warnings[0].getMessage()


@pytest.mark.parametrize(("setting", "warned"), [("1\n", True), ("0\n", False), (None, False)])
def test_the_worker_warns_when_the_kernel_groups_processes_before_their_priorities(
    monkeypatch, caplog, tmp_path, setting, warned
):
    from yanglao.monitoring import mqtt

    path = tmp_path / "sched_autogroup_enabled"  # absent when the kernel has no such setting
    if setting is not None:
        path.write_text(setting)
    monkeypatch.setattr(mqtt, "AUTOGROUP_SETTING", path)
    assert mqtt.warn_if_priorities_are_grouped_away() is warned
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    if warned:
        assert len(messages) == 1
        assert "kernel.sched_autogroup_enabled is 1" in messages[0] and "set it to 0" in messages[0]
    else:
        assert messages == []


@pytest.mark.django_db
def test_a_connection_to_a_local_postgresql_moves_its_server_process_with_the_thread_once(monkeypatch):
    from django.db import connection

    from yanglao.monitoring import mqtt

    if connection.vendor != "postgresql":
        assert (
            mqtt._database_priority(None, mqtt.URGENT_NICE) is connection.connection
        )  # nothing to do on SQLite
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    if not Path(f"/proc/{pid}").exists():
        pytest.skip("PostgreSQL's processes are not visible from here (another machine or container)")
    before = os.getpriority(os.PRIO_PROCESS, pid)
    done = mqtt._database_priority(None, mqtt.URGENT_NICE)
    assert done is connection.connection
    if os.geteuid() == 0:
        assert os.getpriority(os.PRIO_PROCESS, pid) == before + mqtt.URGENT_NICE
    assert mqtt._database_priority(done, mqtt.URGENT_NICE) is done  # once per connection
    assert os.getpriority(os.PRIO_PROCESS, pid) == (
        before + mqtt.URGENT_NICE if os.geteuid() == 0 else before
    )
    mqtt._database_priority(None, mqtt.EVENTS_NICE)  # a bulk thread's connection steps back
    stepped = mqtt.URGENT_NICE + mqtt.EVENTS_NICE
    assert os.getpriority(os.PRIO_PROCESS, pid) == (before + stepped if os.geteuid() == 0 else before)

    moved = []
    monkeypatch.setattr(mqtt.os, "setpriority", lambda *a: moved.append(a))
    monkeypatch.setitem(connection.settings_dict, "HOST", "db.city.example")
    mqtt._database_priority(None, mqtt.URGENT_NICE)
    assert moved == []  # another machine's process ids mean nothing here


def session_present(client_id: str) -> bool:
    """Whether the broker still keeps a session for this client id (a connect without a clean start)."""
    client = make_client(broker_from_url(URL), client_id)
    answered = {}
    client.on_connect = lambda c, u, flags, reason, p: answered.update(present=flags.session_present)
    client.connect("127.0.0.1", 1883, clean_start=False)
    client.loop_start()
    wait_for(lambda: "present" in answered, 10, "the broker's CONNACK")
    client.disconnect()
    client.loop_stop()
    return answered["present"]


def test_retiring_a_worker_stores_what_the_broker_held_for_each_lane_and_ends_both_sessions(
    worker, publish, run_id
):
    for serial, kind in ((f"{run_id}-SOS", "sos_button"), (f"{run_id}-PIR", "motion_sensor")):
        Device.objects.create(kind=kind, vendor="t", serial=serial, region_id=HOME_COMMUNITY)
    for lane in ("events", "alarms"):  # both sessions subscribed, then stopped: the broker keeps for them
        worker(lane=lane).stop()
    publish(alarm_topic(f"{run_id}-SOS"), native(f"{run_id}-SOS", f"{run_id}-sos", "sos"))
    for n in range(2):
        publish(device_topic(f"{run_id}-PIR"), native(f"{run_id}-PIR", f"{run_id}-m{n}", "motion"))
    stored, ids = {}, []
    for lane in ("events", "alarms"):
        leaving = IngestWorker(url=URL, lane=lane, name=f"w{run_id}", group=f"yanglao-test-{run_id}")
        leaving.retire(idle_seconds=1.0, timeout=30)
        stored[lane] = leaving.stats.stored
        ids.append(leaving.client_id)
    assert stored == {"events": 2, "alarms": 1}
    assert Reading.objects.filter(message_id__startswith=run_id).count() == 3
    assert [session_present(client_id) for client_id in ids] == [False, False]
