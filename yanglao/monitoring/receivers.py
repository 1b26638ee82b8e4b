"""Pushes to the operators' consoles on the app's own signals (events.py, sent after commit).

The push is direct: the alarms are read in one query, rendered once (consumers.alarm_payloads) and sent
as one group message per affected group, `alarms.<code>` for the community and each of its ancestors, so
every console in those regions receives each alarm once with nothing left to look up.

With the in-memory channel layer (no REDIS_URL) only alarms raised in the web server's own process reach
its consoles; the MQTT ingest worker and the rules timer are other processes, so a deployment that runs
them needs REDIS_URL (DESIGN.md: channels-redis in production).

With a cross-process layer (channels-redis) the sending is done by one background thread per process with
its own event loop (BackgroundSender): the caller, typically an ingest batch that has just committed,
goes on at once instead of waiting for Redis, and the layer's connections are kept from one push to the
next (async_to_sync from a plain thread runs each call in a new event loop, for which channels-redis
opens new connections: about 10 ms a push). Folds (an open alarm's growing count) are gathered for
FOLD_DELAY seconds and sent together, the newest state of each alarm once. The in-memory layer belongs to
the server's own event loop and is sent to inline, as before."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
from collections import defaultdict
from concurrent.futures import Future
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

from yanglao.monitoring import events
from yanglao.monitoring.consumers import alarm_payloads, groups_of_region

log = logging.getLogger("yanglao.monitoring.console")

FOLD_DELAY = 1.0  # seconds a fold waits for others before it is pushed (cross-process layers)
SEND_CONCURRENCY = 16


def messages_by_group(payloads: list[dict[str, Any]], *, event: str, action: str) -> dict[str, dict]:
    """One group message per group that any of these alarms concerns, carrying the alarms it concerns."""
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alarm in payloads:
        for group in groups_of_region(alarm["region"]):
            by_group[group].append(alarm)
    return {
        group: {"type": "alarm", "event": event, "action": action, "alarms": alarms}
        for group, alarms in by_group.items()
    }


def push(alarm_ids: list[int], *, event: str, action: str = "") -> int:
    """Send these alarms to the consoles of their regions; returns the number of group messages sent.
    A failure is logged, not raised: the alarm is committed and the consoles refresh on their own, so the
    caller (the ingest, an operator's action) must not fail because a console could not be told."""
    if not alarm_ids:
        return 0
    layer = get_channel_layer()
    if layer is None:
        return 0
    try:
        outgoing = messages_by_group(alarm_payloads(alarm_ids), event=event, action=action)
        if outgoing and isinstance(layer, InMemoryChannelLayer):
            async_to_sync(_send_all)(layer, outgoing)
        elif outgoing:
            sender.send(layer, outgoing, gather=action == "fold")
    except Exception:
        log.exception("could not push alarms %s (%s) to the consoles", alarm_ids, event)
        return 0
    return len(outgoing)


async def _send_all(layer: Any, outgoing: dict[str, dict]) -> None:
    # At most SEND_CONCURRENCY at once: a second's gathered folds may concern hundreds of groups, and
    # channels-redis's connection pool (100) refuses more connections than it has.
    limit = asyncio.Semaphore(SEND_CONCURRENCY)

    async def send(group: str, message: dict) -> None:
        async with limit:
            await layer.group_send(group, message)

    await asyncio.gather(*(send(group, message) for group, message in outgoing.items()))


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("could not push alarms to the consoles", exc_info=task.exception())


class BackgroundSender:
    """Sends group messages from a thread of its own (see the module's docstring). Everything but
    send() and drain() runs on that thread's event loop, so its state needs no lock."""

    def __init__(self, fold_delay: float = FOLD_DELAY) -> None:
        self.fold_delay = fold_delay
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start_lock = threading.Lock()
        self._gathered: dict[str, dict[int, dict[str, Any]]] = {}  # group → alarm id → newest payload
        self._flush_at: asyncio.TimerHandle | None = None
        self._layer: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="console-push", daemon=True).start()
                self._loop = loop
                # The last gathered folds of a process that ends (a worker stopped) still go out.
                atexit.register(self._drain_quietly)
            return self._loop

    def send(self, layer: Any, outgoing: dict[str, dict], *, gather: bool = False) -> None:
        """Hand these group messages over and return at once; gather: a fold, sent within fold_delay."""
        self._running_loop().call_soon_threadsafe(self._take, layer, outgoing, gather)

    def drain(self, timeout: float = 10.0) -> None:
        """Send what is gathered now and wait until every push handed over so far has been sent (a
        worker that stops, tests)."""
        if self._loop is None:
            return
        future: Future[None] = asyncio.run_coroutine_threadsafe(self._drain(), self._loop)
        future.result(timeout)

    def _drain_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.drain(timeout=2.0)

    async def _drain(self) -> None:
        self._flush()
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _take(self, layer: Any, outgoing: dict[str, dict], gather: bool) -> None:
        self._layer = layer
        if gather:
            for group, message in outgoing.items():
                gathered = self._gathered.setdefault(group, {})
                for alarm in message["alarms"]:
                    gathered[alarm["id"]] = alarm
            if self._flush_at is None:
                self._flush_at = asyncio.get_running_loop().call_later(self.fold_delay, self._flush)
            return
        # This push carries a newer state of its alarms than any fold gathered for them.
        pushed = {alarm["id"] for message in outgoing.values() for alarm in message["alarms"]}
        for gathered in self._gathered.values():
            for alarm_id in pushed & gathered.keys():
                del gathered[alarm_id]
        self._start(layer, outgoing)

    def _flush(self) -> None:
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        gathered, self._gathered = self._gathered, {}
        outgoing = {
            group: {"type": "alarm", "event": "changed", "action": "fold", "alarms": list(alarms.values())}
            for group, alarms in gathered.items()
            if alarms
        }
        if outgoing:
            self._start(self._layer, outgoing)

    def _start(self, layer: Any, outgoing: dict[str, dict]) -> None:
        task = asyncio.get_running_loop().create_task(_send_all(layer, outgoing))
        self._tasks.add(task)  # a reference until done: the loop keeps only a weak one
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)


sender = BackgroundSender()


def on_alarms_raised(sender: Any, alarm_ids: list[int] | None = None, **kwargs: Any) -> None:
    push(list(alarm_ids or []), event="raised", action="raise")


def on_alarm_changed(
    sender: Any,
    alarm_id: int | None = None,
    action: str = "",
    alarm_ids: list[int] | None = None,
    **kwargs: Any,
) -> None:
    # One push for a whole ingest batch's folds (alarm_ids): a push per alarm cost ~10 ms each.
    ids = list(alarm_ids or []) + ([alarm_id] if alarm_id is not None else [])
    if ids:
        push(ids, event="changed", action=action)


def connect() -> None:
    events.alarms_raised.connect(on_alarms_raised, dispatch_uid="monitoring.console.raised")
    events.alarm_changed.connect(on_alarm_changed, dispatch_uid="monitoring.console.changed")
