"""The online rate on a known set of devices: active devices heard from within the hours, per kind and per
child region, in a fixed number of queries whatever the number of devices; and the list's filters."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.core.errors import InvalidInput, PermissionDenied
from yanglao.core.testing import HOME_COMMUNITY, HOME_DISTRICT, HOME_STREET, OTHER_DISTRICT, other_community
from yanglao.monitoring import devices
from yanglao.monitoring.models import Device


@pytest.fixture
def fleet(db):
    """Home community: an SOS button heard 1 h ago, a motion sensor 30 h ago, a water meter never, and an
    inactive and a removed button (not counted). Another district: a button and a motion sensor, 2 h ago."""
    now = timezone.now()
    elsewhere = other_community()
    rows = [
        ("S1", "sos_button", HOME_COMMUNITY, "active", now - timedelta(hours=1), "甲厂"),
        ("M1", "motion_sensor", HOME_COMMUNITY, "active", now - timedelta(hours=30), "甲厂"),
        ("W1", "water_meter", HOME_COMMUNITY, "active", None, "乙厂"),
        ("S2", "sos_button", HOME_COMMUNITY, "inactive", now - timedelta(hours=1), "甲厂"),
        ("S3", "sos_button", HOME_COMMUNITY, "removed", None, "甲厂"),
        ("S4", "sos_button", elsewhere, "active", now - timedelta(hours=2), "乙厂"),
        ("M4", "motion_sensor", elsewhere, "active", now - timedelta(hours=2), "乙厂"),
    ]
    return {
        serial: Device.objects.create(
            serial=serial, kind=kind, region_id=region, status=status, last_seen_at=seen, vendor=vendor
        )
        for serial, kind, region, status, seen, vendor in rows
    }


def table(rows):
    return {(r["group"], r["key"]): (r["active"], r["online"], r["rate"]) for r in rows}


def test_the_city_figures_by_kind_and_by_district(cast, fleet, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        rows = devices.online_rate(cast.city_admin, region="1201")
    figures = table(rows)
    assert figures[("total", "1201")] == (5, 3, 0.6)
    assert figures[("kind", "sos_button")] == (2, 2, 1.0)
    assert figures[("kind", "motion_sensor")] == (2, 1, 0.5)
    assert figures[("kind", "water_meter")] == (1, 0, 0.0)
    assert ("kind", "bp_monitor") not in figures
    assert figures[("region", HOME_DISTRICT)] == (3, 1, 0.3333)
    assert figures[("region", OTHER_DISTRICT)] == (2, 2, 1.0)
    empty = [r for r in rows if r["group"] == "region" and r["active"] == 0]
    assert empty and all(r["rate"] is None for r in empty)
    assert [r["group"] for r in rows][0] == "total"


def test_a_longer_window_counts_the_device_heard_30_hours_ago(cast, fleet):
    assert table(devices.online_rate(cast.city_admin, region="1201", hours=48))[("total", "1201")] == (
        5,
        4,
        0.8,
    )


def test_a_street_is_broken_down_by_community(cast, fleet):
    figures = table(devices.online_rate(cast.city_admin, region=HOME_STREET))
    assert figures[("total", HOME_STREET)] == (3, 1, 0.3333)
    assert figures[("region", HOME_COMMUNITY)] == (3, 1, 0.3333)


def test_staff_see_their_own_region_by_default_and_nothing_outside(cast, fleet):
    figures = table(devices.online_rate(cast.district_staff))
    assert figures[("total", HOME_DISTRICT)] == (3, 1, 0.3333)
    with pytest.raises(PermissionDenied):
        devices.online_rate(cast.district_staff, region=OTHER_DISTRICT)
    with pytest.raises(InvalidInput) as caught:
        devices.online_rate(cast.city_admin, hours=0)
    assert caught.value.field == "hours"


def serials(actor, **filters):
    return sorted(d.serial for d in devices.device_list(actor, devices.DeviceFilter(**filters)))


def test_the_list_filters(cast, fleet):
    admin = cast.city_admin
    assert serials(admin) == ["M1", "M4", "S1", "S2", "S3", "S4", "W1"]
    assert serials(admin, kind="motion_sensor") == ["M1", "M4"]
    assert serials(admin, status="inactive") == ["S2"]
    assert serials(admin, region=HOME_DISTRICT) == ["M1", "S1", "S2", "S3", "W1"]
    assert serials(admin, vendor="乙厂") == ["M4", "S4", "W1"]
    assert serials(admin, online="online") == ["M4", "S1", "S2", "S4"]
    assert serials(admin, online="offline") == ["M1", "W1"]
    assert serials(admin, q="s") == ["S1", "S2", "S3", "S4"]
    assert serials(cast.community_worker) == ["M1", "S1", "S2", "S3", "W1"]
    assert serials(cast.provider_admin) == [] and serials(cast.elder) == []
    for bad, field in [({"kind": "x"}, "kind"), ({"status": "x"}, "status"), ({"online": "x"}, "online")]:
        with pytest.raises(InvalidInput) as caught:
            serials(admin, **bad)
        assert caught.value.field == field
