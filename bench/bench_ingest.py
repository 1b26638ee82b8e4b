"""Device telemetry from the MQTT broker into the database with the rules applied (monitoring.mqtt's
IngestWorker → ingest.process), on SQLite (WAL) and on PostgreSQL: ≥ 5,600 messages/s sustained on this
2-core machine (twice ThingsBoard's published per-core rate), ≥ 20× a baseline subscriber that does one ORM
save per message, zero messages lost; an SOS published → shown on a connected console client: p99 ≤ 500 ms
idle, and under 80 % of the sustained load p99 no more than twice the idle p99.

Each database is prepared and measured in a child process of its own (_harness); the child starts the other
processes it needs as its own children (this script again with --role, and uvicorn) and ends them. The
broker is the one at --broker (Mosquitto run from config/mosquitto/yanglao.conf: the output says whether it
is); the channel layer is channels-redis at --redis (production's: the workers are other processes than the
web server, so the in-memory layer could not carry their pushes).

Setup (untimed): a fresh database (SQLite in a temporary data directory, WAL; PostgreSQL: a database of its
own, created and dropped), migrated; Tianjin's divisions (regions_load 1201); ELDERS generated elders
(elders_generate); the simulated devices of HOUSEHOLDS + 2 × PROBES + WARM_HOMES homes registered by the
simulator (simulator.prepare: an SOS button, a motion sensor, a water and an electricity meter in every
home, a blood-pressure monitor in a third, a smoke detector in a quarter); a city operator and a session for
them. Every message is built before any timing by the simulator's own Telemetry (motion, heartbeats, meters'
running totals, blood pressure (1 % high), batteries), plus an SOS every SOS_EVERY messages from a random
home (some homes twice: folded), on the button's alarms topic as the device contract asks, and 2 % of the
battery devices reporting a low battery; each is pre-encoded as an MQTT PUBLISH packet, and the publisher
writes them on a plain socket (QoS 1, PUBACKs counted, at most 2,000 in flight): it stands for thousands of
devices elsewhere and costs a few µs a message, so it takes next to nothing from the pipeline being
measured.

1. Baseline (timed), "a subscriber that does one ORM save per message": a plain paho subscriber (QoS 1,
   acknowledged when its callback returns) that for each message parses the JSON, gets the device by serial,
   Reading.objects.create(...), saves the device's last-seen time and battery, and for an SOS creates an
   Alarm (autocommit, no batching, no folding): BASELINE messages of the same mix published at once; rate =
   messages / (last save − first publish). It runs first, while no ingest worker is subscribed.
2. Sustained ingest (timed): WORKERS ingest workers as `yanglao ingest_mqtt` runs them, each an
   `IngestWorker` process for the events lane and one for the alarm lane (--batch and --wait-ms as given,
   default 250 and 50 ms; share groups unique to the run, the sessions ended afterwards), warmed up on
   WARM_MESSAGES messages of other homes, then MESSAGES messages published at --rate (default 0: flat out,
   so that the rate is what the pipeline can do: the broker takes them at ~70,000 msg/s and holds the
   backlog; a paced run shows at most its pace, which would also cap the ratio to the baseline). Rate =
   messages stored / (last commit − first publish), the last commit timed inside the workers. Lost: the set
   of published message ids against the set of Reading.message_id (count and set) and the workers' counters
   (deliveries again, refused with their reason, the broker's dropped count). Alarms: exactly one per elder
   with an SOS, one per elder with a high blood pressure, one per device with a low battery, each counting
   exactly its messages, and no other.
3. Console latency: uvicorn serving config.asgi (as `yanglao serve` does, at the priority its systemd unit
   gives it, WEB_NICE) and a WebSocket client signed in as the operator (session cookie), the same workers.
   PROBES SOS messages from PROBES homes that sent nothing before, on their alarms topic, on a fixed
   schedule every --probe-gap-ms (never waiting for the previous one), each timed from just before publish()
   to the WebSocket frame that announces its alarm: idle (after a checkpoint and SETTLE_S seconds of quiet),
   then from PROBES other homes while a background publisher sends the mix of step 2 at LOAD_SHARE of the
   rate step 2 measured (after RUN_UP seconds of it). The probing process runs at PROBE_NICE: it stands
   for a device and an operator's browser, which have computers of their own; at the usual priority it
   would wait for cores the platform's bulk work holds, and time its own wait.

The host as docs/deployment.md asks: kernel.sched_autogroup_enabled 0 (with it on, the kernel shares the
cores between sessions first, and each PostgreSQL server process and each daemon is one: the workers'
priorities count only among their own threads). The bench sets it for its run when it may (root) and puts
it back after; --host-as-is leaves it, and a run on a host not set up so says so among its misses.

Printed per database: setup, each figure with its target, CPU per message of the workers' threads, load
average before and after, and at the end "all targets met" or the misses. --profile: cProfile in the
workers' processing thread during the sustained run, by stage (it slows the workers: the rate of such a
run is not the benchmark's figure).

    YANGLAO_ENV=test .venv/bin/python bench/bench_ingest.py [--households N] [--messages N] [--workers N]
        [--rate N] [--batch N] [--wait-ms N] [--baseline N] [--probes N] [--probe-gap-ms N]
        [--broker URL] [--redis URL] [--profile] [--host-as-is] [--pg URL | --no-pg] [--no-sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import pickle
import random
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _harness import analyse, child, database_arguments, run_both, say, setup_timer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATE = 5_600.0
# The sustained run publishes flat out by default (see the docstring); --rate paces it.
PUBLISH_RATE = 0.0
TARGET_RATIO = 20.0
TARGET_IDLE_P99_MS = 500.0
TARGET_LOADED_FACTOR = 2.0
LOAD_SHARE = 0.8
SETTLE_S = 5.0  # seconds of quiet before the idle series
RUN_UP = 5.0  # seconds of background load before the first probe under load
PROBE_PATIENCE = 60.0  # seconds to wait for the last probes' frames after the last probe
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/yanglao_bench_ingest"
DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
# A Redis database of its own, so the bench's pushes never reach (or come from) a test run's consoles.
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
BROKER_CONF = ROOT / "config" / "mosquitto" / "yanglao.conf"
BROKER_PID = Path("/tmp/yanglao-mosquitto.pid")  # noqa: S108 (the pid_file of yanglao.conf)
# docs/deployment.md turns the kernel's autogroup off: with it on, every session (each systemd service,
# each PostgreSQL server process) gets an equal share of the cores before any nice value counts.
AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")
CITY = "1201"
SOS_EVERY = 400  # one message in 400 is an SOS (0.25 %)
LOW_BATTERY_SHARE = 0.02
LOW_BATTERY = 15
PUBLISH_INFLIGHT = 2000
# Before the timed run the workers store WARM_MESSAGES messages of WARM_HOMES other homes: a worker's first
# batches pay for loading translations, the device cache and the first connections (seconds), which
# belongs to its start, not to its sustained rate.
WARM_HOMES = 100
WEB_NICE = -5  # the web server's priority in its systemd unit (docs/deployment.md)
PROBE_NICE = -10  # the probes' device and console, elsewhere in reality (see the docstring)
BASELINE_TOPIC = "yanglao/v1/devices/+/+"  # the events and the alarms of every device
WARM_MESSAGES = 5000


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=5_000, help="homes whose devices send the load")
    parser.add_argument("--elders", type=int, default=6_000, help="elders generated")
    parser.add_argument("--messages", type=int, default=200_000, help="messages of the sustained run")
    parser.add_argument(
        "--workers", type=int, default=2, help="ingest worker processes (default 2: best here)"
    )
    parser.add_argument("--batch", type=int, default=250, help="the workers' --batch (the command's default)")
    parser.add_argument("--wait-ms", type=int, default=50, help="the workers' --wait-ms")
    parser.add_argument(
        "--rate",
        type=float,
        default=PUBLISH_RATE,
        help="publish rate of the sustained run, messages/s (default 0: flat out)",
    )
    parser.add_argument("--baseline", type=int, default=10_000, help="messages of the baseline")
    parser.add_argument("--probes", type=int, default=200, help="SOS probes, idle and again under load")
    parser.add_argument("--probe-gap-ms", type=int, default=200)
    parser.add_argument("--broker", default=DEFAULT_BROKER)
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="channel layer of the latency run")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the workers' processing thread during the sustained run (it slows them)",
    )
    parser.add_argument(
        "--host-as-is",
        action="store_true",
        help="leave kernel.sched_autogroup_enabled as it is (the run then says it measured a host not "
        "set up as docs/deployment.md asks)",
    )
    parser.add_argument("--role", choices=["worker", "publisher", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    database_arguments(parser, DEFAULT_PG)
    return parser.parse_args()


# ======================================================================================================
# Helper processes (--role): an ingest worker, a publisher, the baseline subscriber. Each talks to the
# child that started it over stdin/stdout: it prints "ready" when it can start, waits for a line on stdin,
# and prints what it measured as one line ROLE_RESULT + JSON.
# ======================================================================================================

ROLE_RESULT = "@@ROLE "


def _emit(what: str, data: Any = None) -> None:
    print(ROLE_RESULT + json.dumps({"what": what, "data": data}), flush=True)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("YANGLAO_ENV", "test")
    import django

    django.setup()


def _end_session(url: str, client_id: str) -> None:
    """Connect as the worker with a clean start and a session that ends on disconnect: the broker drops
    the run's share-group subscription, which would otherwise collect every later device message for
    the persistent session of a worker that never returns."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from yanglao.monitoring.mqtt import broker_from_url, make_client

    broker = broker_from_url(url)
    client = make_client(broker, client_id)
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 0
    client.connect(broker.host, broker.port, clean_start=True, properties=properties)
    client.loop_start()
    connected.wait(10)
    client.disconnect()
    client.loop_stop()


