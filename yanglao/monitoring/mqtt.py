"""The MQTT ingest worker (`yanglao ingest_mqtt`): device messages from the broker into ingest.process,
at least once, in batches (DOMAIN.md §8).

Topics (QoS 1):

- ``yanglao/v1/devices/<serial>/events``: messages in the native format (messages.py), one JSON object or
  a JSON array of them. A message without ``serial`` takes the topic's; one whose ``serial`` differs from
  the topic's is refused (field "serial").
- ``yanglao/v1/vendors/<vendor>/...``: a vendor's own payload, translated by adapters/<vendor>.
- ``yanglao/v1/devices/<serial>/alarms`` and ``yanglao/v1/alarms/<vendor>/...``: the same two formats,
  for instant alarms (SOS, fall, smoke, gas). They are consumed by the alarm lane (below), over
  connections of their own, so the broker hands an SOS over at once instead of queueing it behind
  thousands of meter readings.

How nothing is lost and nothing is counted twice:

- Each worker has a stable client id, ``yanglao-ingest-<name>``, and an MQTT v5 persistent session (clean
  start off, session expiry "never", capped by the broker's persistent_client_expiration), so what the
  broker holds for a worker that is down or restarting waits for it.
- Workers subscribe through the shared subscription ``$share/<group>/...`` (default group
  ``yanglao-ingest``): the broker hands each message to one worker of the group, so workers split the
  load. Mosquitto keeps handing messages to a stopped member's session too; they wait for it to come back,
  so a worker that is retired for good is drained and its session ended with ``--retire``.
- Acknowledgement is manual: a message is acknowledged (PUBACK) only after the transaction that stored the
  batch holding it has committed. A worker killed mid-batch leaves its unacknowledged messages with the
  broker, which delivers them again when the worker reconnects; the message id makes the second delivery a
  no-op (ingest.process). Acknowledgements of a previous connection are never sent on a new one.
- A database error rolls the batch back; the batch is kept, not acknowledged, and retried after a pause,
  for as long as it takes. A message that cannot be processed for any other reason (a bug, not bad input:
  bad input is refused by ingest.process and acknowledged) is isolated by storing the batch one message at
  a time, logged with its payload at ERROR, and acknowledged, so it cannot stall the stream.
- The broker may send at most ``window`` unacknowledged messages (MQTT v5 Receive Maximum), so the batch
  can never be larger than the window. The default, WINDOW_BATCHES × batch, lets the broker send on while
  a batch is being stored, so a message that must not wait (the urgent lane, below) is read at once
  instead of waiting at the broker behind a full window. The worker also reads no more while its inbox
  holds a window's worth: Mosquitto 2.0 was seen sending a shared subscriber past it (_room_to_read).
- paho reconnects by itself when the broker goes away, retrying every 0.1 s doubling to 1 s, and the worker
  subscribes again on every connection. Mosquitto keeps persistent sessions, their queued and in-flight
  messages over an orderly restart (SIGTERM; persistence in config/mosquitto/yanglao.conf), but Mosquitto
  2.0 does not save shared subscriptions (only plain ones): from the broker's start until the workers
  have subscribed again, a published message matches no worker. The workers' short retry makes that
  moment a fraction of a second; the device contract (docs) asks MQTT v5 devices to publish again a
  message acknowledged with reason code 16, "no matching subscribers"; and a worker that finds the broker
  just restarted says so in its log.
- The broker's dropped-messages counter ($SYS/broker/publish/messages/dropped) is watched: when it rises,
  the broker's queue limits were hit (config/mosquitto/yanglao.conf) and the worker says so at ERROR.

Threads: paho's network thread only appends deliveries to an in-memory inbox (no parsing there); one
processing thread takes up to ``batch`` of them, or what arrived within ``wait_ms`` of the first, stores
them with one call of ingest.process, and acknowledges them. A delivery that may carry an SOS, a fall,
smoke or gas (a byte pattern on the payload: URGENT_NATIVE, or the vendor adapter's URGENT) goes to a
second inbox instead, which a second processing thread (its own database connection) stores at once,
without waiting for a batch to fill or for the batch being stored: under load, an SOS would otherwise wait
for up to two full batches. A false match costs only a small batch; a miss only the batching delay.
paho's reader is buffered (BufferedClient).

Lanes: a worker of lane "events" (the default) takes the two telemetry topics; a worker of lane "alarms"
takes the two alarm topics, with its own client id (``yanglao-ingest-alarms-<name>``), its own share
group (``<group>-alarms``) and its own persistent session, and stores everything it receives at once (the
urgent inbox). The urgent lane of an events worker above only helps an instant alarm that a device sent
with its telemetry: such a message has already waited at the broker behind everything queued before it,
which under load is seconds. `yanglao ingest_mqtt` runs both lanes, the alarm lane in a child process of
its own, so that it is never held up by the events lane's work (one Python process runs one thread at a
time). SIGTERM/SIGINT: stop taking new deliveries
(they stay unacknowledged for the next start), store and acknowledge what was received, disconnect.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import re
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.db import DatabaseError, InterfaceError, OperationalError, connection, connections, transaction
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from yanglao.monitoring import adapters, ingest

log = logging.getLogger("yanglao.monitoring.mqtt")

DEVICE_TOPIC = "yanglao/v1/devices/+/events"
VENDOR_TOPIC = "yanglao/v1/vendors/+/#"
ALARM_TOPIC = "yanglao/v1/devices/+/alarms"
VENDOR_ALARM_TOPIC = "yanglao/v1/alarms/+/#"
LANE_TOPICS = {"events": (DEVICE_TOPIC, VENDOR_TOPIC), "alarms": (ALARM_TOPIC, VENDOR_ALARM_TOPIC)}
DEFAULT_GROUP = "yanglao-ingest"
DEFAULT_URL = "mqtt://127.0.0.1:1883"
CLIENT_PREFIX = "yanglao-ingest-"
DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"
UPTIME_TOPIC = "$SYS/broker/uptime"
RECONNECT_MIN_S = 0.1
RECONNECT_MAX_S = 1.0
SESSION_NEVER_EXPIRES = 0xFFFFFFFF
MAX_RECEIVE_MAXIMUM = 65535
WINDOW_BATCHES = 8
READ_PAUSE_S = 0.05  # at most this long between paho's turns while the inbox is full
# Messages stored per transaction. 250, not more: on SQLite an SOS waits for the write lock until the batch
# being written commits. bench/bench_ingest.py on SQLite: batches of 1,000 stored no faster (9,024 against
# 9,150 msg/s) and an SOS under load took 88 ms at the median instead of 26 ms.
DEFAULT_BATCH = 250
# A native payload that may hold an instant-alarm message (ingest.INSTANT): "type": "sos" and the like.
URGENT_NATIVE = re.compile(rb'"type"\s*:\s*"(?:sos|fall|smoke|gas)"')
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
# MQTT v5 reason code 142: another client connected with our client id.
SESSION_TAKEN_OVER = 142
# CPU priorities (nice values, added to the thread's own) when the cores are busy. The events lane's bulk
# threads step back, so that the broker and the web server that pushes to the consoles go first; the
# threads that carry an SOS (the alarm lane's, and the urgent threads) step forward, ahead of the
# database's own processes too. Stepping forward needs CAP_SYS_NICE (root, or the service manager's
# Nice=/AmbientCapabilities=, docs/deployment.md); without it the worker says so once and runs at the
# usual priority.
EVENTS_NICE = 5
URGENT_NICE = -10
# On SQLite the urgent threads ask for the write lock every millisecond, instead of SQLite's own waiting
# (sleeps growing to 100 ms), so that an SOS is written as soon as the bulk batch being written commits.
URGENT_LOCK_POLL_S = 0.001
URGENT_LOCK_PATIENCE_S = 20.0


def device_topic(serial: str) -> str:
    return f"yanglao/v1/devices/{serial}/events"


def vendor_topic(vendor: str, rest: str = "events") -> str:
    return f"yanglao/v1/vendors/{vendor}/{rest}"


def alarm_topic(serial: str) -> str:
    """Where a device publishes its instant alarms (SOS, fall, smoke, gas)."""
    return f"yanglao/v1/devices/{serial}/alarms"


def vendor_alarm_topic(vendor: str, rest: str = "events") -> str:
    return f"yanglao/v1/alarms/{vendor}/{rest}"


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def broker_from_url(url: str) -> Broker:
    """mqtt://[user:password@]host[:port] or mqtts://… (TLS, port 8883 by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"not an mqtt:// or mqtts:// URL: {url!r}")
    tls = parts.scheme == "mqtts"
    return Broker(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
    )


