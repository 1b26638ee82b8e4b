"""The device pages: the navigation entry, the list with its filters, empty state, pages and online-rate
table, the register form opened from an elder's page, the device page with its recent readings, and the
token (shown once, never cached) and retire actions, each with a confirmation."""

import pytest

from yanglao.core.testing import HOME_COMMUNITY
from yanglao.monitoring import devices, ingest, tokens
from yanglao.monitoring.models import Device
from yanglao.monitoring.tests.conftest import message


def html(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def device(cast, elder):
    return devices.device_register(
        actor=cast.city_admin, kind="sos_button", vendor="安心科技", serial="PG-0001", elder=elder
    )


def test_the_navigation_entry_is_for_device_managers(cast, client):
    client.force_login(cast.city_admin)
    assert "智能设备" in [str(i["label"]) for i in client.get("/").context["nav_items"]]
    client.force_login(cast.operator)
    assert "智能设备" not in [str(i["label"]) for i in client.get("/").context["nav_items"]]


@pytest.mark.parametrize("who", ["city_admin", "district_staff", "community_worker", "operator", "superuser"])
def test_the_list_renders_for_each_role_that_may_see_devices(cast, client, device, who):
    client.force_login(getattr(cast, who))
    page = html(client.get("/monitoring/devices/"))
    assert "PG-0001" in page and 'data-testid="online-rate"' in page


def test_the_list_is_refused_to_an_elder(cast, client, device):
    client.force_login(cast.elder)
    assert client.get("/monitoring/devices/").status_code == 403


def test_filters_empty_state_errors_and_htmx(cast, client, device):
    client.force_login(cast.city_admin)
    assert "PG-0001" in html(client.get("/monitoring/devices/", {"kind": "sos_button"}))
    empty = html(client.get("/monitoring/devices/", {"kind": "water_meter"}))
    assert 'data-testid="empty"' in empty and "没有符合条件的设备" in empty
    assert "设备类型筛选条件" in html(client.get("/monitoring/devices/", {"kind": "toaster"}))
    assert "PG-0001" in html(client.get("/monitoring/devices/", {"online": "offline"}))
    partial = html(client.get("/monitoring/devices/", {"q": "PG"}, headers={"HX-Request": "true"}))
    assert "<html" not in partial and "PG-0001" in partial


def test_an_empty_region_says_how_to_start(cast, client):
    client.force_login(cast.city_admin)
    page = html(client.get("/monitoring/devices/"))
    assert "还没有登记智能设备" in page and "登记设备" in page


def test_the_list_paginates(cast, client, elder):
    Device.objects.bulk_create(
        Device(
            kind="motion_sensor", vendor="甲厂", serial=f"PIR-{n:03d}", elder=elder, region_id=HOME_COMMUNITY
        )
        for n in range(60)
    )
    client.force_login(cast.city_admin)
    first = html(client.get("/monitoring/devices/"))
    assert "PIR-049" in first and "PIR-050" not in first and "第 1 / 2 页" in first
    assert "PIR-059" in html(client.get("/monitoring/devices/", {"page": 2}))


def test_the_online_rate_table_by_kind_and_region(cast, client, device):
    ingest.process([message("PG-0001", "heartbeat")])
    client.force_login(cast.city_admin)
    page = html(client.get("/monitoring/devices/"))
    assert 'data-testid="rate-by-kind"' in page and 'data-testid="rate-by-region"' in page
    assert "一键呼叫按钮" in page and "和平区" in page and "100.0%" in page


def test_register_from_the_elders_page(cast, client, elder):
    client.force_login(cast.city_admin)
    form = html(client.get("/monitoring/devices/new/", {"elder": elder.pk}))
    assert elder.name in form and f'value="{elder.pk}"' in form
    bad = client.post(
        f"/monitoring/devices/new/?elder={elder.pk}",
        {"kind": "sos_button", "vendor": "安心科技", "serial": "bad serial", "elder": elder.pk},
    )
    assert bad.status_code == 200 and 'data-testid="error-serial"' in bad.content.decode()
    assert not Device.objects.exists()
    done = client.post(
        "/monitoring/devices/new/",
        {
            "kind": "sos_button",
            "vendor": "安心科技",
            "serial": "PG-0002",
            "elder": elder.pk,
            "installed_on": "",
        },
    )
    device = Device.objects.get(serial="PG-0002")
    assert done.status_code == 302 and done["Location"] == f"/monitoring/devices/{device.pk}/"


def test_register_is_refused_without_devices_manage(cast, client, elder):
    client.force_login(cast.operator)
    assert client.get("/monitoring/devices/new/").status_code == 403


def test_the_device_page_shows_details_battery_and_recent_readings(cast, client, device):
    ingest.process([message("PG-0001", "sos")])
    ingest.process([message("PG-0001", "heartbeat", battery=64)])
    client.force_login(cast.city_admin)
    page = html(client.get(f"/monitoring/devices/{device.pk}/"))
    assert "64%" in page and 'data-testid="readings-table"' in page and "一键呼叫" in page
    assert 'data-testid="token-form"' in page and 'data-testid="retire-form"' in page and "confirm(" in page
    client.force_login(cast.operator)
    read_only = html(client.get(f"/monitoring/devices/{device.pk}/"))
    assert 'data-testid="token-form"' not in read_only


def test_a_token_is_shown_once_and_not_cached(cast, client, device):
    client.force_login(cast.city_admin)
    shown = client.post(f"/monitoring/devices/{device.pk}/token/")
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    page = shown.content.decode()
    raw = page.split('data-testid="device-token-value"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert tokens.device_for(raw).pk == device.pk
    assert raw not in html(client.get(f"/monitoring/devices/{device.pk}/"))
    client.force_login(cast.operator)
    assert client.post(f"/monitoring/devices/{device.pk}/token/").status_code == 403
    assert client.post(f"/monitoring/devices/{device.pk}/retire/", {"reason": "x"}).status_code == 403


def test_edit_and_retire(cast, client, device):
    client.force_login(cast.city_admin)
    form = html(client.get(f"/monitoring/devices/{device.pk}/edit/"))
    assert "PG-0001" in form
    saved = client.post(
        f"/monitoring/devices/{device.pk}/edit/",
        {
            "kind": "sos_button",
            "vendor": "安心科技",
            "model": "SOS-9",
            "serial": "PG-0001",
            "elder": device.elder_id,
            "status": "active",
        },
    )
    assert saved.status_code == 302
    device.refresh_from_db()
    assert device.model == "SOS-9"
    missing = client.post(f"/monitoring/devices/{device.pk}/retire/", {"reason": ""}, follow=True)
    assert "未拆除" in missing.content.decode()
    done = client.post(f"/monitoring/devices/{device.pk}/retire/", {"reason": "老人搬走"}, follow=True)
    assert "已拆除" in done.content.decode()
    device.refresh_from_db()
    assert device.status == "removed"
