"""`yanglao ingest_mqtt` runs both lanes: the events lane in its own process and the alarm lane in a child
process. The child is started again when it ends on its own, ends with its parent even when the parent is
killed (it must never hold the alarm session alone), and stops with it on SIGTERM. Against a real Mosquitto
(skipped loudly without one); nothing is stored, so the database is a file of the test's own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from yanglao.core.testing import require_service
from yanglao.monitoring.management.commands import ingest_mqtt
from yanglao.monitoring.mqtt import AUTOGROUP_SETTING
from yanglao.monitoring.tests.test_mqtt_reliability import end_session, wait_for

pytestmark = pytest.mark.services
URL = "mqtt://127.0.0.1:1883"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; it only waits for its parent to collect it


def children(pid: int) -> list[int]:
    """Living children of a process: Linux lists them per thread that started them."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return [child for child in found if alive(child)]


class Command:
    """`ingest_mqtt --lane both` in a process of its own, its log lines collected."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            "YANGLAO_ENV": "test",
            "PYTHONUNBUFFERED": "1",
        }
        command = [sys.executable, "manage.py", "ingest_mqtt", "--url", URL, "--name", name]
        command += ["--group", f"yanglao-test-{name}", "--log-every", "5"]
        self.lines: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603 (our own command)
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def log(self) -> str:
        return "".join(self.lines[-40:])

    def child(self) -> int:
        found = children(self.process.pid)
        assert len(found) == 1, f"expected one alarm-lane child, found {found}:\n{self.log()}"
        return found[0]

    def kill_all(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def command(tmp_path):
    require_service("Mosquitto (MQTT)", URL)
    name = f"c{uuid.uuid4().hex[:8]}"
    made = Command(name, tmp_path)
    yield made
    made.kill_all()
    for client_id in (f"yanglao-ingest-{name}", f"yanglao-ingest-alarms-{name}"):
        end_session(client_id)


def test_both_lanes_start_and_the_alarm_lane_is_started_again_when_it_ends(command):
    wait_for(lambda: command.count(" subscribed to ") >= 2, 30, "both lanes to subscribe", command.log)
    assert command.count("$share/yanglao-test-") >= 2
    assert command.count("/yanglao/v1/devices/+/alarms") >= 1
    # This machine's scheduler setting, said once for both lanes when it defeats their priorities.
    grouped = AUTOGROUP_SETTING.exists() and AUTOGROUP_SETTING.read_text().strip() == "1"
    assert command.count("kernel.sched_autogroup_enabled is 1") == int(grouped)
    first = command.child()
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: command.count("the alarm lane ended") == 1, 10, "the parent to notice", command.log)
    wait_for(
        lambda: command.count(" subscribed to ") >= 3, 30, "the alarm lane to subscribe again", command.log
    )
    second = command.child()
    assert second != first

    command.process.send_signal(signal.SIGTERM)  # both lanes finish and disconnect
    assert command.process.wait(30) == 0
    wait_for(lambda: not alive(second), 10, "the alarm lane to stop with its parent", command.log)
    assert command.count("the alarm lane ended") == 1  # stopping is not mistaken for a crash


def test_the_alarm_lane_ends_when_its_parent_is_killed(command):
    wait_for(lambda: command.count(" subscribed to ") >= 2, 30, "both lanes to subscribe", command.log)
    child = command.child()
    command.process.kill()  # the parent only, SIGKILL: nothing of it runs any more
    command.process.wait(10)
    wait_for(lambda: not alive(child), 15, "the orphaned alarm lane to stop", command.log)
    assert command.count("the events lane's process ended; stopping") == 1


def test_the_child_is_the_same_command_with_the_alarm_lane():
    arguments = ingest_mqtt.Command._child_arguments(
        "mqtt://h:1883",
        {"name": "2", "group": "g", "batch": 500, "wait_ms": 20, "window": None, "log_every": 60.0},
    )
    child = ingest_mqtt.AlarmLaneChild(arguments, wanted=lambda: True)
    assert child.command[3:] == [
        "ingest_mqtt",
        *["--url", "mqtt://h:1883", "--name", "2", "--group", "g", "--batch", "500", "--wait-ms", "20"],
        *["--log-every", "60.0", "--lane", "alarms", "--with-parent"],
    ]
