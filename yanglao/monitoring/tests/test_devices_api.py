"""The devices API: register (201), list with filters, read, change, retire, issue a token (shown once,
then working for the HTTP ingest), recent readings, and the online rate; 422 for malformed bodies, 400/409
naming the field, 403 without devices.manage, 404 outside the region."""

from yanglao.accounts.roles import Role
from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, OTHER_DISTRICT, make_user
from yanglao.monitoring import ingest, tokens
from yanglao.monitoring.tests.conftest import message

API = "/api/v1/devices"


def send(client, method, url, body=None):
    return getattr(client, method)(url, body, content_type="application/json")


def facts(elder, **extra):
    body = {
        "kind": "bp_monitor",
        "vendor": "安心科技",
        "serial": "BP-API-1",
        "model": "BP-7",
        "elder": elder.pk,
    }
    body.update(extra)
    return body


def test_register_read_list_and_change_a_device(cast, client, elder):
    client.force_login(cast.city_admin)
    created = send(client, "post", API, facts(elder, installed_on="2026-01-05"))
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["serial"], body["region"], body["elder"], body["status"], body["online"]) == (
        "BP-API-1",
        HOME_COMMUNITY,
        elder.pk,
        "active",
        False,
    )
    assert body["kind_label"] == "智能血压计" and body["has_token"] is False
    assert client.get(f"{API}/{body['id']}").json()["installed_on"] == "2026-01-05"
    listed = client.get(API, {"kind": "bp_monitor", "q": "api"}).json()
    assert [d["id"] for d in listed["items"]] == [body["id"]] and listed["count"] == 1
    assert client.get(API, {"kind": "toaster"}).status_code == 400
    patched = send(client, "patch", f"{API}/{body['id']}", {"model": "BP-8", "status": "inactive"})
    assert patched.status_code == 200 and (patched.json()["model"], patched.json()["status"]) == (
        "BP-8",
        "inactive",
    )


def test_malformed_bodies_are_422_and_broken_rules_name_the_field(cast, client, elder):
    client.force_login(cast.city_admin)
    malformed = send(client, "post", API, {"kind": "sos_button", "elder": "someone"})
    assert malformed.status_code == 422
    assert {"vendor", "serial", "elder"} <= {d["field"] for d in malformed.json()["details"]}
    bad = send(client, "post", API, facts(elder, serial="has space"))
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "serial"
    assert send(client, "post", API, facts(elder)).status_code == 201
    taken = send(client, "post", API, facts(elder))
    assert taken.status_code == 409 and taken.json()["details"][0]["field"] == "serial"


def test_permission_and_scope(cast, client, elder):
    client.force_login(cast.city_admin)
    device = send(client, "post", API, facts(elder)).json()
    client.force_login(cast.operator)
    assert client.get(f"{API}/{device['id']}").status_code == 200  # operators read devices
    assert send(client, "post", API, facts(elder, serial="BP-API-2")).status_code == 403
    assert send(client, "post", f"{API}/{device['id']}/token").status_code == 403
    client.force_login(make_user("hedong_admin", Role.CITY_ADMIN, OTHER_DISTRICT))
    assert client.get(f"{API}/{device['id']}").status_code == 404
    assert send(client, "patch", f"{API}/{device['id']}", {"model": "x"}).status_code == 404
    assert client.get(API).json()["count"] == 0
    client.force_login(cast.elder)
    assert client.get(API).status_code == 403
    assert client.get(f"{API}/999999").status_code in (403, 404)


def test_a_token_is_returned_once_and_the_device_can_post_with_it(cast, client, elder):
    client.force_login(cast.city_admin)
    device = send(client, "post", API, facts(elder)).json()
    issued = send(client, "post", f"{API}/{device['id']}/token")
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert tokens.device_for(token).pk == device["id"]
    shown = client.get(f"{API}/{device['id']}").json()
    assert shown["has_token"] is True and token not in str(shown)
    assert token not in str(list(AuditLog.objects.values_list("changes", flat=True)))


def test_readings_and_retire(cast, client, elder):
    client.force_login(cast.city_admin)
    device = send(client, "post", API, facts(elder)).json()
    ingest.forget_devices()
    ingest.process(
        [message("BP-API-1", "blood_pressure", battery=77, data={"systolic": 131, "diastolic": 84})]
    )
    readings = client.get(f"{API}/{device['id']}/readings").json()
    assert readings[0]["type"] == "blood_pressure"
    assert readings[0]["values"] == {"systolic": 131.0, "diastolic": 84.0, "pulse": None}
    shown = client.get(f"{API}/{device['id']}").json()
    assert shown["battery"] == 77 and shown["online"] is True
    assert send(client, "post", f"{API}/{device['id']}/retire", {}).status_code == 422
    assert send(client, "post", f"{API}/{device['id']}/retire", {"reason": ""}).status_code == 400
    retired = send(client, "post", f"{API}/{device['id']}/retire", {"reason": "设备损坏"})
    assert retired.status_code == 200 and retired.json()["status"] == "removed"
    assert send(client, "post", f"{API}/{device['id']}/retire", {"reason": "again"}).status_code == 409


def test_the_online_rate(cast, client, elder):
    client.force_login(cast.city_admin)
    send(client, "post", API, facts(elder))
    ingest.forget_devices()
    ingest.process([message("BP-API-1", "heartbeat")])
    rows = client.get(f"{API}/online-rate", {"region": "120101"}).json()
    assert rows[0] == {
        "group": "total",
        "key": "120101",
        "label": "和平区",
        "active": 1,
        "online": 1,
        "rate": 1.0,
    }
    assert {"kind", "region"} <= {r["group"] for r in rows}
    assert client.get(f"{API}/online-rate", {"hours": 0}).status_code == 400
    client.force_login(cast.district_staff)
    assert client.get(f"{API}/online-rate", {"region": OTHER_DISTRICT}).status_code == 403
