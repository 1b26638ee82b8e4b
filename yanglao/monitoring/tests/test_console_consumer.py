"""The console's WebSocket: only people who handle alarms may connect; each listens to its own region,
and an alarm raised (after commit) reaches every console whose region holds it, exactly once, and no other.

asgiref's communicator is used directly: channels.testing imports daphne, which the platform does not
need (uvicorn serves it)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from config.asgi import application
from yanglao.accounts.roles import Role
from yanglao.core.testing import HOME_COMMUNITY, OTHER_DISTRICT, make_user, other_community
from yanglao.monitoring import events, ingest, receivers
from yanglao.monitoring.consumers import REFUSED, AlarmConsumer, groups_of_region
from yanglao.monitoring.models import Alarm, Device
from yanglao.monitoring.tests.conftest import message

PATH = "/ws/monitoring/alarms/"


class Socket:
    """A WebSocket client of an ASGI application (what channels.testing.WebsocketCommunicator does)."""

    def __init__(self, app, *, user=None, cookie: str | None = None) -> None:
        headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        scope = {
            "type": "websocket",
            "path": PATH,
            "raw_path": PATH.encode(),
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        if user is not None:
            scope["user"] = user
        self.communicator = ApplicationCommunicator(app, scope)

    async def connect(self):
        await self.communicator.send_input({"type": "websocket.connect"})
        answer = await self.communicator.receive_output(5)
        if answer["type"] == "websocket.close":
            return False, answer.get("code", 1000)
        assert answer["type"] == "websocket.accept"
        return True, await self.receive()

    async def receive(self, timeout: float = 5):
        answer = await self.communicator.receive_output(timeout)
        assert answer["type"] == "websocket.send", answer
        return json.loads(answer["text"])

    async def send(self, data) -> None:
        await self.communicator.send_input({"type": "websocket.receive", "text": json.dumps(data)})

    async def silent(self, timeout: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout)

    async def close(self) -> None:
        await self.communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.communicator.wait(2)


def signed_in(user) -> Socket:
    """Through the whole ASGI application: routing, origin check and the session cookie."""
    client = Client()
    client.force_login(user)
    return Socket(application, cookie=f"sessionid={client.cookies['sessionid'].value}")


def consumer(user) -> Socket:
    return Socket(AlarmConsumer.as_asgi(), user=user)


@pytest.fixture
def other_elder(make_elder, live_cast):
    """An elder in the other district with an SOS button."""
    elder = make_elder(other_community(), name="王桂兰")
    Device.objects.create(
        kind="sos_button", vendor="测试厂商", serial="SOS-9001", elder=elder, region_id=other_community()
    )
    return elder


def test_an_anonymous_visitor_is_refused(transactional_db):
    async def run():
        return await Socket(application).connect()

    assert async_to_sync(run)() == (False, REFUSED)


@pytest.mark.parametrize("role", ["district_staff", "care_worker", "provider_admin", "inspector", "elder"])
def test_a_role_without_alarms_handle_is_refused(live_cast, role):
    socket = signed_in(live_cast.users[role])
    assert async_to_sync(socket.connect)() == (False, REFUSED)


def test_an_operator_is_accepted_into_the_group_of_their_region_and_answers_pings(live_cast):
    socket = signed_in(live_cast.operator)

    async def run():
        accepted, hello = await socket.connect()
        await socket.send({"action": "ping", "t": 123})
        pong = await socket.receive()
        await socket.close()
        return accepted, hello, pong

    accepted, hello, pong = async_to_sync(run)()
    assert accepted and hello["event"] == "hello" and hello["groups"] == ["alarms.1201"]
    assert pong["event"] == "pong" and pong["echo"] == 123 and pong["t"] > 0


def test_a_community_worker_listens_to_their_community_and_a_superuser_to_the_top_region(live_cast):
    async def run(user):
        socket = consumer(user)
        accepted, hello = await socket.connect()
        await socket.close()
        return hello["groups"]

    assert async_to_sync(run)(live_cast.community_worker) == [f"alarms.{HOME_COMMUNITY}"]
    assert async_to_sync(run)(live_cast.superuser) == ["alarms.12"]


def test_an_alarm_reaches_the_consoles_of_its_region_once_and_no_other(live_cast, devices, other_elder):
    other_operator = make_user("op_hedong", Role.OPERATOR, OTHER_DISTRICT)

    async def run():
        city = consumer(live_cast.operator)
        community = consumer(live_cast.community_worker)
        elsewhere = consumer(other_operator)
        for socket in (city, community, elsewhere):
            assert (await socket.connect())[0]
        await sync_to_async(ingest.process)([message("SOS-0001", "sos")])
        pushed = await city.receive()
        at_home = await community.receive()
        city_quiet = await city.silent()
        quiet_elsewhere = await elsewhere.silent()
        # And the other way round: the other district's SOS reaches its operator and the city's.
        await sync_to_async(ingest.process)([message("SOS-9001", "sos")])
        there = await elsewhere.receive()
        city_there = await city.receive()
        community_quiet = await community.silent()
        for socket in (city, community, elsewhere):
            await socket.close()
        return pushed, at_home, city_quiet, quiet_elsewhere, there, city_there, community_quiet

    pushed, at_home, city_quiet, quiet_elsewhere, there, city_there, community_quiet = async_to_sync(run)()
    alarm = Alarm.objects.get(region_id=HOME_COMMUNITY)
    assert pushed == at_home
    assert pushed["event"] == "raised"
    sent = pushed["alarm"]
    assert sent["id"] == alarm.pk and sent["rule"] == "sos" and sent["rule_label"] == "一键呼叫"
    assert (sent["severity"], sent["severity_label"]) == ("critical", "紧急")
    assert (sent["status"], sent["status_label"]) == ("new", "待响应")
    assert sent["elder_name"] == "张建国" and sent["region"] == HOME_COMMUNITY
    assert sent["message_count"] == 1 and sent["url"] == f"/monitoring/alarms/{alarm.pk}/"
    assert sent["raised_at"].startswith(str(alarm.raised_at.astimezone().date()))
    assert city_quiet and quiet_elsewhere and community_quiet
    assert there["alarm"]["elder_name"] == "王桂兰" and city_there == there


def test_a_change_to_an_alarm_is_pushed_with_its_new_status(live_cast, devices):
    async def run():
        socket = consumer(live_cast.community_worker)
        await socket.connect()
        await sync_to_async(ingest.process)([message("SOS-0001", "sos")])
        await socket.receive()

        def acknowledge():
            alarm = Alarm.objects.get()
            Alarm.objects.filter(pk=alarm.pk).update(status="acknowledged")
            events.alarm_changed.send(sender=Alarm, alarm_id=alarm.pk, action="acknowledge")

        await sync_to_async(acknowledge)()
        changed = await socket.receive()
        await socket.close()
        return changed

    changed = async_to_sync(run)()
    assert changed["event"] == "changed" and changed["action"] == "acknowledge"
    assert changed["alarm"]["status"] == "acknowledged" and changed["alarm"]["status_label"] == "已响应"


def test_several_alarms_at_once_reach_a_console_as_one_frame_and_one_alone_as_before(live_cast, devices):
    async def run():
        socket = consumer(live_cast.community_worker)
        await socket.connect()
        await sync_to_async(ingest.process)([message("SOS-0001", "sos"), message("SMK-0001", "smoke")])
        together = await socket.receive()
        quiet = await socket.silent()
        await sync_to_async(ingest.process)(
            [message("BP-0001", "blood_pressure", data={"systolic": 190, "diastolic": 95, "pulse": 80})]
        )
        alone = await socket.receive()
        await socket.close()
        return together, quiet, alone

    together, quiet, alone = async_to_sync(run)()
    assert together["event"] == "raised" and "alarm" not in together
    assert sorted(a["rule"] for a in together["alarms"]) == ["smoke", "sos"] and quiet
    assert alone["event"] == "raised" and alone["alarm"]["rule"] == "blood_pressure" and "alarms" not in alone


def test_a_batch_sends_one_group_message_per_group_of_the_regions_it_concerns():
    home = {"id": 1, "region": HOME_COMMUNITY}
    neighbour = {"id": 2, "region": HOME_COMMUNITY[:9] + "002"}
    outgoing = receivers.messages_by_group([home, neighbour], event="raised", action="raise")
    assert groups_of_region(HOME_COMMUNITY) == [
        "alarms.12",
        "alarms.1201",
        "alarms.120101",
        "alarms.120101001",
        "alarms.120101001001",
    ]
    assert sorted(outgoing) == sorted(
        ["alarms.12", "alarms.1201", "alarms.120101", "alarms.120101001"]
        + [f"alarms.{HOME_COMMUNITY}", f"alarms.{neighbour['region']}"]
    )
    assert outgoing["alarms.120101"]["alarms"] == [home, neighbour]
    assert outgoing[f"alarms.{HOME_COMMUNITY}"]["alarms"] == [home]
    assert outgoing["alarms.12"]["type"] == "alarm" and outgoing["alarms.12"]["event"] == "raised"


class RecordingLayer:
    """A cross-process channel layer as the background sender sees it: it records each group_send and
    the thread that made it."""

    def __init__(self) -> None:
        import threading

        self.sent: list[tuple[str, dict]] = []
        self.threads: set[str] = set()
        self._threading = threading

    async def group_send(self, group: str, message: dict) -> None:
        self.threads.add(self._threading.current_thread().name)
        self.sent.append((group, message))


def test_a_cross_process_layer_is_sent_to_from_the_background_and_folds_are_gathered():
    layer = RecordingLayer()
    sender = receivers.BackgroundSender(fold_delay=60)  # folds wait until drained
    home = {"id": 1, "region": HOME_COMMUNITY, "message_count": 2}
    sender.send(layer, receivers.messages_by_group([home], event="changed", action="fold"), gather=True)
    home_later = {**home, "message_count": 5}
    sender.send(layer, receivers.messages_by_group([home_later], event="changed", action="fold"), gather=True)
    other = {"id": 2, "region": HOME_COMMUNITY, "message_count": 3}
    sender.send(layer, receivers.messages_by_group([other], event="changed", action="fold"), gather=True)
    raised = {"id": 3, "region": HOME_COMMUNITY}
    sender.send(layer, receivers.messages_by_group([raised], event="raised", action="raise"))
    # An operator's action on alarm 2: its gathered fold is superseded by this newer state.
    acknowledged = {"id": 2, "region": HOME_COMMUNITY, "message_count": 3, "status": "acknowledged"}
    sender.send(layer, receivers.messages_by_group([acknowledged], event="changed", action="acknowledge"))
    import time

    deadline = time.monotonic() + 5
    while len(layer.sent) < 10 and time.monotonic() < deadline:  # the two immediate pushes, 5 groups each
        time.sleep(0.01)
    assert [m["action"] for _, m in layer.sent] == ["raise"] * 5 + ["acknowledge"] * 5  # no fold yet
    sender.drain()
    folds = [m for _, m in layer.sent if m["action"] == "fold"]
    assert len(folds) == 5  # one per group of the community and its ancestors, for both folds together
    assert all(m["alarms"] == [home_later] for m in folds)  # the newest count, once; alarm 2 superseded
    assert layer.threads == {"console-push"}


def test_push_with_a_cross_process_layer_does_not_wait_for_the_layer(monkeypatch, devices):
    import threading

    layer = RecordingLayer()
    release = threading.Event()

    async def slow_group_send(group, message):
        import asyncio

        while not release.is_set():
            await asyncio.sleep(0.01)
        layer.sent.append((group, message))

    layer.group_send = slow_group_send
    monkeypatch.setattr(receivers, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(receivers, "sender", receivers.BackgroundSender())
    sos = ingest.process([message("SOS-0001", "sos")]).raised
    assert receivers.push(sos, event="raised", action="raise") == 5  # returned while the layer waits
    assert layer.sent == []
    release.set()
    receivers.sender.drain()
    assert {m["alarms"][0]["id"] for _, m in layer.sent} == set(sos) and len(layer.sent) == 5


def test_a_push_to_many_groups_keeps_a_bounded_number_of_sends_in_flight():
    import asyncio

    in_flight, most = [0], [0]

    class CountingLayer:
        async def group_send(self, group, message):
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            await asyncio.sleep(0.001)
            in_flight[0] -= 1

    outgoing = {f"alarms.{i}": {"type": "alarm"} for i in range(300)}
    async_to_sync(receivers._send_all)(CountingLayer(), outgoing)
    assert most[0] == receivers.SEND_CONCURRENCY