def _process_cpu(pid: int | None) -> float:
    """CPU seconds of a process (Linux /proc), 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (/proc/stat)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    total = sum(values)
    idle = values[3] + values[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def _broker_pid() -> int | None:
    try:
        return int(BROKER_PID.read_text().strip())
    except (OSError, ValueError):
        return None


def _thread_cpu(native_id: int | None) -> float:
    """CPU seconds of one thread of this process (Linux /proc)."""
    try:
        with open(f"/proc/self/task/{native_id}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def role_worker(spec: dict[str, Any]) -> None:
    """One IngestWorker, as `yanglao ingest_mqtt` runs it. Commands on stdin: "stats" (its counters, the
    time of its first and last commit that stored something, and each batch since the last "stats"),
    "profile" (cProfile the processing thread until the next "stats", which writes it to spec["profile"]),
    "stop" (stop, end the session, print the counters)."""
    import cProfile

    _django()
    from yanglao.monitoring import ingest
    from yanglao.monitoring.mqtt import IngestWorker, freeze_loaded_objects

    freeze_loaded_objects()  # as the command does

    worker = IngestWorker(
        url=spec["url"],
        lane=spec["lane"],
        name=spec["name"],
        group=spec["group"],
        batch=spec["batch"],
        wait_ms=spec["wait_ms"],
        log_every=3600,
    )
    marks: dict[str, float | None] = {"first": None, "last": None}
    # Each batch: its size, start, seconds in ingest.process, end, and the processing thread's CPU
    # seconds. The worker's own methods are wrapped in this process only (nothing of theirs is changed),
    # so the time of the last commit is known to the millisecond without polling, and the CPU of the
    # processing thread can be told from the rest of the process's (paho's network thread).
    batches: list[tuple[int, float, float, float, float]] = []
    handle = worker._handle
    process = ingest.process
    spent = [0.0]
    profiler: list[cProfile.Profile] = []

    def timed_process(messages: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return process(messages, **kw)
        finally:
            spent[0] = time.perf_counter() - started

    def timed_handle(batch: Any) -> None:
        started, cpu = time.time(), time.thread_time()
        spent[0] = 0.0
        before = worker.stats.stored + worker.stats.duplicates
        active = profiler[0] if profiler else None
        if active is not None:
            active.enable()
        try:
            handle(batch)
        finally:
            if active is not None:
                active.disable()
        now = time.time()
        batches.append((len(batch), started, spent[0], now, time.thread_time() - cpu))
        if worker.stats.stored + worker.stats.duplicates != before:  # ours: another run's are refused
            marks["last"] = now
            if marks["first"] is None:
                marks["first"] = now

    ingest.process = timed_process
    worker._handle = timed_handle
    worker.start()
    if not worker.wait_subscribed(30):
        _emit("failed", "not subscribed within 30 s")
        sys.exit(1)
    _emit("ready")

    def figures() -> dict[str, Any]:
        cpu = os.times()
        taken = batches[:]
        del batches[: len(taken)]
        network = getattr(worker._client, "_thread", None)  # paho's loop_start thread
        return {
            **worker.stats.as_dict(),
            **marks,
            "cpu": cpu.user + cpu.system,
            "network_cpu": _thread_cpu(network.native_id) if network is not None else 0.0,
            "batches": taken,
        }

    while True:
        command = sys.stdin.readline().strip()
        if command == "profile":
            profiler[:] = [cProfile.Profile()]
            continue
        if command == "stats":
            if profiler:
                profiler.pop().dump_stats(spec["profile"])
            _emit("stats", figures())
            marks["first"] = None
            continue
        break
    worker.stop()
    _end_session(spec["url"], worker.client_id)
    _emit("result", figures())


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    """An MQTT 3.1.1 PUBLISH, QoS 1, not retained."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + packet_id.to_bytes(2, "big") + payload
    return b"\x32" + _varint(len(body)) + body


