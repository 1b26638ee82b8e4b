"""The 智能监测 tab on the elder's page: the home's devices, the elder's latest alarms, and a link to
register a device for those who manage devices."""

from yanglao.monitoring import ingest
from yanglao.monitoring.tests.conftest import message


def test_the_tab_shows_the_devices_the_alarms_and_the_register_link(cast, client, devices, elder):
    ingest.process([message("SOS-0001", "sos")])
    client.force_login(cast.community_worker)
    page = client.get(f"/registry/elders/{elder.pk}/").content.decode()
    assert 'data-testid="monitoring-tab"' in page and "SOS-0001" in page
    assert f"/monitoring/devices/new/?elder={elder.pk}" in page
    assert "一键呼叫" in page  # the SOS alarm