RECV_CHUNK = 65536
PUBACK_COMMAND = PacketTypes.PUBACK << 4
PUBACK_SUCCESS = bytes([PUBACK_COMMAND, 2])  # the fixed header; the message id follows


class BufferedClient(paho.Client):
    """A paho client that reads the socket in RECV_CHUNK pieces. paho reads each packet with a recv()
    call per byte of its header and one for its body, and one packet per wake-up of its loop: right for a
    device, but three system calls and a select() per message for a worker taking thousands a second.
    Here each wake-up does one recv() of up to RECV_CHUNK bytes and hands paho every whole packet in it;
    paho's own reader is unchanged and takes its small reads from the buffer (a packet cut at the end of
    a chunk waits, inside paho's reader, for the next one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._chunk = b""
        self._chunk_at = 0
        self._may_recv = False
        # Asked before each new chunk is read; False leaves the bytes in the socket (see IngestWorker).
        self.room_to_read: Callable[[], bool] | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._chunk_at >= len(self._chunk):
            if not self._may_recv:
                raise BlockingIOError  # this wake-up's chunk is used up: paho waits for the socket
            self._may_recv = False
            chunk = super()._sock_recv(RECV_CHUNK)
            if not chunk:
                return chunk  # the broker closed the connection
            self._chunk, self._chunk_at = chunk, 0
        start = self._chunk_at
        self._chunk_at = start + bufsize
        return self._chunk[start : self._chunk_at]

    def loop_read(self, max_packets: int = 1) -> paho.MQTTErrorCode:
        if self.room_to_read is not None and not self.room_to_read():
            # Nothing is left in the chunk: the socket stays readable and paho asks again after it has
            # sent what is queued (the acknowledgements that make room) and kept the connection alive.
            return paho.MQTTErrorCode.MQTT_ERR_SUCCESS
        self._may_recv = True
        while True:
            rc = super().loop_read(max_packets)
            if rc != paho.MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is None:
                return rc
            if self._chunk_at >= len(self._chunk) and not self._may_recv:
                return rc

    def _sock_close(self) -> None:
        self._chunk, self._chunk_at = b"", 0  # a new connection starts with no old bytes
        super()._sock_close()

    def ack_all(self, mids: list[int]) -> None:
        """PUBACK these QoS 1 messages in one write. paho's ack() queues each acknowledgement on its own,
        wakes its loop for it and writes it with its own send(): two system calls a message. A PUBACK
        for success is four bytes (MQTT 5 allows leaving out the reason code and properties), so the
        batch's acknowledgements go out as one queued piece. paho empties its queue on a new
        connection, so none reaches a later connection."""
        if mids:
            data = b"".join(PUBACK_SUCCESS + mid.to_bytes(2, "big") for mid in mids)
            self._packet_queue(PUBACK_COMMAND, data, 0, 0)


def make_client(broker: Broker, client_id: str, *, buffered: bool = False, **kwargs: Any) -> paho.Client:
    """A paho client (callback API 2, MQTT v5) set up for the broker's address and credentials;
    buffered: reads in chunks (BufferedClient), for a client that receives many messages."""
    factory = BufferedClient if buffered else paho.Client
    client = factory(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5, **kwargs)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set()
    return client


class Delivery(NamedTuple):
    connection: int  # which connection it came on: acknowledgements go back on that one only
    mid: int
    qos: int
    topic: str
    payload: bytes | bytearray


@dataclass
class Stats:
    received: int = 0
    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    alarms_raised: int = 0
    acked: int = 0
    db_errors: int = 0
    poison: int = 0
    connects: int = 0
    broker_dropped: int = 0
    problems: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}


class IngestWorker:
    """One ingest worker; see the module's docstring. `run()` blocks until a signal or `stop()`;
    `start()`/`stop()` run it in the background (tests, embedding)."""

    def __init__(
        self,
        *,
        url: str = DEFAULT_URL,
        lane: str = "events",
        name: str = "1",
        group: str = DEFAULT_GROUP,
        batch: int = DEFAULT_BATCH,
        wait_ms: int = 50,
        window: int | None = None,
        keepalive: int = 30,
        retry_seconds: float = 2.0,
        log_every: float = 60.0,
        session_expiry: int = SESSION_NEVER_EXPIRES,
    ) -> None:
        if not name or any(c in name for c in "+#/ "):
            raise ValueError("the worker name must be non-empty, without spaces, '/', '+' or '#'")
        if not group or any(c in group for c in "+#/ "):
            raise ValueError("the group must be non-empty, without spaces, '/', '+' or '#'")
        if lane not in LANE_TOPICS:
            raise ValueError(f"the lane must be one of {', '.join(LANE_TOPICS)}")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.window = min(window or WINDOW_BATCHES * batch, MAX_RECEIVE_MAXIMUM)
        if batch > self.window:
            raise ValueError(
                f"batch ({batch}) cannot exceed the in-flight window ({self.window}): the broker would "
                "stop sending before a batch is full"
            )
        self.broker = broker_from_url(url)
        self.name = name
        self.lane = lane
        self.alarms_only = lane == "alarms"
        if self.alarms_only:
            group += "-alarms"
            name = "alarms-" + name
        self.group = group
        self.batch = batch
        self.wait = max(wait_ms, 0) / 1000
        self.keepalive = keepalive
        self.retry_seconds = retry_seconds
        self.log_every = log_every
        self.session_expiry = session_expiry
        self.nice = URGENT_NICE if self.alarms_only else EVENTS_NICE  # this lane's bulk and network threads
        self._local = threading.local()  # .urgent: whether this thread is an urgent processing thread
        self._network_niced = False
        self.client_id = CLIENT_PREFIX + name
        self.topics = [f"$share/{group}/{topic}" for topic in LANE_TOPICS[lane]]
        self.stats = Stats()

        self._inbox: deque[Delivery] = deque()
        self._cond = threading.Condition()
        self._urgent: deque[Delivery] = deque()
        self._urgent_cond = threading.Condition()
        self._stats_lock = threading.Lock()  # two processing threads count
        self._connection = 0
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._closing = False  # no new deliveries taken (stop requested)
        self._dead = False  # simulated crash: nothing more is stored or acknowledged
        self._retiring = False
        self._last_delivery = time.monotonic()
        self._dropped_seen: int | None = None
        self._check_uptime = False
        self._processor: threading.Thread | None = None
        self._urgent_processor: threading.Thread | None = None
        self._finished = threading.Event()
        self._client = self._make_client()

    # --- connection ---------------------------------------------------------------------------------
    def _make_client(self) -> BufferedClient:
        client = make_client(self.broker, self.client_id, buffered=True, manual_ack=True)
        assert isinstance(client, BufferedClient)
        client.room_to_read = self._room_to_read
        # A short, constant-ish retry: after a broker restart the shared subscription exists only once
        # the worker has subscribed again (see the module's docstring), so it must be back first.
        client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S)  # type: ignore[arg-type]
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _connect_properties(self) -> Properties:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.session_expiry
        properties.ReceiveMaximum = self.window
        return properties

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.error(
                "broker %s:%s refused %s: %s", self.broker.host, self.broker.port, self.client_id, reason
            )
            return
        if not self._network_niced:  # paho's network thread calls this
            self._network_niced = True
            _change_priority(self.nice)
        with self._cond:
            self._connection += 1
        self.stats.connects += 1
        if self.stats.connects > 1 and not flags.session_present:
            log.warning(
                "%s: the broker had no session for this worker (new broker state or expired session): "
                "messages it held for this worker are gone",
                self.client_id,
            )
        if self._retiring:
            client.unsubscribe(self.topics)
        else:
            self._check_uptime = self.stats.connects > 1
            client.subscribe([(topic, 1) for topic in self.topics] + [(DROPPED_TOPIC, 0), (UPTIME_TOPIC, 0)])
        log.info(
            "%s connected to %s:%s (session %s, window %d)",
            self.client_id,
            self.broker.host,
            self.broker.port,
            "resumed" if flags.session_present else "new",
            self.window,
        )
        self._connected.set()

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        refused = [str(reason) for reason in reasons[: len(self.topics)] if reason.is_failure]
        if refused:
            log.error("%s: the broker refused the subscription: %s", self.client_id, ", ".join(refused))
            return
        log.info("%s subscribed to %s", self.client_id, ", ".join(self.topics))
        self._subscribed.set()

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self._connected.clear()
        self._subscribed.clear()
        if self._closing or self._dead:
            return
        if getattr(reason, "value", None) == SESSION_TAKEN_OVER:
            log.error(
                "%s: another worker connected with the same name; give each worker its own --name",
                self.client_id,
            )
        else:
            log.warning("%s lost the broker (%s); reconnecting", self.client_id, reason)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        if message.qos == 0:
            if message.topic == DROPPED_TOPIC:
                self._on_dropped(message.payload)
            elif message.topic == UPTIME_TOPIC:
                self._on_uptime(message.payload)
            return
        if self._closing or self._dead:
            return  # left unacknowledged: the broker delivers it again to the next run
        delivery = Delivery(self._connection, message.mid, message.qos, message.topic, message.payload)
        if self.alarms_only or _looks_urgent(message.topic, message.payload):
            with self._urgent_cond:
                self._urgent.append(delivery)
                self._urgent_cond.notify()
            return
        with self._cond:
            self._inbox.append(delivery)
            waiting = len(self._inbox)
            if waiting == 1 or waiting >= self.batch:
                self._cond.notify()

    def _room_to_read(self) -> bool:
        """paho's network thread, before it reads more: whether the inbox has room. The window (MQTT v5
        Receive Maximum) should keep the broker from sending more than that unacknowledged, but Mosquitto
        2.0 was seen sending a whole backlog (86,500 messages) to a shared subscriber at once; reading
        all of it took the interpreter from the processing thread for seconds, so the worker stored
        1,500 messages a second instead of 4,500. While the inbox holds a window's worth the worker reads
        nothing: the rest waits in the socket and at the broker (TCP pushes back), and this waits until
        the processing thread takes a batch, or READ_PAUSE_S."""
        with self._cond:
            if len(self._inbox) >= self.window and not self.stopping:
                self._cond.wait(READ_PAUSE_S)
            return len(self._inbox) < self.window or self.stopping

    def _on_dropped(self, payload: bytes | bytearray) -> None:
        try:
            dropped = int(payload)
        except ValueError:
            return
        if self._dropped_seen is not None and dropped > self._dropped_seen:
            self.stats.broker_dropped += dropped - self._dropped_seen
            log.error(
                "the broker dropped %d message(s) since the last count (%s = %d): a client's queue hit "
                "the broker's limits; check the broker's log and config/mosquitto/yanglao.conf",
                dropped - self._dropped_seen,
                DROPPED_TOPIC,
                dropped,
            )
        self._dropped_seen = dropped

    def _on_uptime(self, payload: bytes | bytearray) -> None:
        if not self._check_uptime:
            return
        self._check_uptime = False
        try:
            uptime = int(payload.split()[0])
        except (ValueError, IndexError):
            return
        if uptime < 120:
            log.warning(
                "%s: the broker restarted %d s ago. Mosquitto 2.0 does not keep shared subscriptions over a "
                "restart: a message published after its start and before this worker subscribed again "
                "reached no worker (an MQTT v5 publisher was told so: reason code 16, no matching "
                "subscribers, and should publish it again)",
                self.client_id,
                uptime,
            )

    # --- batches --------------------------------------------------------------------------------------
    def _take(self, inbox: deque[Delivery], cond: threading.Condition, wait: float) -> list[Delivery] | None:
        """Up to `batch` deliveries of an inbox: as many as arrive within `wait` of the first (none for
        the urgent lane); None when stopping with none left."""
        with cond:
            while not inbox:
                if self._closing or self._dead:
                    return None
                cond.wait(0.5)
                if inbox is self._inbox:
                    self._maybe_log()
            if self._dead:
                return None
            deadline = time.monotonic() + wait
            while len(inbox) < self.batch and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                cond.wait(remaining)
            count = min(len(inbox), self.batch)
            taken = [inbox.popleft() for _ in range(count)]
            cond.notify_all()  # paho's network thread may be waiting for room (_room_to_read)
        self._last_delivery = time.monotonic()
        return taken

    def _messages_of(self, batch: list[Delivery]) -> list[Any]:
        """The native messages of a batch of deliveries; a delivery that is unreadable is counted and
        logged here (it is acknowledged with its batch: delivering it again would not help)."""
        messages: list[Any] = []
        for delivery in batch:
            levels = delivery.topic.split("/")
            try:
                if len(levels) == 5 and levels[2] == "devices" and levels[4] in ("events", "alarms"):
                    messages.extend(_native(delivery.payload, levels[3]))
                elif len(levels) >= 5 and levels[2] in ("vendors", "alarms"):
                    translation = adapters.translate_all(levels[3], delivery.payload)
                    messages.extend(translation.messages)
                    for problem in translation.problems:
                        self._refused(delivery, problem["field"], problem["problem"])
                else:
                    self._refused(delivery, "topic", "not an ingest topic")
            except adapters.AdapterError as error:
                self._refused(delivery, error.field, error.problem)
        return messages

    def _refused(self, delivery: Delivery, field_name: str, problem: str) -> None:
        key = f"{field_name}: {problem}"[:120]
        with self._stats_lock:
            self.stats.rejected += 1
            count = self.stats.problems.get(key, 0)
            if len(self.stats.problems) < 200 or count:
                self.stats.problems[key] = count + 1
        if count < 3:  # the first few of each kind in full, then only counted
            log.warning("refused a message on %s: %s (%r)", delivery.topic, key, delivery.payload[:200])

    def _store(self, messages: list[Any]) -> ingest.Result | None:
        """ingest.process, retried while the database is unavailable; None when stopped meanwhile."""
        urgent = getattr(self._local, "urgent", False)
        while True:
            try:
                if urgent and connection.vendor == "sqlite":
                    return _process_at_first_chance(messages)
                self._local.database_process = _database_priority(
                    getattr(self._local, "database_process", None), URGENT_NICE if urgent else self.nice
                )
                return ingest.process(messages)
            except TRANSIENT_DB_ERRORS as error:
                if not self._database_pause(error, len(messages)):
                    return None
            except Exception:
                log.exception("a batch of %d message(s) failed; storing them one at a time", len(messages))
                return self._store_one_by_one(messages)

    def _store_one_by_one(self, messages: list[Any]) -> ingest.Result | None:
        total = ingest.Result(received=len(messages))
        for message in messages:
            while True:
                try:
                    result = ingest.process([message])
                    break
                except TRANSIENT_DB_ERRORS as error:
                    if not self._database_pause(error, 1):
                        return None
                except Exception:
                    self.stats.poison += 1
                    log.exception("could not store this message; it is acknowledged and skipped: %r", message)
                    result = ingest.Result(received=1, rejected=1)
                    break
            total.stored += result.stored
            total.duplicates += result.duplicates
            total.rejected += result.rejected
            total.raised += result.raised
            total.folded += result.folded
            total.problems += result.problems
        return total

    def _database_pause(self, error: Exception, count: int) -> bool:
        """Log, drop the broken connection, wait; False when the worker is stopping (the batch is left
        unacknowledged for the broker to deliver again)."""
        self.stats.db_errors += 1
        log.warning(
            "database error, %d message(s) kept unacknowledged and retried in %.0f s: %s",
            count,
            self.retry_seconds,
            error,
        )
        with contextlib.suppress(DatabaseError):
            connections.close_all()
        deadline = time.monotonic() + self.retry_seconds
        while time.monotonic() < deadline:
            if self._dead or self._closing:
                return False
            time.sleep(0.1)
        return not (self._dead or self._closing)

    def _ack(self, batch: list[Delivery]) -> None:
        if self._dead:
            return
        with self._cond:
            current = self._connection
        if not self._connected.is_set():
            return  # the broker delivers the batch again on the next connection; a no-op then
        ours = [d for d in batch if d.connection == current]
        self._client.ack_all([d.mid for d in ours if d.qos == 1])
        for delivery in ours:
            if delivery.qos != 1:
                self._client.ack(delivery.mid, delivery.qos)
        with self._stats_lock:
            self.stats.acked += len(ours)

    def _handle(self, batch: list[Delivery]) -> None:
        with self._stats_lock:
            self.stats.received += len(batch)
        messages = self._messages_of(batch)
        if messages:
            result = self._store(messages)
            if result is None:
                return  # stopping during a database outage: not acknowledged, delivered again later
            self._count(result)
        self._ack(batch)

    def _count(self, result: ingest.Result) -> None:
        with self._stats_lock:
            self.stats.batches += 1
            self.stats.stored += result.stored
            self.stats.duplicates += result.duplicates
            self.stats.rejected += result.rejected
            self.stats.alarms_raised += len(result.raised)
            counts = []
            for problem in result.problems:
                key = f"{problem.get('field')}: {problem.get('problem')}"[:120]
                count = self.stats.problems.get(key, 0)
                if len(self.stats.problems) < 200 or count:
                    self.stats.problems[key] = count + 1
                counts.append((key, count, problem))
        for key, count, problem in counts:
            if count < 3:
                log.warning("refused a message: %s (%s)", key, problem.get("id", problem.get("index")))

    def _process_loop(self, urgent: bool = False) -> None:
        """The processing thread of one lane: the batches (wait, then store) or the urgent deliveries."""
        inbox, cond, wait = (
            (self._urgent, self._urgent_cond, 0.0) if urgent else (self._inbox, self._cond, self.wait)
        )
        self._local.urgent = urgent
        _change_priority(URGENT_NICE if urgent else self.nice)
        try:
            while (batch := self._take(inbox, cond, wait)) is not None:
                self._handle(batch)
                if not urgent:
                    self._maybe_log()
        except Exception:
            log.exception("the ingest worker's %s processing thread failed", "urgent" if urgent else "batch")
            self._closing = True
        finally:
            connections.close_all()
            if not urgent:
                self._finished.set()

    def _wake_all(self) -> None:
        for cond in (self._cond, self._urgent_cond):
            with cond:
                cond.notify_all()

    def _join_processors(self, timeout: float) -> None:
        for thread in (self._processor, self._urgent_processor):
            if thread is not None:
                thread.join(timeout)

    # --- the periodic log line ---------------------------------------------------------------------------
    _last_log: float = 0.0
    _last_counts: tuple[int, int] = (0, 0)

    def _maybe_log(self) -> None:
        now = time.monotonic()
        if not self._last_log:
            self._last_log = now
            return
        elapsed = now - self._last_log
        if elapsed < self.log_every:
            return
        received, stored = self.stats.received, self.stats.stored
        rate_in = (received - self._last_counts[0]) / elapsed
        rate_stored = (stored - self._last_counts[1]) / elapsed
        log.info(
            "%s: %.0f msg/s received, %.0f msg/s stored; totals received %d, stored %d, duplicates %d, "
            "refused %d, alarms %d, database errors %d; waiting %d; %s",
            self.client_id,
            rate_in,
            rate_stored,
            received,
            stored,
            self.stats.duplicates,
            self.stats.rejected,
            self.stats.alarms_raised,
            self.stats.db_errors,
            len(self._inbox),
            "connected" if self._connected.is_set() else "NOT CONNECTED",
        )
        self._last_log = now
        self._last_counts = (received, stored)

    # --- running ---------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (retrying until the broker answers) and start processing in the background."""
        self._client.connect_async(
            self.broker.host,
            self.broker.port,
            keepalive=self.keepalive,
            clean_start=False,
            properties=self._connect_properties(),
        )
        self._client.loop_start()
        self._processor = threading.Thread(
            target=self._process_loop, name=f"{self.client_id}-store", daemon=True
        )
        self._processor.start()
        self._urgent_processor = threading.Thread(
            target=self._process_loop, args=(True,), name=f"{self.client_id}-urgent", daemon=True
        )
        self._urgent_processor.start()

    @property
    def stopping(self) -> bool:
        return self._closing or self._dead

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_subscribed(self, timeout: float) -> bool:
        return self._subscribed.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking deliveries, store and acknowledge what was taken, disconnect (the session stays)."""
        self._closing = True
        self._wake_all()
        self._join_processors(timeout)
        self._disconnect()

    def _disconnect(self, properties: Properties | None = None) -> None:
        if self._connected.is_set():
            self._client.disconnect(properties=properties)
        self._client.loop_stop()

    def kill(self) -> None:
        """Die as a killed process would (tests): drop the connection without DISCONNECT, store and
        acknowledge nothing more. The broker keeps the session and delivers the unacknowledged again."""
        self._dead = True
        self._wake_all()
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._client.loop_stop()
        self._join_processors(30)

    def run(self, *, handle_signals: bool = True) -> None:
        """Run until SIGTERM/SIGINT (or stop() from another thread)."""
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
        log.info(
            "%s: consuming %s from %s:%s (batch %d, wait %d ms, window %d)",
            self.client_id,
            ", ".join(self.topics),
            self.broker.host,
            self.broker.port,
            self.batch,
            int(self.wait * 1000),
            self.window,
        )
        self.start()
        while not self._finished.wait(0.5):
            pass
        self.stop()
        log.info("%s stopped: %s", self.client_id, json.dumps(self.stats.as_dict(), ensure_ascii=False))

    def _on_signal(self, signum: int, frame: Any) -> None:
        log.info("%s: signal %d, finishing the current batch", self.client_id, signum)
        self.request_stop()

    def request_stop(self) -> None:
        """Make run() finish the current batch and return (as SIGTERM does)."""
        self._closing = True
        self._wake_all()

    def retire(self, *, idle_seconds: float = 3.0, timeout: float = 600.0) -> None:
        """Leave the group for good: unsubscribe (so no new messages are assigned to this worker), store
        and acknowledge what the broker still holds for it, then end its session."""
        self._retiring = True
        self.start()
        if not self.wait_connected(30):
            raise ConnectionError(f"the broker at {self.broker.host}:{self.broker.port} does not answer")
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            time.sleep(0.2)
            with self._cond:
                idle = not self._inbox and time.monotonic() - self._last_delivery > idle_seconds
            if idle and not self._urgent:
                break
        self._closing = True
        self._wake_all()
        self._join_processors(60)
        ending = Properties(PacketTypes.DISCONNECT)
        ending.SessionExpiryInterval = 0
        self._disconnect(ending)
        log.info("%s retired: %s", self.client_id, json.dumps(self.stats.as_dict(), ensure_ascii=False))


def freeze_loaded_objects() -> None:
    """Django and the modules loaded so far live as long as the worker: the garbage collector's full passes
    need not scan them again each time (a pause in the alarm lane is a late SOS)."""
    gc.collect()
    gc.freeze()


_refused_priority = False


def _change_priority(nice: int) -> None:
    """Add `nice` to the calling thread's nice value (Linux: each thread has its own; threads it starts
    inherit it): positive steps back, negative steps forward. Elsewhere nothing changes; when stepping
    forward is not permitted, the first refusal is logged."""
    global _refused_priority
    if not nice or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + nice)
    except OSError as error:
        if not _refused_priority:
            _refused_priority = True
            log.warning(
                "could not raise the CPU priority of the threads that carry SOS messages (%s): without "
                "CAP_SYS_NICE an SOS waits for its share of busy cores (docs/deployment.md)",
                error,
            )


AUTOGROUP_SETTING = Path("/proc/sys/kernel/sched_autogroup_enabled")


def priorities_grouped_away() -> bool:
    """Whether the kernel groups processes by session before it looks at their priority (autogroup, on by
    default in Debian's and Ubuntu's kernels). Then the cores are shared out between sessions first, and
    every systemd service, and every PostgreSQL server process (each begins a session of its own), is a
    session: the nice values above order only this worker's own threads, and an SOS waits for its share
    behind the broker's and the database's bulk work. docs/deployment.md turns it off."""
    try:
        return AUTOGROUP_SETTING.read_text().strip() == "1"
    except OSError:
        return False  # no such setting (a kernel without autogroup, or not Linux)


def warn_if_priorities_are_grouped_away() -> bool:
    """Log a WARNING when priorities_grouped_away(); returns whether it warned."""
    grouped = priorities_grouped_away()
    if grouped:
        log.warning(
            "kernel.sched_autogroup_enabled is 1: the kernel shares the cores between sessions before it "
            "looks at priorities, so the SOS threads step ahead of this worker's bulk threads only, not of "
            "the database's or the broker's; set it to 0 (docs/deployment.md, 'CPU priority')"
        )
    return grouped


LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


def _database_priority(done_for: Any, nice: int) -> Any:
    """On PostgreSQL on this machine, change the priority of the server process behind this thread's
    connection as the thread's own (`nice`): an SOS's statements step forward with it, and the bulk
    batches' statements step back, or the SOS would wait for the cores behind them (the same
    CAP_SYS_NICE). Done once per connection: returns the connection it was done for."""
    connection.ensure_connection()
    raw = connection.connection
    if raw is done_for or connection.vendor != "postgresql" or not nice:
        return raw
    host = str(connection.settings_dict.get("HOST") or "")
    if host not in LOCAL_HOSTS and not host.startswith("/"):  # a path: a Unix socket, this machine
        return raw  # another machine's process ids mean nothing here
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return raw  # not visible from here (another container): leave it
    if name.startswith("postgres"):
        with contextlib.suppress(OSError):  # refused: the worker has said so for its own threads
            os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, pid) + nice)
    return raw


def _process_at_first_chance(messages: list[Any]) -> ingest.Result:
    """ingest.process in a transaction begun (BEGIN IMMEDIATE: SQLite's write lock) as soon as the lock is
    free: this connection does not wait inside SQLite but asks again every URGENT_LOCK_POLL_S."""
    connection.ensure_connection()
    connection.connection.execute("PRAGMA busy_timeout = 0")  # cheap; the connection may be new
    deadline = time.monotonic() + URGENT_LOCK_PATIENCE_S
    while True:
        try:
            with transaction.atomic():
                return ingest.process(messages)
        except OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(URGENT_LOCK_POLL_S)


def _looks_urgent(topic: str, payload: bytes | bytearray) -> bool:
    """Whether a delivery may carry an SOS, a fall, smoke or gas (see the module's docstring)."""
    if topic.endswith("/events") and topic.startswith("yanglao/v1/devices/"):
        return URGENT_NATIVE.search(payload) is not None
    levels = topic.split("/", 4)
    return len(levels) >= 5 and levels[2] == "vendors" and adapters.looks_urgent(levels[3], payload)


def _native(payload: bytes | bytearray, serial: str) -> list[Any]:
    """The native messages of a device-topic payload: one object or an array; `serial` from the topic."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise adapters.AdapterError("message", "not JSON") from None
    items = body if isinstance(body, list) else [body]
    for item in items:
        if not isinstance(item, dict):
            raise adapters.AdapterError("message", "not a JSON object")
        theirs = item.setdefault("serial", serial)
        if theirs != serial:
            raise adapters.AdapterError(
                "serial", f"{str(theirs)[:64]!r} is not the topic's device {serial!r}"
            )
    return items