def role_publisher(spec: dict[str, Any]) -> None:
    """Publishes the pre-built messages of spec["file"] with QoS 1 at spec["rate"] a second (0: as fast as
    it can), at most PUBLISH_INFLIGHT unacknowledged, and counts the broker's PUBACKs. It writes pre-encoded
    MQTT 3.1.1 packets on a plain socket, a hundred at a time, so that it costs a few microseconds a
    message: it stands for thousands of devices elsewhere, and every cycle it spends here is taken from
    the pipeline being measured (paho spends ~40 µs a message)."""
    with open(spec["file"], "rb") as f:
        messages: list[tuple[str, bytes]] = pickle.load(f)  # noqa: S301 (written by this script)
    packets = [_publish_packet(topic, payload, i % 65535 + 1) for i, (topic, payload) in enumerate(messages)]
    del messages
    broker = urlsplit(spec["url"])
    sock = socket.create_connection((broker.hostname or "127.0.0.1", broker.port or 1883), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client_id = f"yanglao-bench-pub-{secrets.token_hex(4)}".encode()
    # CONNECT: protocol "MQTT" level 4, clean session, keep-alive 0 (off: the publisher is never idle long).
    body = b"\x00\x04MQTT\x04\x02\x00\x00" + len(client_id).to_bytes(2, "big") + client_id
    sock.sendall(b"\x10" + _varint(len(body)) + body)
    connack = sock.recv(4)
    if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
        _emit("failed", f"the broker refused the publisher: {connack!r}")
        sys.exit(1)
    sock.settimeout(None)
    _emit("ready")
    sys.stdin.readline()
    cpu0 = os.times()
    rate = float(spec.get("rate") or 0)
    total = len(packets)
    sent = acked = 0
    pending = b""

    def read_acks(timeout: float) -> None:
        nonlocal acked, pending
        readable, _, _ = select.select([sock], [], [], timeout)
        if not readable:
            return
        data = sock.recv(1 << 16)
        if not data:
            raise ConnectionError("the broker closed the connection")
        pending += data
        whole = len(pending) // 4 * 4
        for i in range(0, whole, 4):
            if pending[i] != 0x40:
                raise ConnectionError(f"unexpected packet {pending[i : i + 4]!r} from the broker")
        acked += whole // 4
        pending = pending[whole:]

    first = time.time()
    start = last = time.monotonic()
    tokens = 1.0
    capacity = max(1.0, rate / 20)
    while sent < total:
        room = PUBLISH_INFLIGHT - (sent - acked)
        if rate:
            now = time.monotonic()
            tokens = min(capacity, tokens + (now - last) * rate)
            last = now
            n = min(int(tokens), room, 100, total - sent)
        else:
            n = min(room, 100, total - sent)
        if n <= 0:
            read_acks(0.002 if room <= 0 else min(0.01, max(0.0005, (1 - tokens) / rate)))
            continue
        sock.sendall(b"".join(packets[sent : sent + n]))
        sent += n
        tokens -= n
        read_acks(0)
    last_publish = time.time()
    deadline = time.monotonic() + 60
    while acked < sent and time.monotonic() < deadline:
        read_acks(0.05)
    seconds = time.monotonic() - start
    sock.sendall(b"\xe0\x00")  # DISCONNECT
    sock.close()
    cpu = os.times()
    _emit(
        "result",
        {
            "sent": sent,
            "acked": acked,
            "first": first,
            "last": last_publish,
            "seconds": seconds,
            "cpu": cpu.user + cpu.system - cpu0.user - cpu0.system,
        },
    )


def role_baseline(spec: dict[str, Any]) -> None:
    """The naive subscriber: one ORM round per message, in paho's callback, in autocommit."""
    _django()
    import paho.mqtt.client as paho
    from django.db import IntegrityError
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    from yanglao.monitoring.messages import FIELDS
    from yanglao.monitoring.models import Alarm, Device, Reading
    from yanglao.monitoring.mqtt import broker_from_url

    expected = spec["expected"]
    counts = {"saved": 0, "foreign": 0, "duplicates": 0, "first": None, "last": None}
    finished = threading.Event()

    def on_message(client: Any, userdata: Any, message: Any) -> None:
        body = json.loads(message.payload)
        try:
            device = Device.objects.get(serial=body["serial"])
        except Device.DoesNotExist:
            counts["foreign"] += 1  # another run's device on the shared broker
            return
        at = parse_datetime(body["at"])
        data = body.get("data") or {}
        values = [data.get(name) for name in FIELDS.get(body["type"], ())] + [None, None, None]
        try:
            Reading.objects.create(
                message_id=body["id"],
                device=device,
                elder_id=device.elder_id,
                type=body["type"],
                at=at,
                received_at=timezone.now(),
                value1=values[0],
                value2=values[1],
                value3=values[2],
            )
        except IntegrityError:
            counts["duplicates"] += 1
            return
        device.last_seen_at = at
        if body.get("battery") is not None:
            device.battery = body["battery"]
        device.save(update_fields=["last_seen_at", "battery"])
        if body["type"] == "sos":
            Alarm.objects.create(
                rule="sos",
                severity="critical",
                situation=f"baseline:{body['id']}",
                elder_id=device.elder_id,
                device=device,
                region_id=device.region_id,
                summary="一键呼叫",
                first_at=at,
                last_at=at,
                raised_at=timezone.now(),
            )
        counts["saved"] += 1
        counts["last"] = time.time()
        if counts["first"] is None:
            counts["first"] = counts["last"]
        if counts["saved"] >= expected:
            finished.set()

    broker = broker_from_url(spec["url"])
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"yanglao-bench-baseline-{secrets.token_hex(4)}",
        clean_session=True,
        protocol=paho.MQTTv311,
    )
    subscribed = threading.Event()
    client.on_message = on_message
    client.on_connect = lambda c, u, f, r, p: c.subscribe(BASELINE_TOPIC, qos=1)
    client.on_subscribe = lambda *a: subscribed.set()
    client.connect(broker.host, broker.port, keepalive=60)
    client.loop_start()
    if not subscribed.wait(15):
        _emit("failed", "not subscribed")
        sys.exit(1)
    _emit("ready")
    finished.wait(spec["timeout"])
    _emit("done", counts)
    sys.stdin.readline()
    client.disconnect()
    client.loop_stop()
    cpu = os.times()
    _emit("result", {**counts, "cpu": cpu.user + cpu.system})


class Helper:
    """A helper process (--role) seen from the child: started, waited for, told to go or stop."""

    def __init__(self, role: str, spec: dict[str, Any], env: dict[str, str]) -> None:
        command = [sys.executable, __file__, "--role", role, "--spec", json.dumps(spec)]
        self.role = role
        self.process = subprocess.Popen(  # noqa: S603 (this script)
            command, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.results: dict[str, Any] = {}

    def wait_for(self, what: str, timeout: float) -> Any:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while what not in self.results:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.role}: no {what!r} within {timeout:.0f} s")
            readable, _, _ = select.select([self.process.stdout], [], [], remaining)
            if not readable:
                continue
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.role} ended (exit {self.process.wait()}) before {what!r}")
            if line.startswith(ROLE_RESULT):
                message = json.loads(line[len(ROLE_RESULT) :])
                if message["what"] == "failed":
                    raise RuntimeError(f"{self.role} failed: {message['data']}")
                self.results[message["what"]] = message["data"]
            else:
                print(f"    [{self.role}] {line}", end="", flush=True)
        return self.results[what]

    def tell(self, command: str = "go") -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def ask(self, command: str, timeout: float = 30) -> Any:
        self.tell(command)
        try:
            return self.wait_for(command, timeout)
        finally:
            self.results.pop(command, None)

    def finish(self, timeout: float = 60) -> Any:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self.tell()
        try:
            return self.wait_for("result", timeout)
        finally:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# ======================================================================================================
# The child (_harness.child runs it): one database.
# ======================================================================================================


def stage(args: argparse.Namespace) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from yanglao.monitoring import simulator
    from yanglao.monitoring.models import Device
    from yanglao.regions.services import regions_load
    from yanglao.registry import generator

    vendor = connection.vendor
    figures: dict[str, Any] = {"vendor": vendor, "setup": {}, "options": _options(args)}
    timed = setup_timer(figures["setup"], vendor)
    timed("migrate", lambda: call_command("migrate", verbosity=0))
    timed("divisions 1201", lambda: regions_load(actor="bench", root=CITY))
    timed(
        f"elders_generate {args.elders:,}",
        lambda: generator.elders_generate(actor="bench", count=args.elders),
    )
    homes = args.households + 2 * args.probes + WARM_HOMES
    devices = timed(f"simulator.prepare {homes:,} homes", lambda: simulator.prepare(homes, seed=2026))
    operator = timed("operator", make_operator)
    if vendor == "postgresql":
        analyse()
    load, buttons, warm = split_homes(devices, args.households, 2 * args.probes)
    figures["world"] = {
        "elders": args.elders,
        "homes": len({d.elder_id for d in load}),
        "devices": len(load),
        "kinds": dict(Counter(d.kind for d in load)),
        "probe_homes": len(buttons),
        "warm_homes": len({d.elder_id for d in warm}),
    }
    data_dir = Path(os.environ["YANGLAO_DATA_DIR"])
    sets = {
        "baseline": (load, args.baseline, "b1", 2),
        "warm": (warm, WARM_MESSAGES, "w1", 5),
        "sustained": (load, args.messages, "s1", 1),
    }
    built = {}
    for name, (senders, count, tag, seed) in sets.items():
        path = data_dir / f"{name}.pickle"
        built[name] = timed(
            f"build {count:,} {name} messages",
            lambda senders=senders, count=count, tag=tag, path=path, seed=seed: build_messages(
                senders, count, tag, path, seed=seed
            ),
        )
    serial_ids = dict(Device.objects.values_list("serial", "id"))
    cookie = session_cookie(operator)
    connection.close()

    env = dict(os.environ)
    env["REDIS_URL"] = args.redis  # the workers push to the consoles through it (as in production)
    figures["broker"] = broker_check(args.broker)
    figures["host"] = host_check()
    say(f"  [{vendor}] broker: {figures['broker']['text']}")

    # The baseline first: while it runs no ingest worker may take the messages too.
    figures["baseline"] = baseline_run(args, env, built["baseline"], vendor)
    figures["sustained"], figures["latency"] = live_runs(
        args, env, built, buttons, load, cookie, serial_ids, vendor
    )
    return figures


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "workers": args.workers,
        "batch": args.batch,
        "wait_ms": args.wait_ms,
        "rate": args.rate,
        "messages": args.messages,
        "baseline": args.baseline,
        "probes": args.probes,
        "probe_gap_ms": args.probe_gap_ms,
        "redis": args.redis,
    }


