"""The alarms API end to end: the list in the caller's scope with its filters (400 on a bad value), one
alarm with its history, acknowledge / dispatch / resolve with 409 naming the state, the service level,
the elder's card and a household's thresholds; other districts are 404 and roles without the permission
403."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.core.testing import HOME_COMMUNITY, other_community
from yanglao.monitoring import ingest
from yanglao.monitoring.models import Alarm, Device
from yanglao.monitoring.tests.conftest import message
from yanglao.registry.models import Contact

API = "/api/v1/alarms"


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


@pytest.fixture
def raised(devices, elder):
    """An SOS (critical), a smoke alarm (critical, later) and a high blood pressure (urgent)."""
    Contact.objects.create(
        elder=elder, name="张丽", relation="daughter", phone="13912345678", is_emergency=True
    )
    bp = ingest.process([message("BP-0001", "blood_pressure", data={"systolic": 185, "diastolic": 95})])
    sos = ingest.process([message("SOS-0001", "sos")])
    smoke = ingest.process([message("SMK-0001", "smoke")])
    return {
        "bp": Alarm.objects.get(pk=bp.raised[0]),
        "sos": Alarm.objects.get(pk=sos.raised[0]),
        "smoke": Alarm.objects.get(pk=smoke.raised[0]),
    }


@pytest.fixture
def far(make_elder):
    region = other_community()
    elder = make_elder(region, living_arrangement="alone")
    Device.objects.create(
        kind="sos_button", vendor="测试厂商", serial="SOS-FAR", elder=elder, region_id=region
    )
    return Alarm.objects.get(pk=ingest.process([message("SOS-FAR", "sos")]).raised[0])


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["items"]]


def test_the_list_is_scoped_sorted_and_filtered(cast, client, raised, far):
    client.force_login(cast.operator)
    everything = client.get(API)
    assert everything.json()["count"] == 4
    assert ids(everything) == [raised["sos"].pk, raised["smoke"].pk, far.pk, raised["bp"].pk]
    first = everything.json()["items"][0]
    assert (first["rule"], first["rule_label"], first["severity_label"], first["status_label"]) == (
        "sos",
        "一键呼叫",
        "紧急",
        "待响应",
    )
    assert (
        first["elder_name"] == "张建国"
        and first["region"] == HOME_COMMUNITY
        and first["device_serial"] == "SOS-0001"
    )
    assert ids(client.get(API, {"severity": "urgent"})) == [raised["bp"].pk]
    assert ids(client.get(API, {"rule": "smoke"})) == [raised["smoke"].pk]
    assert ids(client.get(API, {"region": "120102"})) == [far.pk]
    client.post(f"{API}/{raised['sos'].pk}/acknowledge")
    assert ids(client.get(API, {"status": "acknowledged"})) == [raised["sos"].pk]
    assert len(ids(client.get(API, {"status": ["new", "acknowledged"]}))) == 4
    post(client, f"{API}/{far.pk}/resolve", {"outcome": "false_alarm", "note": "误按"})
    assert far.pk not in ids(client.get(API, {"open_only": "true"}))

    client.force_login(cast.community_worker)
    assert far.pk not in ids(client.get(API))


@pytest.mark.parametrize(("param", "value"), [("status", "lost"), ("severity", "high"), ("rule", "fire")])
def test_a_bad_filter_is_a_400_naming_it(cast, client, raised, param, value):
    client.force_login(cast.operator)
    response = client.get(API, {param: value})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["details"][0]["field"] == param and value in body["message"]


def test_roles_and_regions(cast, client, raised, far):
    sos = raised["sos"]
    assert client.get(API).status_code == 401
    client.force_login(cast.care_worker)
    assert client.get(API).status_code == 403
    assert post(client, f"{API}/{sos.pk}/acknowledge").status_code == 403
    client.force_login(cast.district_staff)  # reads the alarms of the district, does not handle them
    assert client.get(f"{API}/{sos.pk}").status_code == 200
    assert post(client, f"{API}/{sos.pk}/acknowledge").status_code == 403
    client.force_login(cast.other_community_worker)
    assert client.get(f"{API}/{sos.pk}").status_code == 404
    refused = post(client, f"{API}/{sos.pk}/acknowledge")
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    sos.refresh_from_db()
    assert sos.status == "new"


def test_handling_an_alarm_through_the_api(cast, client, raised):
    sos = raised["sos"]
    client.force_login(cast.operator)
    detail = client.get(f"{API}/{sos.pk}").json()
    assert [step["action"] for step in detail["history"]] == ["raise"]

    answered = post(client, f"{API}/{sos.pk}/acknowledge")
    assert answered.status_code == 200 and answered.json()["status"] == "acknowledged"
    assert answered.json()["acknowledged_by"] == "operator"
    again = post(client, f"{API}/{sos.pk}/acknowledge")
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition" and "已响应" in again.json()["message"]

    bad = post(client, f"{API}/{sos.pk}/dispatch", {"targets": ["police"]})
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "targets"
    sent = post(client, f"{API}/{sos.pk}/dispatch", {"targets": ["family", "ambulance"], "note": "已通知"})
    assert sent.status_code == 200, sent.content
    body = sent.json()
    assert body["status"] == "dispatched" and body["dispatched_to"] == ["family", "ambulance"]
    assert [(s["action"], s["target"]) for s in body["history"]][-2:] == [
        ("dispatch", "family"),
        ("dispatch", "ambulance"),
    ]
    assert body["history"][-2]["target_label"] == "通知家属" and body["history"][-2]["actor"] == "operator"

    no_note = post(client, f"{API}/{sos.pk}/resolve", {"outcome": "false_alarm"})
    assert no_note.status_code == 400 and no_note.json()["details"][0]["field"] == "note"
    no_outcome = post(client, f"{API}/{sos.pk}/resolve", {"note": "x"})
    assert no_outcome.status_code == 400 and no_outcome.json()["details"][0]["field"] == "outcome"
    done = post(client, f"{API}/{sos.pk}/resolve", {"outcome": "handled_at_home", "note": "血糖低，已处理"})
    assert done.status_code == 200 and done.json()["outcome_label"] == "上门处置"
    late = post(client, f"{API}/{sos.pk}/dispatch", {"targets": ["family"]})
    assert late.status_code == 409 and "已处置" in late.json()["message"]


def test_the_service_level_endpoint(cast, client, raised):
    client.force_login(cast.operator)
    for alarm in raised.values():
        post(client, f"{API}/{alarm.pk}/acknowledge")
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    response = client.get(f"{API}/service-level", {"since": since})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3 and body["acknowledged"] == 3 and body["met"] is True
    assert [level["limit_seconds"] for level in body["levels"]] == [60, 180]
    assert body["levels"][0]["target_percent"] in ("97.5", 97.5)
    assert client.get(f"{API}/service-level").status_code == 422  # since is required
    client.force_login(cast.care_worker)
    assert client.get(f"{API}/service-level", {"since": since}).status_code == 403


def test_the_elder_card(cast, client, raised, elder):
    client.force_login(cast.operator)
    card = client.get(f"/api/v1/monitoring/elders/{elder.pk}/card").json()
    assert card["contacts"][0]["phone"] == "139****5678" and card["unmasked"] is False
    texts = [r["text"] for r in card["readings"]]
    assert "收缩压 185 mmHg，舒张压 95 mmHg" in texts and len(card["alarms"]) == 3
    clear = client.get(f"/api/v1/monitoring/elders/{elder.pk}/card", {"unmasked": "true"}).json()
    assert clear["contacts"][0]["phone"] == "13912345678"
    client.force_login(cast.other_community_worker)
    assert client.get(f"/api/v1/monitoring/elders/{elder.pk}/card").status_code == 404


def test_household_thresholds(cast, client, elder):
    url = f"/api/v1/monitoring/elders/{elder.pk}/thresholds"
    client.force_login(cast.community_worker)
    rows = {row["key"]: row for row in client.get(url).json()}
    assert rows["monitoring.no_motion_hours"]["city_value"] == 6
    assert rows["monitoring.no_motion_hours"]["own_value"] is None
    assert "monitoring.day_starts_hour" not in rows
    put = client.put(
        f"{url}/monitoring.no_motion_hours", {"value": 8, "note": "女儿夜班"}, content_type="application/json"
    )
    assert put.status_code == 200, put.content
    assert (put.json()["own_value"], put.json()["value"], put.json()["note"]) == (8, 8, "女儿夜班")
    too_high = client.put(f"{url}/monitoring.no_motion_hours", {"value": 30}, content_type="application/json")
    assert too_high.status_code == 400 and too_high.json()["details"][0]["field"] == "value"
    unknown = client.put(f"{url}/monitoring.ack_seconds", {"value": 30}, content_type="application/json")
    assert unknown.status_code == 400 and unknown.json()["details"][0]["field"] == "key"
    assert client.delete(f"{url}/monitoring.no_motion_hours").status_code == 204
    assert {r["key"]: r for r in client.get(url).json()}["monitoring.no_motion_hours"]["own_value"] is None
    # The registry's own /elders/{id} is untouched by these paths.
    assert client.get(f"/api/v1/elders/{elder.pk}").status_code == 200

    client.force_login(cast.care_worker)  # sees only elders its organisation serves: not this one
    assert (
        client.put(
            f"{url}/monitoring.no_motion_hours", {"value": 8}, content_type="application/json"
        ).status_code
        == 404
    )
    client.force_login(cast.other_community_worker)
    assert client.get(url).status_code == 404


def test_an_organisation_bound_role_cannot_read_an_elders_monitoring_card(cast, client, elder):
    for who in ("assessor", "provider_admin"):
        client.force_login(cast.users[who])
        assert client.get(f"/api/v1/monitoring/elders/{elder.pk}/card").status_code in (403, 404), who
