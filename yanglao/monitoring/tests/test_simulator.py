"""The simulator: `prepare` registers simulated devices for existing elders (those living alone first) and
reuses them on the next run; `publish` sends valid native-format messages at the asked rate over MQTT at
QoS 1, every one acknowledged and received, with unique ids and the SOS asked for."""

import json
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, require_service
from yanglao.monitoring import messages, simulator
from yanglao.monitoring.models import Device

BROKER = "mqtt://127.0.0.1:1883"


@pytest.fixture
def homes(make_elder):
    """Five elders: two living alone, three with family."""
    made = [make_elder(HOME_COMMUNITY, name=name, living_arrangement="alone") for name in ("王一", "李二")]
    made += [
        make_elder(HOME_COMMUNITY, name=name, living_arrangement="with_family")
        for name in ("张三", "赵四", "钱五")
    ]
    return made


def test_prepare_registers_devices_for_elders_living_alone_first(homes):
    made = simulator.prepare(2, seed=3)
    alone = {e.pk for e in homes[:2]}
    assert {d.elder_id for d in made} == alone
    for elder_id in alone:
        kinds = {d.kind for d in made if d.elder_id == elder_id}
        assert {"sos_button", "motion_sensor", "water_meter", "electricity_meter"} <= kinds
        assert kinds == set(simulator.kinds_for(elder_id))
    rows = Device.objects.filter(serial__in=[d.serial for d in made])
    assert rows.count() == len(made) and all(r.simulated and r.region_id == HOME_COMMUNITY for r in rows)
    assert all(d.serial == f"SIM-{d.elder_id}-{d.kind}" for d in made)
    assert AuditLog.objects.get(action="device.simulate").changes["after"]["registered"] == len(made)


def test_prepare_again_reuses_the_devices_and_skips_a_retired_one(homes):
    first = simulator.prepare(3, seed=1)
    Device.objects.filter(serial=first[0].serial).update(status="removed")
    again = simulator.prepare(3, seed=99)  # another seed: the simulated homes are still chosen first
    assert {d.serial for d in again} == {d.serial for d in first} - {first[0].serial}
    assert Device.objects.count() == len(first)
    assert AuditLog.objects.filter(action="device.simulate").count() == 1


def test_prepare_without_elders_says_so(db):
    with pytest.raises(ValueError, match="no active elders"):
        simulator.prepare(5)
    with pytest.raises(CommandError, match="no active elders"):
        call_command("simulate_devices", households=5, rate=10, duration=1)


class Subscriber:
    """A plain MQTT subscriber that keeps what arrives on the device topics (events and alarms), and on
    which of the two each message came."""

    def __init__(self) -> None:
        import paho.mqtt.client as mqtt

        self.received: list[dict] = []
        self.topic_of: dict[str, str] = {}
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sim-{time.time_ns()}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("yanglao/v1/devices/+/+", qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = self._keep

    def _keep(self, client, userdata, message) -> None:
        body = json.loads(message.payload)
        self.topic_of[body["id"]] = message.topic.rsplit("/", 1)[1]
        self.received.append(body)

    def __enter__(self):
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert self.ready.wait(5), "the test subscriber did not subscribe"
        return self

    def __exit__(self, *exc):
        self.client.disconnect()
        self.client.loop_stop()


def test_publish_sends_valid_messages_at_the_rate_all_acknowledged_and_received(homes):
    require_service("Mosquitto", BROKER)
    made = simulator.prepare(5, seed=2)
    with Subscriber() as subscriber:
        report = simulator.publish(made, rate=200, duration=1.6, sos_every=0.5, url=BROKER, seed=4)
        deadline = time.monotonic() + 5
        mine = []
        while time.monotonic() < deadline:
            mine = [m for m in subscriber.received if f"-{report['run_id']}-" in m["id"]]
            if len(mine) >= report["sent"]:
                break
            time.sleep(0.05)
    assert report["failed"] == 0 and report["acked"] == report["sent"] == len(mine)
    assert 260 <= report["sent"] <= 360 and 160 <= report["rate"] <= 230
    assert report["sos"] == 3 == sum(m["type"] == "sos" for m in mine)
    # Instant alarms on the alarms topic, the rest on the events topic, as the device contract asks.
    assert {(m["type"] == "sos", subscriber.topic_of[m["id"]]) for m in mine} == {
        (True, "alarms"),
        (False, "events"),
    }
    assert len({m["id"] for m in mine}) == len(mine)
    serials = {d.serial for d in made}
    for body in mine:
        parsed = messages.parse(body)
        assert parsed.serial in serials
    assert {"motion", "water", "electricity"} & {m["type"] for m in mine}


def test_publish_to_a_broker_that_does_not_answer_fails_clearly(homes):
    made = simulator.prepare(1, seed=2)
    with pytest.raises(simulator.SimulatorError, match="cannot connect"):
        simulator.publish(made, rate=10, duration=0.2, url="mqtt://127.0.0.1:1")
