"""The console's pages: the console, an alarm's page with the elder's card, and the alarm list open for
people who handle alarms and are refused to others; alarms outside the user's region do not exist for
them; the page's one-click actions go through the services (JSON for the console's script, a redirect
for a form)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from yanglao.core.models import AuditLog
from yanglao.core.testing import HOME_COMMUNITY, other_community
from yanglao.monitoring import ingest
from yanglao.monitoring.models import Alarm, AlarmAction, Device
from yanglao.monitoring.tests.conftest import message
from yanglao.registry.models import Contact

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def sos(cast, devices, elder):
    """A new SOS alarm of the elder at home, with a contact, a blood-pressure reading and a past alarm."""
    Contact.objects.create(elder=elder, name="张小明", relation="son", phone="13812345678", is_emergency=True)
    earlier = timezone.now() - timedelta(days=3)
    ingest.process(
        [message("BP-0001", "blood_pressure", at=earlier, data={"systolic": 185, "diastolic": 100})]
    )
    past = Alarm.objects.get()
    Alarm.objects.filter(pk=past.pk).update(
        status="resolved", outcome="handled_at_home", resolved_at=timezone.now()
    )
    ingest.process([message("SOS-0001", "sos")])
    return Alarm.objects.get(rule="sos")


@pytest.fixture
def elsewhere(cast, make_elder):
    """An SOS in the other district."""
    community = other_community()
    other = make_elder(community, name="王桂兰")
    Device.objects.create(
        kind="sos_button", vendor="测试厂商", serial="SOS-9001", elder=other, region_id=community
    )
    ingest.process([message("SOS-9001", "sos")])
    return Alarm.objects.get(elder=other)


def signed_in(client, user):
    client.force_login(user)
    return client


# --- who may open what ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["console", "alarms"])
def test_the_pages_open_for_operators_and_community_workers(client, cast, sos, name):
    for user in (cast.operator, cast.community_worker, cast.city_admin):
        response = signed_in(client, user).get(reverse(f"monitoring:{name}"))
        assert response.status_code == 200, user.username
        if name == "console":  # the rows are drawn by the script, from the page's JSON
            assert [a["elder_name"] for a in response.context["alarms"]] == ["张建国"]
        else:
            assert "张建国" in response.content.decode()


@pytest.mark.parametrize(
    "role", ["district_staff", "care_worker", "provider_admin", "inspector", "auditor", "elder"]
)
def test_the_pages_are_refused_to_roles_that_do_not_handle_alarms(client, cast, sos, role):
    signed_in(client, cast.users[role])
    for url in (
        reverse("monitoring:console"),
        reverse("monitoring:alarms"),
        reverse("monitoring:alarm", args=[sos.pk]),
        reverse("monitoring:service_level"),
        reverse("monitoring:console_alarms"),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("monitoring:acknowledge", args=[sos.pk]), **JSON).status_code == 403
    assert Alarm.objects.get(pk=sos.pk).status == "new"


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, sos):
    response = client.get(reverse("monitoring:console"))
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_the_navigation_shows_the_console_and_the_list_to_those_who_handle_alarms(client, cast):
    page = signed_in(client, cast.operator).get(reverse("monitoring:console")).content.decode()
    assert "告警中心" in page and 'href="/monitoring/alarms/"' in page
    home = signed_in(client, cast.district_staff).get("/").content.decode()
    assert 'href="/monitoring/console/"' not in home


# --- the console ------------------------------------------------------------------------------------
def test_the_console_lists_the_open_alarms_critical_first_and_newest_first(client, cast, devices, elder):
    ingest.process([message("BP-0001", "blood_pressure", data={"systolic": 190, "diastolic": 100})])
    ingest.process([message("SOS-0001", "sos")])
    ingest.process([message("SMK-0001", "smoke")])
    resolved = ingest.process([message("PIR-0001", "fall")]).raised[0]
    Alarm.objects.filter(pk=resolved).update(status="resolved")
    response = signed_in(client, cast.operator).get(reverse("monitoring:console"))
    shown = response.context["alarms"]
    assert [a["rule"] for a in shown] == ["smoke", "sos", "blood_pressure"]
    assert [a["severity"] for a in shown] == ["critical", "critical", "urgent"]
    page = response.content.decode()
    assert 'id="console-alarms"' in page and "点击开启提示音" in page and 'data-testid="ws-state"' in page
    assert 'data-testid="count-critical"' in page
    data = signed_in(client, cast.operator).get(reverse("monitoring:console_alarms")).json()
    assert [a["rule"] for a in data["alarms"]] == ["smoke", "sos", "blood_pressure"]
    assert data["counts"] == {"critical": 2, "urgent": 1} and data["total"] == 3


def test_the_console_and_its_list_hide_alarms_outside_the_users_region(client, cast, sos, elsewhere):
    data = signed_in(client, cast.community_worker).get(reverse("monitoring:console_alarms")).json()
    assert [a["id"] for a in data["alarms"]] == [sos.pk]
    everything = signed_in(client, cast.operator).get(reverse("monitoring:console_alarms")).json()
    assert {a["id"] for a in everything["alarms"]} == {sos.pk, elsewhere.pk}
    assert (
        signed_in(client, cast.community_worker)
        .get(reverse("monitoring:alarm", args=[elsewhere.pk]))
        .status_code
        == 404
    )


def test_the_service_level_panel_shows_todays_answer_times_against_the_tec_targets(client, cast, sos):
    Alarm.objects.filter(pk=sos.pk).update(
        status="acknowledged", acknowledged_at=sos.raised_at + timedelta(seconds=42)
    )
    page = signed_in(client, cast.operator).get(reverse("monitoring:service_level")).content.decode()
    assert 'data-testid="sl-answered">1<' in page
    assert "100.0%" in page and "目标 97.5%" in page and "目标 99%" in page
    assert 'data-testid="sl-median">42' in page
    assert 'hx-trigger="every 30s, sl-refresh"' in page


# --- the alarm's page -------------------------------------------------------------------------------
def test_the_alarm_page_shows_the_elders_card_the_history_and_the_actions(client, cast, sos, elder):
    response = signed_in(client, cast.operator).get(reverse("monitoring:alarm", args=[sos.pk]))
    page = response.content.decode()
    card = response.context["card"]
    assert card["name"] == "张建国" and response.context["map"]["position"] == [39.118, 117.2]
    assert 'id="elder-map"' in page and "vendor/leaflet/leaflet.js" in page and "unpkg" not in page
    assert "独居" in page  # conditions
    assert "张小明" in page and "138****5678" in page and "13812345678" not in page
    assert 'data-testid="reveal"' in page  # the operator holds pii.view
    assert "收缩压 185 · 舒张压 100" in page  # recent readings
    assert "血压过高" in page and "上门处置" in page  # the past alarm
    assert [h["label"] for h in response.context["history"]] == ["告警"]
    for testid in ("acknowledge", "dispatch", "resolve"):
        assert f'data-testid="{testid}"' in page


def test_the_reveal_shows_the_contacts_numbers_to_pii_view_and_is_audited(client, cast, sos):
    response = signed_in(client, cast.operator).post(reverse("monitoring:card_reveal", args=[sos.pk]))
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    assert AuditLog.objects.filter(action="elder.view_personal_numbers").count() == 1


# --- actions ----------------------------------------------------------------------------------------
def test_acknowledge_from_the_console_answers_with_the_alarm_as_the_console_shows_it(client, cast, sos):
    response = signed_in(client, cast.operator).post(reverse("monitoring:acknowledge", args=[sos.pk]), **JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["alarm"]["id"] == sos.pk and body["alarm"]["status"] == "acknowledged"
    assert body["alarm"]["status_label"] == "已响应" and "已响应" in body["message"]
    sos.refresh_from_db()
    assert sos.status == "acknowledged" and sos.acknowledged_by == cast.operator
    again = client.post(reverse("monitoring:acknowledge", args=[sos.pk]), **JSON)
    assert again.status_code == 409 and "已响应" in again.json()["message"]


def test_dispatch_and_resolve_from_the_console(client, cast, sos):
    signed_in(client, cast.operator)
    url = reverse("monitoring:dispatch", args=[sos.pk])
    assert client.post(url, {"note": "x"}, **JSON).json()["details"][0]["field"] == "targets"
    response = client.post(url, {"targets": ["family", "ambulance"], "note": "已拨打 120"}, **JSON)
    assert response.status_code == 200 and response.json()["alarm"]["dispatched_to"] == [
        "family",
        "ambulance",
    ]
    resolve = reverse("monitoring:resolve", args=[sos.pk])
    refused = client.post(resolve, {"outcome": "false_alarm"}, **JSON)
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "note"
    done = client.post(resolve, {"outcome": "sent_to_hospital", "note": "送往第一中心医院"}, **JSON)
    assert done.status_code == 200 and done.json()["alarm"]["open"] is False
    sos.refresh_from_db()
    assert (sos.status, sos.outcome) == ("resolved", "sent_to_hospital")
    assert list(AlarmAction.objects.filter(alarm=sos).values_list("action", flat=True)) == [
        "raise",
        "acknowledge",
        "dispatch",
        "dispatch",
        "resolve",
    ]


def test_a_form_on_the_alarm_page_acts_and_comes_back_with_a_message(client, cast, sos):
    signed_in(client, cast.community_worker)
    page = reverse("monitoring:alarm", args=[sos.pk])
    response = client.post(reverse("monitoring:acknowledge", args=[sos.pk]), follow=True)
    assert response.redirect_chain[-1][0] == page
    assert f"告警 No.{sos.pk} 已响应" in response.content.decode()
    failed = client.post(reverse("monitoring:resolve", args=[sos.pk]), {"outcome": "other"}, follow=True)
    assert "请填写处置说明" in failed.content.decode()
    assert Alarm.objects.get(pk=sos.pk).status == "acknowledged"


def test_an_action_on_an_alarm_outside_the_region_is_not_found(client, cast, elsewhere):
    signed_in(client, cast.community_worker)
    response = client.post(reverse("monitoring:acknowledge", args=[elsewhere.pk]), **JSON)
    assert response.status_code == 404
    assert client.post(reverse("monitoring:acknowledge", args=[elsewhere.pk])).status_code == 404
    assert Alarm.objects.get(pk=elsewhere.pk).status == "new"


# --- the list ---------------------------------------------------------------------------------------
def test_the_list_filters_by_status_severity_rule_and_region(client, cast, sos, elsewhere):
    signed_in(client, cast.operator)
    url = reverse("monitoring:alarms")

    def shown(**params):
        return [a.pk for a in client.get(url, params).context["page"].object_list]

    assert set(shown()) == {sos.pk, elsewhere.pk} | set(
        Alarm.objects.filter(rule="blood_pressure").values_list("pk", flat=True)
    )
    assert set(shown(status="open")) == {sos.pk, elsewhere.pk}
    assert shown(status="resolved", rule="blood_pressure") == list(
        Alarm.objects.filter(rule="blood_pressure").values_list("pk", flat=True)
    )
    assert shown(severity="urgent") == list(
        Alarm.objects.filter(severity="urgent").values_list("pk", flat=True)
    )
    assert shown(region=HOME_COMMUNITY, status="open") == [sos.pk]
    bad = client.get(url, {"severity": "loud"})
    assert bad.status_code == 200 and "loud" in bad.context["error"].message
    empty = client.get(url, {"rule": "gas"}).content.decode()
    assert "没有符合条件的告警" in empty


def test_the_list_pages_fifty_at_a_time(client, cast, devices):
    now = timezone.now()
    Alarm.objects.bulk_create(
        [
            Alarm(
                rule="offline",
                severity="maintenance",
                status="resolved",
                situation=f"offline:d{i}",
                region_id=HOME_COMMUNITY,
                summary="设备离线",
                first_at=now,
                last_at=now,
                raised_at=now - timedelta(minutes=i),
            )
            for i in range(60)
        ]
    )
    signed_in(client, cast.operator)
    first = client.get(reverse("monitoring:alarms"), {"severity": "maintenance"})
    assert (
        len(first.context["page"].object_list) == 50 and 'data-testid="next-page"' in first.content.decode()
    )
    assert "severity=maintenance&amp;page=2" in first.content.decode()
    second = client.get(reverse("monitoring:alarms"), {"severity": "maintenance", "page": 2})
    assert len(second.context["page"].object_list) == 10
