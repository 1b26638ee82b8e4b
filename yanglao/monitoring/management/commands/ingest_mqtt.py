"""yanglao ingest_mqtt: consume device telemetry from the MQTT broker into the database (monitoring/mqtt.py).

    yanglao ingest_mqtt [--url mqtt://127.0.0.1:1883] [--name 1] [--group yanglao-ingest]
                        [--lane both|events|alarms] [--batch 250] [--wait-ms 50] [--window 2000]
                        [--log-every 60] [--retire]

Run one per core or machine, each with its own --name (its client id and persistent session); workers of
the same --group share the load. The broker should run config/mosquitto/yanglao.conf.

--lane both (the default) runs the events lane in this process and the alarm lane in a child process
(`--lane alarms`, the same options), which it starts again if it ends and stops with this one. A process
manager that runs the lanes as services of their own uses --lane events and --lane alarms."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import threading
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from yanglao.monitoring.mqtt import (
    DEFAULT_BATCH,
    DEFAULT_GROUP,
    DEFAULT_URL,
    LANE_TOPICS,
    IngestWorker,
    freeze_loaded_objects,
    warn_if_priorities_are_grouped_away,
)

log = logging.getLogger("yanglao.monitoring.mqtt")
CHILD_RESTART_S = 1.0


class AlarmLaneChild:
    """The alarm lane as a child process, kept running while the events lane runs here."""

    def __init__(self, arguments: list[str], wanted: Callable[[], bool]) -> None:
        self.wanted = wanted  # False once this process is stopping: a child that ended then stays ended
        self.command = [
            *[sys.executable, "-m", "yanglao.cli", "ingest_mqtt", *arguments],
            *["--lane", "alarms", "--with-parent"],
        ]
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="alarm-lane-watcher", daemon=True)

    def start(self) -> None:
        self.process = self._spawn()
        self.watcher.start()

    def _spawn(self) -> subprocess.Popen:
        # The child reads its stdin until it ends, which is when this process ends, however it ends
        # (even killed): the alarm lane never outlives the events lane to hold its session alone.
        return subprocess.Popen(self.command, stdin=subprocess.PIPE)  # noqa: S603 (our interpreter, modules)

    def _watch(self) -> None:
        while not self.stopping.wait(0.5):
            assert self.process is not None
            code = self.process.poll()
            if code is None or not self.wanted():
                continue
            log.error("the alarm lane ended (exit code %s); starting it again", code)
            if self.stopping.wait(CHILD_RESTART_S):
                return
            self.process = self._spawn()

    def stop(self, timeout: float = 60.0) -> None:
        self.stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()  # it stores and acknowledges what it holds, then disconnects
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Command(BaseCommand):
    help = "接收设备 MQTT 消息并入库 (consume telemetry from MQTT: QoS 1, persistent session, shared subscription)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default=None,
            help=f"broker URL, mqtt://[user:password@]host[:port] or mqtts://… (default: MQTT_URL, else {DEFAULT_URL})",
        )
        parser.add_argument(
            "--name",
            default="1",
            help="this worker's name, stable across restarts: client id yanglao-ingest-<name> (default 1)",
        )
        parser.add_argument(
            "--group", default=DEFAULT_GROUP, help=f"shared-subscription group (default {DEFAULT_GROUP})"
        )
        parser.add_argument(
            "--lane",
            choices=["both", *LANE_TOPICS],
            default="both",
            help="events: telemetry; alarms: instant alarms on their own topics; both (default): events "
            "here and alarms in a child process",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=DEFAULT_BATCH,
            help=f"messages stored per transaction (default {DEFAULT_BATCH})",
        )
        parser.add_argument(
            "--wait-ms", type=int, default=50, help="longest wait for a batch to fill, in ms (default 50)"
        )
        parser.add_argument(
            "--window",
            type=int,
            default=None,
            help="unacknowledged messages the broker may send (MQTT v5 Receive Maximum; default 8 × batch)",
        )
        parser.add_argument("--log-every", type=float, default=60.0, help="seconds between rate log lines")
        parser.add_argument("--with-parent", action="store_true", help=argparse.SUPPRESS)
        parser.add_argument(
            "--retire",
            action="store_true",
            help="leave the group for good: store what the broker holds for this worker, end its session",
        )

    def handle(self, *args, **options):
        url = options["url"] or settings.MQTT_URL or DEFAULT_URL
        lanes = list(LANE_TOPICS) if options["lane"] == "both" else [options["lane"]]
        try:
            workers = [
                IngestWorker(
                    url=url,
                    lane=lane,
                    name=options["name"],
                    group=options["group"],
                    batch=options["batch"],
                    wait_ms=options["wait_ms"],
                    window=options["window"],
                    log_every=options["log_every"],
                )
                for lane in lanes
            ]
        except ValueError as error:
            raise CommandError(str(error)) from None
        if options["retire"]:
            for worker in workers:  # one after the other: each drains what the broker holds for it
                try:
                    worker.retire()
                except ConnectionError as error:
                    raise CommandError(str(error)) from None
                self.stdout.write(
                    f"{worker.client_id} retired: {worker.stats.stored} message(s) stored on the way out"
                )
            return
        freeze_loaded_objects()
        if not options["with_parent"]:  # the parent has said it for both lanes
            warn_if_priorities_are_grouped_away()
        if len(workers) == 1:
            if options["with_parent"]:
                threading.Thread(target=self._stop_with_parent, args=(workers[0],), daemon=True).start()
            workers[0].run()
            return
        # The alarm lane's worker above is built only to check the options before the child starts.
        events = workers[0]
        child = AlarmLaneChild(self._child_arguments(url, options), wanted=lambda: not events.stopping)
        child.start()
        try:
            events.run()
        finally:
            child.stop()

    @staticmethod
    def _stop_with_parent(worker: IngestWorker) -> None:
        """The alarm lane as a child (AlarmLaneChild): stop when the parent's end of stdin closes."""
        sys.stdin.buffer.read()
        log.info("%s: the events lane's process ended; stopping", worker.client_id)
        worker.request_stop()

    @staticmethod
    def _child_arguments(url: str, options: dict) -> list[str]:
        arguments = ["--url", url, "--name", options["name"], "--group", options["group"]]
        arguments += ["--batch", str(options["batch"]), "--wait-ms", str(options["wait_ms"])]
        if options["window"]:
            arguments += ["--window", str(options["window"])]
        return [*arguments, "--log-every", str(options["log_every"])]
