"""Fixtures of the monitoring tests: an elder living alone at home with a set of devices, and `message`
that builds one message in the platform's own format."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from django.utils import timezone

from yanglao.core.testing import HOME_COMMUNITY
from yanglao.monitoring import ingest
from yanglao.monitoring.models import Device

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_device_cache():
    ingest.forget_devices()
    yield
    ingest.forget_devices()


@pytest.fixture
def elder(make_elder):
    return make_elder(HOME_COMMUNITY, living_arrangement="alone", latitude=39.118, longitude=117.2)


@pytest.fixture
def devices(elder):
    """One device of each kind the tests use, registered to the elder."""
    made = {}
    for kind, serial in [
        ("sos_button", "SOS-0001"),
        ("bp_monitor", "BP-0001"),
        ("smoke_detector", "SMK-0001"),
        ("motion_sensor", "PIR-0001"),
        ("water_meter", "WTR-0001"),
        ("electricity_meter", "ELE-0001"),
    ]:
        made[kind] = Device.objects.create(
            kind=kind, vendor="测试厂商", serial=serial, elder=elder, region_id=HOME_COMMUNITY
        )
    return made


def message(serial: str, type_: str, *, at: datetime | None = None, id_: str | None = None, **extra):
    body = {
        "id": id_ or f"{serial}-{next(_ids):06d}",
        "serial": serial,
        "type": type_,
        "at": (at or timezone.now()).isoformat(),
    }
    body.update(extra)
    return body