# --- setup ---------------------------------------------------------------------------------------------


def make_operator() -> Any:
    from yanglao.accounts.models import User
    from yanglao.accounts.roles import STAFF_ROLES, Role

    user = User(
        username="bench_operator",
        role=Role.OPERATOR,
        region_id=CITY,
        full_name="基准坐席",
        is_staff=Role.OPERATOR in STAFF_ROLES,
    )
    user.set_unusable_password()
    user.save()
    return user


def split_homes(devices: list[Any], households: int, probes: int) -> tuple[list[Any], list[Any], list[Any]]:
    """The load's devices (`households` homes), one SOS button in each of `probes` other homes, and the
    devices of WARM_HOMES more (the workers' warm-up)."""
    elders = sorted({d.elder_id for d in devices})
    random.Random(2027).shuffle(elders)
    probe_elders = set(elders[:probes])
    warm_elders = set(elders[probes : probes + WARM_HOMES])
    load = [d for d in devices if d.elder_id not in probe_elders and d.elder_id not in warm_elders]
    buttons = sorted(
        (d for d in devices if d.elder_id in probe_elders and d.kind == "sos_button"),
        key=lambda d: d.elder_id,
    )
    warm = [d for d in devices if d.elder_id in warm_elders]
    return load, buttons, warm


def build_messages(devices: list[Any], count: int, tag: str, path: Path, *, seed: int) -> dict[str, Any]:
    """`count` messages of the simulator's mix from `devices`, pre-encoded and written to `path` for a
    publisher; returns their ids and what they call for (alarms by situation, messages by type)."""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    from yanglao.monitoring import simulator
    from yanglao.monitoring.enums import DeviceKind

    rng = random.Random(seed)
    zone = ZoneInfo(settings.TIME_ZONE)
    telemetry = simulator.Telemetry(rng, tag, zone)
    battery_devices = [d for d in devices if d.kind not in simulator.MAINS]
    for device in rng.sample(battery_devices, int(len(battery_devices) * LOW_BATTERY_SHARE)):
        device.battery = LOW_BATTERY + 0.5
    weights = [simulator.WEIGHT.get(d.kind, 1) for d in devices]
    buttons = [d for d in devices if d.kind == DeviceKind.SOS_BUTTON]
    # The messages' times: the last `count / TARGET_RATE` seconds up to now (never in the future).
    now = time.time()
    span = count / TARGET_RATE
    stamps: dict[int, tuple[str, int]] = {}
    block: list[Any] = []
    messages: list[tuple[str, bytes]] = []
    for i in range(count):
        moment = now - span + i * span / count
        second = int(moment)
        if second not in stamps:
            local = datetime.fromtimestamp(second, zone)
            stamps[second] = (local.isoformat(timespec="seconds"), local.hour)
        at, hour = stamps[second]
        is_sos = i % SOS_EVERY == SOS_EVERY // 2
        if is_sos:
            device = rng.choice(buttons)
            payload = telemetry.sos(device, at)
        else:
            if not block:
                block = rng.choices(devices, weights=weights, k=1024)
            device = block.pop()
            payload = telemetry.next(device, moment, at, hour)
        messages.append((device.alarm_topic if is_sos else device.topic, payload))
    with open(path, "wb") as f:
        pickle.dump(messages, f, protocol=pickle.HIGHEST_PROTOCOL)
    return {"path": str(path), **expectations(messages, devices)}


def expectations(messages: list[tuple[str, bytes]], devices: list[Any]) -> dict[str, Any]:
    """What the messages call for under the city's thresholds (no household has its own): one alarm per
    elder with an SOS or a high blood pressure, one per device with a low battery, each counting its
    messages; by serial, the device ids are filled in later."""
    from yanglao.core import policy
    from yanglao.monitoring import policies

    elder_of = {d.serial: d.elder_id for d in devices}
    high_s, high_d = policy.value(policies.BP_SYSTOLIC), policy.value(policies.BP_DIASTOLIC)
    low = policy.value(policies.BATTERY_LOW)
    ids: list[str] = []
    by_type: Counter[str] = Counter()
    alarms: Counter[str] = Counter()
    battery: Counter[str] = Counter()
    for _topic, payload in messages:
        body = json.loads(payload)
        ids.append(body["id"])
        kind = body["type"]
        by_type[kind] += 1
        elder = elder_of[body["serial"]]
        if kind == "sos":
            alarms[f"sos:e{elder}"] += 1
        elif kind == "blood_pressure":
            data = body["data"]
            if data["systolic"] >= high_s or data["diastolic"] >= high_d:
                alarms[f"blood_pressure:e{elder}"] += 1
        if body.get("battery") is not None and body["battery"] <= low:
            battery[body["serial"]] += 1
    return {"ids": ids, "by_type": dict(by_type), "alarms": dict(alarms), "battery": dict(battery)}


@contextlib.contextmanager
def host_as_deployed(leave_it: bool) -> Any:
    """The host setting docs/deployment.md asks for (kernel.sched_autogroup_enabled = 0), for the run only
    and put back after, when this process may change it (root); yields what it did, for the output."""
    try:
        before = AUTOGROUP.read_text().strip()
    except OSError:
        yield "the kernel has no autogroup setting"
        return
    if before == "0":
        yield "kernel.sched_autogroup_enabled 0, as docs/deployment.md asks"
        return
    if leave_it:
        yield "kernel.sched_autogroup_enabled 1, left as it is (--host-as-is)"
        return
    try:
        AUTOGROUP.write_text("0")
    except OSError as error:
        yield f"kernel.sched_autogroup_enabled 1: could not set it to 0 for the run ({error})"
        return
    try:
        yield "kernel.sched_autogroup_enabled 0 for the run, as docs/deployment.md asks (it was 1; put back after)"
    finally:
        AUTOGROUP.write_text(before)


def host_check() -> dict[str, Any]:
    """What the child measured on: the setting as it is now (the parent set it up before the children)."""
    from yanglao.monitoring.mqtt import priorities_grouped_away

    return {"autogroup": priorities_grouped_away()}


def broker_check(url: str) -> dict[str, Any]:
    """Is the broker at `url` the one run from config/mosquitto/yanglao.conf (its queue limits are what
    make "zero lost" possible)?"""
    from yanglao.core.probe import answers

    if not answers(url):
        return {"answers": False, "shipped": False, "text": f"!!! no MQTT broker answers at {url} !!!"}
    try:
        pid = int(BROKER_PID.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        shipped = any(arg.endswith(b"yanglao.conf") for arg in cmdline) and b"mosquitto" in cmdline[0]
    except (OSError, ValueError):
        pid, shipped = None, False
    conf = BROKER_CONF.relative_to(ROOT)
    if not shipped:
        text = f"!!! the broker at {url} is not the one run from {conf} (start it with mosquitto -d -c {conf}) !!!"
        return {"answers": True, "shipped": False, "text": text}
    started = _started_at(pid)
    if started is not None and started < BROKER_CONF.stat().st_mtime:
        text = f"!!! the broker (pid {pid}) was started before {conf} last changed: restart it !!!"
        return {"answers": True, "shipped": False, "text": text}
    return {"answers": True, "shipped": True, "text": f"Mosquitto at {url}, pid {pid}, run from {conf}"}


def _started_at(pid: int | None) -> float | None:
    """When a process started (epoch seconds), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


# --- helpers of the runs ---------------------------------------------------------------------------------


def start_workers(args: argparse.Namespace, env: dict[str, str], tag: str) -> tuple[list[Helper], str]:
    run = secrets.token_hex(4)
    group = f"yanglao-bench-{tag}-{run}"
    # Each worker as `yanglao ingest_mqtt` runs it: the events lane and, in a process of its own, the
    # alarm lane.
    workers = [
        Helper(
            "worker",
            {
                "url": args.broker,
                "lane": lane,
                "name": f"bench-{tag}-{run}-{n}",
                "group": group,
                "batch": args.batch,
                "wait_ms": args.wait_ms,
                "profile": str(Path(os.environ["YANGLAO_DATA_DIR"]) / f"worker-{lane}-{n}.pstats"),
            },
            env,
        )
        for n in range(1, args.workers + 1)
        for lane in ("events", "alarms")
    ]
    for worker in workers:
        worker.wait_for("ready", 60)
    return workers, group


def stop_workers(workers: list[Helper]) -> list[dict[str, Any]]:
    results = []
    for worker in workers:
        worker.tell("stop")
    for worker in workers:
        results.append(worker.finish(120))
    return results


def count_readings() -> int:
    from django.db import connection

    from yanglao.monitoring.models import Reading

    count = Reading.objects.count()
    connection.close()
    return count


def wait_stored(target: int, deadline_s: float, report_every: float = 5.0, tag: str = "") -> int:
    """Polls the readings' count (once a second: counting costs the database) until it reaches `target`
    or stops moving for 20 s. The times measured come from the workers, not from here."""
    started = time.monotonic()
    last_count, last_move, last_report = -1, started, started
    while True:
        count = count_readings()
        now = time.monotonic()
        if count != last_count:
            last_count, last_move = count, now
        if count >= target or now - last_move > 20 or now - started > deadline_s:
            return count
        if now - last_report >= report_every:
            last_report = now
            say(f"    {tag}{count:,} stored after {now - started:.0f} s")
        time.sleep(1.0)


def _sum(results: list[dict[str, Any]], key: str) -> int:
    return sum(int(r.get(key) or 0) for r in results)


# --- 1. sustained ingest ---------------------------------------------------------------------------------


def live_runs(
    args: argparse.Namespace,
    env: dict[str, str],
    built: dict[str, dict[str, Any]],
    buttons: list[Any],
    load: list[Any],
    cookie: str,
    serial_ids: dict[str, int],
    vendor: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ingest workers and the web server, started once: warm-up, sustained ingest, then the console's
    latency idle and under load."""
    web, port = start_web(env)
    workers: list[Helper] = []
    try:
        workers, group = start_workers(args, env, "run")
        say(f"  [{vendor}] {args.workers} ingest worker(s) in {group}; uvicorn on 127.0.0.1:{port}")
        warm = built["warm"]
        before = count_readings()
        publisher = publish_set(args, env, warm, 0, vendor, "warm-up")
        try:
            wait_stored(before + len(warm["ids"]), 120, tag=f"[{vendor}] warm-up: ")
            publisher.finish(60)
        finally:
            publisher.kill()
        sustained = sustained_run(args, env, built, workers, serial_ids, vendor)
        latency = latency_run(args, env, buttons, load, workers, port, cookie, sustained["rate"], vendor)
    finally:
        if workers:
            stop_workers(workers)
        web.terminate()
        try:
            web.wait(10)
        except subprocess.TimeoutExpired:
            web.kill()
    return sustained, latency


def publish_set(
    args: argparse.Namespace, env: dict[str, str], built: dict[str, Any], rate: float, vendor: str, what: str
) -> Helper:
    publisher = Helper("publisher", {"url": args.broker, "file": built["path"], "rate": rate}, env)
    try:
        publisher.wait_for("ready", 60)
    except Exception:
        publisher.kill()
        raise
    say(f"  [{vendor}] {what}: publishing {len(built['ids']):,} messages")
    publisher.tell()
    return publisher


def sustained_run(
    args: argparse.Namespace,
    env: dict[str, str],
    built: dict[str, dict[str, Any]],
    workers: list[Helper],
    serial_ids: dict[str, int],
    vendor: str,
) -> dict[str, Any]:
    from django.db import connection

    from yanglao.monitoring.models import Reading

    run = built["sustained"]
    total = len(run["ids"])
    before = count_readings()
    load_before = os.getloadavg()
    started = [worker.ask("stats") for worker in workers]
    broker_pid = _broker_pid()
    broker_before, machine_before = _process_cpu(broker_pid), _machine_cpu()
    if args.profile:
        for worker in workers:
            worker.tell("profile")
    publisher = publish_set(args, env, run, args.rate, vendor, "sustained")
    try:
        stored = wait_stored(before + total, max(120.0, total / 500), tag=f"[{vendor}] ") - before
        published = publisher.finish(120)
    finally:
        publisher.kill()
    broker_cpu, machine_after = _process_cpu(broker_pid) - broker_before, _machine_cpu()
    results = [worker.ask("stats") for worker in workers]
    load_after = os.getloadavg()
    first_publish = published["first"]
    last_commit = max(r["last"] or 0 for r in results)
    seconds = last_commit - first_publish
    # Zero lost: the set of ids published against the set stored.
    stored_ids = set(Reading.objects.values_list("message_id", flat=True))
    published_ids = set(run["ids"])
    missing = published_ids - stored_ids
    others = set(built["warm"]["ids"]) | set(built["baseline"]["ids"])
    alarms = check_alarms([built["warm"], run], serial_ids)
    connection.close()
    # A batch begun before the first publish is the warm-up's tail, not the run's.
    batches = [b for r in results for b in r["batches"] if b[1] >= first_publish]
    profile = None
    if args.profile:
        data_dir = Path(os.environ["YANGLAO_DATA_DIR"])
        profile = profile_summary([str(p) for p in sorted(data_dir.glob("worker-*.pstats"))], stored)
    return {
        "profile": profile,
        "thread_cpu": sum(b[4] for b in batches),
        "broker_cpu": broker_cpu,
        "machine_busy": (machine_after[0] - machine_before[0])
        / max(1e-9, machine_after[1] - machine_before[1]),
        "messages": total,
        "stored": stored,
        "seconds": seconds,
        "rate": stored / seconds if seconds > 0 else 0.0,
        "publish": published,
        "publish_rate": published["sent"] / (published["last"] - published["first"]),
        "workers": [{k: v for k, v in r.items() if k != "batches"} for r in results],
        "workers_cpu": [r["cpu"] - r0["cpu"] for r, r0 in zip(results, started, strict=True)],
        "network_cpu": sum(
            r["network_cpu"] - r0["network_cpu"] for r, r0 in zip(results, started, strict=True)
        ),
        "first_commit": min((b[3] for b in batches), default=first_publish) - first_publish,
        "batches": len(batches),
        "batch_mean": sum(b[0] for b in batches) / len(batches) if batches else 0,
        "process_seconds": sum(b[2] for b in batches),
        "handle_seconds": sum(b[3] - b[1] for b in batches),
        "missing": len(missing),
        "missing_examples": sorted(missing)[:5],
        "unexpected": len(stored_ids - published_ids - others),
        "distinct_ids": len(published_ids),
        "duplicates": _sum(results, "duplicates"),
        "rejected": _sum(results, "rejected"),
        "problems": {k: v for r in results for k, v in (r.get("problems") or {}).items()},
        "broker_dropped": _sum(results, "broker_dropped"),
        "db_errors": _sum(results, "db_errors"),
        "by_type": run["by_type"],
        "alarms": alarms,
        "load": [round(load_before[0], 2), round(load_after[0], 2)],
    }


def check_alarms(sets: list[dict[str, Any]], serial_ids: dict[str, int]) -> dict[str, Any]:
    """The alarms raised against what the messages call for: the same situations, each counting its
    messages, and nothing else (the baseline's own alarms aside)."""
    from yanglao.monitoring.models import Alarm

    expected: Counter[str] = Counter()
    for built in sets:
        expected.update(built["alarms"])
        for serial, n in built["battery"].items():
            expected[f"battery_low:d{serial_ids[serial]}"] += n
    expected = dict(expected)
    found = dict(
        Alarm.objects.exclude(situation__startswith="baseline:").values_list("situation", "message_count")
    )
    rules = Counter(Alarm.objects.exclude(situation__startswith="baseline:").values_list("rule", flat=True))
    wrong_count = [k for k in expected if k in found and found[k] != expected[k]]
    return {
        "expected": len(expected),
        "found": len(found),
        "by_rule": dict(rules),
        "expected_by_rule": dict(Counter(k.split(":")[0] for k in expected)),
        "messages": sum(expected.values()),
        "missing": len(set(expected) - set(found)),
        "extra": len(set(found) - set(expected)),
        "wrong_count": len(wrong_count),
        "examples": [(k, expected.get(k), found.get(k)) for k in wrong_count[:3]]
        + [(k, expected[k], None) for k in sorted(set(expected) - set(found))[:3]]
        + [(k, None, found[k]) for k in sorted(set(found) - set(expected))[:3]],
        "ok": expected == found,
    }


# --- 2. baseline -----------------------------------------------------------------------------------------


def baseline_run(
    args: argparse.Namespace, env: dict[str, str], built: dict[str, Any], vendor: str
) -> dict[str, Any]:
    from yanglao.monitoring.models import Reading

    total = len(built["ids"])
    load_before = os.getloadavg()
    subscriber = Helper("baseline", {"url": args.broker, "expected": total, "timeout": 600}, env)
    publisher = Helper("publisher", {"url": args.broker, "file": built["path"], "rate": 0}, env)
    try:
        subscriber.wait_for("ready", 60)
        publisher.wait_for("ready", 60)
        say(f"  [{vendor}] baseline: one ORM save per message, {total:,} messages")
        publisher.tell()
        done = subscriber.wait_for("done", 660)
        published = publisher.finish(120)
        result = subscriber.finish(60)
    finally:
        publisher.kill()
        subscriber.kill()
    load_after = os.getloadavg()
    ids = built["ids"]
    stored = set(Reading.objects.filter(message_id__in=ids).values_list("message_id", flat=True))
    from django.db import connection

    connection.close()
    seconds = (done["last"] or 0) - published["first"]
    return {
        "messages": total,
        "saved": done["saved"],
        "seconds": seconds,
        "rate": done["saved"] / seconds if seconds > 0 else 0.0,
        "publish_rate": published["sent"] / (published["last"] - published["first"]),
        "missing": len(set(ids) - stored),
        "foreign": result["foreign"],
        "cpu": result["cpu"],
        "load": [round(load_before[0], 2), round(load_after[0], 2)],
    }


# --- 3. console latency ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603 (our interpreter, uvicorn)
    with contextlib.suppress(OSError):  # as the web server's unit (docs/deployment.md) has it: Nice=-5
        os.setpriority(os.PRIO_PROCESS, process.pid, WEB_NICE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("uvicorn did not listen within 60 s")


def session_cookie(user: Any) -> str:
    from django.db import connection
    from django.test import Client

    client = Client()
    client.force_login(user)
    value = client.cookies["sessionid"].value
    connection.close()
    return value


def sos_payload(device: Any, tag: str) -> bytes:
    from django.utils import timezone

    return json.dumps(
        {
            "id": f"{device.serial}-{tag}",
            "serial": device.serial,
            "type": "sos",
            "at": timezone.localtime().isoformat(timespec="seconds"),
        },
        separators=(",", ":"),
    ).encode()


async def probe_series(
    port: int, cookie: str, url: str, buttons: list[Any], gap: float, tag: str
) -> dict[str, Any]:
    """Publish one SOS from each button on a fixed schedule; time each to its alarm's WebSocket frame."""
    import paho.mqtt.client as paho
    from websockets.asyncio.client import connect

    from yanglao.monitoring.mqtt import broker_from_url

    broker = broker_from_url(url)
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"yanglao-bench-probe-{secrets.token_hex(4)}",
        clean_session=True,
        protocol=paho.MQTTv311,
    )
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect(broker.host, broker.port, keepalive=60)
    client.loop_start()
    connected.wait(10)
    sent: dict[int, float] = {}
    sent_wall: dict[int, float] = {}
    received: dict[int, float] = {}
    others = 0
    async with connect(
        f"ws://127.0.0.1:{port}/ws/monitoring/alarms/",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": f"sessionid={cookie}"},
        max_size=None,
    ) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if hello.get("event") != "hello":
            raise RuntimeError(f"the console said {hello!r} instead of hello")

        async def reader() -> None:
            nonlocal others
            async for raw in ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                alarms = frame.get("alarms") or [frame.get("alarm") or {}]
                probes = [
                    a["elder_id"] for a in alarms if a.get("rule") == "sos" and a.get("elder_id") in sent
                ]
                if frame.get("event") == "raised" and probes:
                    for elder in probes:
                        received.setdefault(elder, now)
                else:
                    others += 1

        task = asyncio.create_task(reader())
        payloads = [(b.elder_id, b.alarm_topic, sos_payload(b, tag)) for b in buttons]
        start = time.perf_counter() + 0.2
        for i, (elder, topic, payload) in enumerate(payloads):
            delay = start + i * gap - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[elder] = time.perf_counter()
            sent_wall[elder] = time.time()
            client.publish(topic, payload, qos=1)
        deadline = time.perf_counter() + PROBE_PATIENCE
        while len(received) < len(sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()
    client.disconnect()
    client.loop_stop()
    latencies = [(received[e] - sent[e]) * 1000 for e in sent if e in received]
    # A probe never seen counts as slower than any seen (so a percentile cannot look better for it).
    missing = [float("inf")] * (len(sent) - len(latencies))
    return {
        "sent": len(sent),
        "received": len(latencies),
        "other_frames": others,
        **_percentiles(latencies + missing),
        "stored": await asyncio.to_thread(_stored_latency, sent_wall),
    }


def _stored_latency(sent_wall: dict[int, float]) -> dict[str, float]:
    """The first part of the probes' latency: publish → the alarm's row (its raised_at, set by the worker
    as it writes), the same clock. The rest is the commit, the push and the WebSocket."""
    from django.db import connection

    from yanglao.monitoring.models import Alarm

    raised = dict(
        Alarm.objects.filter(elder_id__in=list(sent_wall), rule="sos").values_list("elder_id", "raised_at")
    )
    connection.close()
    return _percentiles([(raised[e].timestamp() - t) * 1000 for e, t in sent_wall.items() if e in raised])


def _probe_priority() -> int:
    """Every thread of this process (the probes' publisher and WebSocket client) at PROBE_NICE; the
    priority they got, the usual one when that is not permitted (not root)."""
    try:
        for task in Path("/proc/self/task").iterdir():
            os.setpriority(os.PRIO_PROCESS, int(task.name), PROBE_NICE)
    except OSError:
        return os.getpriority(os.PRIO_PROCESS, 0)
    return PROBE_NICE


def _settle() -> None:
    """Let the database finish with the sustained run before "idle" is measured: write what it still
    holds back (a checkpoint), then a few seconds for its background work (autovacuum after half a
    million new rows). Otherwise the idle series meets that work, and an idle p99 inflated so would
    flatter the ratio to it."""
    from django.db import DatabaseError, connection

    with contextlib.suppress(DatabaseError), connection.cursor() as cursor:  # PostgreSQL: needs pg_checkpoint
        cursor.execute(
            "CHECKPOINT" if connection.vendor == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)"
        )
    connection.close()
    time.sleep(SETTLE_S)


def _without_old_garbage() -> None:
    """Keep this process's own garbage collector out of the probes' times: it holds millions of objects
    (the built messages and their ids), and a full collection, which the thousands of frames received
    under load set off, would stop the reader that timestamps the frames. Frozen objects are not scanned
    again."""
    gc.collect()
    gc.freeze()


def _percentiles(ms: list[float]) -> dict[str, float]:
    import numpy as np

    if not ms:
        return {
            "p50_ms": float("nan"),
            "p95_ms": float("nan"),
            "p99_ms": float("nan"),
            "max_ms": float("nan"),
        }
    a = np.array(ms)
    # "higher": the percentile is a measured value (no interpolation towards a missing probe's inf).
    return {
        "p50_ms": float(np.percentile(a, 50, method="higher")),
        "p95_ms": float(np.percentile(a, 95, method="higher")),
        "p99_ms": float(np.percentile(a, 99, method="higher")),
        "max_ms": float(a.max()),
        "mean_ms": float(a.mean()),
    }


def latency_run(
    args: argparse.Namespace,
    env: dict[str, str],
    buttons: list[Any],
    load: list[Any],
    workers: list[Helper],
    port: int,
    cookie: str,
    sustained_rate: float,
    vendor: str,
) -> dict[str, Any]:
    from yanglao.core.probe import answers

    if not answers(args.redis):
        return {"skipped": f"no Redis answers at {args.redis}"}
    gap = args.probe_gap_ms / 1000
    idle_buttons, loaded_buttons = buttons[: args.probes], buttons[args.probes : 2 * args.probes]
    load_rate = LOAD_SHARE * sustained_rate
    # The background load lasts the probes plus RUN_UP seconds before and 3 s after.
    background_count = int(load_rate * (args.probes * gap + RUN_UP + 3))
    data_dir = Path(os.environ["YANGLAO_DATA_DIR"])
    background = build_messages(load, background_count, "l1", data_dir / "load.pickle", seed=3)
    out: dict[str, Any] = {"channel_layer": f"channels-redis at {args.redis}", "load_rate": load_rate}
    out["probe_nice"] = _probe_priority()
    _without_old_garbage()
    _settle()
    before = os.getloadavg()
    say(f"  [{vendor}] latency, idle: {args.probes} SOS, one every {args.probe_gap_ms} ms")
    idle = asyncio.run(probe_series(port, cookie, args.broker, idle_buttons, gap, "idle"))
    _without_old_garbage()
    out["idle"] = {**idle, "load": [round(before[0], 2), round(os.getloadavg()[0], 2)]}
    stored_before = count_readings()
    for worker in workers:
        worker.ask("stats")
    publisher = publish_set(
        args, env, background, load_rate, vendor, f"latency under load: {load_rate:,.0f} msg/s"
    )
    try:
        time.sleep(RUN_UP)
        before = os.getloadavg()
        loaded = asyncio.run(probe_series(port, cookie, args.broker, loaded_buttons, gap, "loaded"))
        after = os.getloadavg()
        published = publisher.finish(120)
    finally:
        publisher.kill()
    expected = background_count + len(loaded_buttons)
    stored = (
        wait_stored(stored_before + expected, max(120.0, expected / 1000), tag=f"[{vendor}] ") - stored_before
    )
    results = [worker.ask("stats") for worker in workers]
    last_commit = max(r["last"] or 0 for r in results)
    out["loaded"] = {**loaded, "load": [round(before[0], 2), round(after[0], 2)]}
    out["background"] = {
        "sent": published["sent"],
        "publish_rate": published["sent"] / (published["last"] - published["first"]),
        "stored": stored,
        "expected": expected,
        "behind_s": last_commit - published["last"],
    }
    return out


# --- profile -------------------------------------------------------------------------------------------


# The stages of a worker's batch, by (file, function) in the profile.
STAGES = [
    ("mqtt.py", "_handle", "the batch, in all (IngestWorker._handle)"),
    ("mqtt.py", "_messages_of", "  JSON of the deliveries (mqtt._native)"),
    ("ingest.py", "process", "  ingest.process"),
    ("ingest.py", "_parse_all", "    checking each message (messages.parse)"),
    ("ingest.py", "devices_by_serial", "    devices by serial (cached)"),
    ("ingest.py", "_insert_readings", "    INSERT readings ... ON CONFLICT DO NOTHING RETURNING"),
    ("ingest.py", "_touch_devices", "    UPDATE devices' last seen / battery (executemany, moved a minute)"),
    ("ingest.py", "_situations", "    instant rules (thresholds query, folding by situation)"),
    ("ingest.py", "fold_into_open", "    fold_into_open (one UPDATE … FROM VALUES for the batch)"),
    (
        "ingest.py",
        "raise_or_fold",
        "    raise_or_fold (situations without an open alarm: INSERT alarm + action + audit)",
    ),
    ("base.py", "commit", "    COMMIT"),
    ("receivers.py", "on_alarms_raised", "    after commit: raised alarms read and handed to the sender"),
    ("receivers.py", "on_alarm_changed", "    after commit: folded alarms read and handed to the sender"),
    ("mqtt.py", "_ack", "  PUBACKs"),
]


def profile_summary(paths: list[str], messages: int) -> dict[str, Any]:
    """The stages of the workers' batches (cumulative time per message, from cProfile: inflated by the
    profiler, so read the shares) and the functions that cost most by their own time."""
    import io
    import pstats

    stats = pstats.Stats(*paths, stream=io.StringIO())
    table = []
    for file, name, label in STAGES:
        seconds = calls = 0.0
        for (filename, _line, function), (_cc, nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            if function == name and filename.endswith(file):
                if file == "base.py" and "django/db/backends/base" not in filename:
                    continue
                seconds += ct
                calls += nc
        table.append((label, seconds / messages * 1e6, int(calls)))
    text = io.StringIO()
    stats.stream = text  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(25)
    lines = [line for line in text.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return {"stages": table, "top": lines[start:]}


# ======================================================================================================
# The parent: runs the children, prints the figures.
# ======================================================================================================


def child_arguments(args: argparse.Namespace) -> list[str]:
    out = [
        "--households", str(args.households),
        "--elders", str(args.elders),
        "--messages", str(args.messages),
        "--workers", str(args.workers),
        "--batch", str(args.batch),
        "--wait-ms", str(args.wait_ms),
        "--rate", str(args.rate),
        "--baseline", str(args.baseline),
        "--probes", str(args.probes),
        "--probe-gap-ms", str(args.probe_gap_ms),
        "--broker", args.broker,
        "--redis", args.redis,
    ]  # fmt: skip
    return out + (["--profile"] if args.profile else [])


def _met(ok: bool) -> str:
    return "met" if ok else "!!! MISSED !!!"


def report(figures: dict[str, Any], label: str) -> list[str]:
    misses: list[str] = []
    world, options = figures["world"], figures["options"]
    s = figures["sustained"]
    print(
        f"\n== {label}: {world['homes']:,} homes with {world['devices']:,} simulated devices "
        f"({', '.join(f'{v:,} {k}' for k, v in sorted(world['kinds'].items()))}) of {world['elders']:,} "
        f"generated elders; {world['probe_homes']} more homes for the latency probes, {world['warm_homes']} for the "
        f"workers' warm-up ({WARM_MESSAGES:,} messages before the timed run); {os.cpu_count()} cores"
    )
    print("setup (untimed): " + ", ".join(f"{k} {v} s" for k, v in figures["setup"].items()))
    print(f"broker: {figures['broker']['text']}")
    if not figures["broker"]["shipped"]:
        misses.append(f"{label}: the broker is not run from {BROKER_CONF.relative_to(ROOT)}")
    if figures["host"]["autogroup"]:
        print(
            "host: !!! kernel.sched_autogroup_enabled is 1, not 0 as docs/deployment.md asks: the "
            "workers' priorities count only among their own threads !!!"
        )
        misses.append(f"{label}: measured with kernel.sched_autogroup_enabled 1")
    mix = ", ".join(f"{v:,} {k}" for k, v in sorted(s["by_type"].items(), key=lambda kv: -kv[1]))
    pub = s["publish"]
    pace = "flat out" if not options["rate"] else f"paced at {options['rate']:,.0f} msg/s"
    print(
        f"sustained ingest: {options['workers']} IngestWorker process(es) (batch {options['batch']}, wait "
        f"{options['wait_ms']} ms), one publisher process "
        f"({pace}, QoS 1, "
        f"{PUBLISH_INFLIGHT:,} in flight): {s['messages']:,} messages ({mix})"
    )
    print(
        f"    published in {pub['last'] - pub['first']:.1f} s ({s['publish_rate']:,.0f} msg/s, "
        f"{pub['acked']:,} acknowledged by the broker); first commit {s['first_commit'] * 1000:.0f} ms after "
        f"the first publish; last commit {s['seconds']:.1f} s after it"
    )
    ok = s["rate"] >= TARGET_RATE
    misses += [] if ok else [f"{label} sustained {s['rate']:,.0f} msg/s < {TARGET_RATE:,.0f}"]
    print(
        f"    rate, first publish to last commit: {s['rate']:,.0f} messages/s   target >= {TARGET_RATE:,.0f}: "
        f"{_met(ok)}"
    )
    cpu = ", ".join(f"{c:.1f} s" for c in s["workers_cpu"])
    per = sum(s["workers_cpu"]) / s["stored"] * 1e6 if s["stored"] else 0
    thread = s["thread_cpu"] / s["stored"] * 1e6 if s["stored"] else 0
    network = s["network_cpu"] / s["stored"] * 1e6 if s["stored"] else 0
    print(
        f"    CPU: worker(s) {cpu} = {per:.0f} µs/message (the processing thread {thread:.0f}, paho's network "
        f"thread {network:.0f}, the rest {per - thread - network:.0f}: the urgent lane and the console-push thread"
        f"); publisher {pub['cpu']:.1f} s, broker {s['broker_cpu']:.1f} s; the machine's {os.cpu_count()} "
        f"cores {s['machine_busy']:.0%} busy; load average (1 min) before / after: {s['load'][0]} / {s['load'][1]}"
    )
    if s["batches"]:
        print(
            f"    {s['batches']:,} batches of {s['batch_mean']:,.0f} messages on average; in ingest.process "
            f"{s['process_seconds']:.1f} s ({s['process_seconds'] / s['stored'] * 1e6:.0f} µs/message), "
            f"handling them (taking the messages apart, acknowledging) {s['handle_seconds']:.1f} s in all"
        )
    lost = s["missing"]
    ok = lost == 0 and s["stored"] == s["messages"] and s["unexpected"] == 0 and s["broker_dropped"] == 0
    misses += [] if ok else [f"{label} {lost} message(s) lost"]
    print(
        f"    lost: {lost} of {s['distinct_ids']:,} message ids ({s['stored']:,} readings stored, "
        f"{s['unexpected']} not published, {s['duplicates']} delivered again (ignored), "
        f"{s['rejected']} refused{': ' + json.dumps(s['problems'], ensure_ascii=False) if s['problems'] else ''}, "
        f"broker dropped {s['broker_dropped']}, database errors {s['db_errors']})   target 0: {_met(ok)}"
        + (f"; e.g. {s['missing_examples']}" if lost else "")
    )
    a = s["alarms"]
    ok = a["ok"]
    misses += [] if ok else [f"{label} alarms differ from what the messages call for"]
    print(
        f"    alarms: {a['found']:,} ({', '.join(f'{v:,} {k}' for k, v in sorted(a['by_rule'].items()))}); "
        f"expected {a['expected']:,} ({', '.join(f'{v:,} {k}' for k, v in sorted(a['expected_by_rule'].items()))}) "
        f"folding {a['messages']:,} messages: {'PASS' if ok else 'FAIL'}"
        + (
            ""
            if ok
            else f" (missing {a['missing']}, extra {a['extra']}, wrong count {a['wrong_count']}: {a['examples']})"
        )
    )
    b = figures["baseline"]
    ratio = s["rate"] / b["rate"] if b["rate"] else float("inf")
    ok = ratio >= TARGET_RATIO
    misses += [] if ok else [f"{label} ratio {ratio:.1f}x < {TARGET_RATIO:.0f}x"]
    print(
        f"baseline, a paho subscriber doing one ORM save per message (Device.get, Reading.create, device.save, "
        f"Alarm.create for an SOS; autocommit): {b['saved']:,} of {b['messages']:,} messages in "
        f"{b['seconds']:.1f} s = {b['rate']:,.0f} messages/s (published at {b['publish_rate']:,.0f} msg/s; "
        f"lost {b['missing']}; load {b['load'][0]} / {b['load'][1]})"
    )
    print(f"ratio (sustained / baseline): {ratio:,.1f}x   target >= {TARGET_RATIO:.0f}x: {_met(ok)}")
    lat = figures["latency"]
    if "skipped" in lat:
        print(f"!!! console latency SKIPPED: {lat['skipped']} !!!")
        misses.append(f"{label} latency not measured ({lat['skipped']})")
    else:
        idle, loaded = lat["idle"], lat["loaded"]
        print(
            f"console latency, SOS published -> alarm frame on a signed-in operator's WebSocket (uvicorn, "
            f"{lat['channel_layer']}, {options['workers']} worker(s)); {options['probes']} probes from distinct "
            f"homes, one every {options['probe_gap_ms']} ms, from a process at nice {lat['probe_nice']} "
            f"(the device and the console stand for other computers):"
        )
        for name, f in (("idle", idle), ("under load", loaded)):
            print(
                f"    {name}: received {f['received']}/{f['sent']}; p50 {f['p50_ms']:.0f} ms, p95 "
                f"{f['p95_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms, max {f['max_ms']:.0f} ms "
                f"(load average {f['load'][0]} / {f['load'][1]}; {f['other_frames']} other frames); of which "
                f"publish -> alarm row p50 {f['stored']['p50_ms']:.0f} ms, p99 {f['stored']['p99_ms']:.0f} ms"
            )
        bg = lat["background"]
        print(
            f"    background load: {bg['sent']:,} messages at {bg['publish_rate']:,.0f} msg/s "
            f"({LOAD_SHARE:.0%} of the sustained {s['rate']:,.0f}); stored {bg['stored']:,} of {bg['expected']:,}, "
            f"the last {bg['behind_s']:.2f} s after the last publish"
        )
        ok = idle["received"] == idle["sent"] and idle["p99_ms"] <= TARGET_IDLE_P99_MS
        misses += [] if ok else [f"{label} idle p99 {idle['p99_ms']:.0f} ms"]
        print(f"    idle p99 {idle['p99_ms']:.0f} ms   target <= {TARGET_IDLE_P99_MS:.0f} ms: {_met(ok)}")
        factor = loaded["p99_ms"] / idle["p99_ms"] if idle["p99_ms"] else float("inf")
        ok = loaded["received"] == loaded["sent"] and factor <= TARGET_LOADED_FACTOR
        misses += [] if ok else [f"{label} loaded p99 {loaded['p99_ms']:.0f} ms = {factor:.1f}x idle"]
        print(
            f"    under load p99 {loaded['p99_ms']:.0f} ms = {factor:.2f}x the idle p99   target <= "
            f"{TARGET_LOADED_FACTOR:.0f}x: {_met(ok)}"
        )
    if s.get("profile"):
        print(
            "profile of the workers' processing thread during the sustained run (cProfile: it slows the "
            "workers, so the rate above is not the benchmark's figure; read the shares), per message stored:"
        )
        for label, us, calls in s["profile"]["stages"]:
            print(f"    {label}: {us:,.1f} µs ({calls:,} calls)")
        print("    top functions by own time:")
        print("\n".join("      " + line for line in s["profile"]["top"]))
    return misses


def main() -> None:
    args = arguments()
    if args.role:
        spec = json.loads(args.spec)
        {"worker": role_worker, "publisher": role_publisher, "baseline": role_baseline}[args.role](spec)
        return
    if args.child:
        child(args, stage)
        return
    print(
        f"bench_ingest: {args.households:,} homes, {args.messages:,} messages sustained with {args.workers} "
        f"worker(s), baseline on {args.baseline:,}, {args.probes} SOS probes idle and under load"
    )
    # SIGTERM as Ctrl-C: the host setting is put back on the way out either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with host_as_deployed(args.host_as_is) as host:
        print(f"host: {host}")
        run_both(args, __file__, child_arguments(args), report)


if __name__ == "__main__":
    main()
