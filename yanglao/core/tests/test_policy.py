"""Policy values: declared with a default, overridden by dated, audited values, bounds checked."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yanglao.core import policy
from yanglao.core.errors import InvalidInput, PermissionDenied
from yanglao.core.models import AuditLog

RADIUS = policy.define("tests.radius_m", 300, "测试用半径", minimum=50, maximum=2000, unit="米")


def test_the_default_until_a_dated_value_takes_over(cast):
    today = timezone.localdate()
    assert policy.value(RADIUS) == 300
    policy.policy_set(
        actor=cast.city_admin, key="tests.radius_m", value="500", valid_from=today + timedelta(days=10)
    )
    assert policy.value(RADIUS) == 300
    assert policy.value(RADIUS, on=today + timedelta(days=10)) == 500
    assert AuditLog.objects.filter(action="policy.set").count() == 1


@pytest.mark.parametrize(
    "bad, message",
    [("abc", "应为整数"), (10, "不能小于 50米"), (5000, "不能大于 2000米"), (True, "应为整数")],
)
def test_bad_values_are_refused_with_the_setting_named(cast, bad, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        policy.policy_set(
            actor=cast.city_admin, key="tests.radius_m", value=bad, valid_from=timezone.localdate()
        )
    assert "测试用半径" in caught.value.message
    assert not AuditLog.objects.filter(action="policy.set").exists()


def test_only_policy_managers_set_values_and_only_declared_keys(cast):
    with pytest.raises(PermissionDenied):
        policy.policy_set(
            actor=cast.district_staff, key="tests.radius_m", value=400, valid_from=timezone.localdate()
        )
    with pytest.raises(InvalidInput, match="没有名为"):
        policy.policy_set(
            actor=cast.city_admin, key="tests.nothing", value=1, valid_from=timezone.localdate()
        )


def test_the_admin_page_adds_a_checked_value(cast, client):
    client.force_login(cast.city_admin)
    url = "/admin/core/policyvalue/add/"
    refused = client.post(
        url, {"key": "tests.radius_m", "value": "9999", "valid_from": "2026-01-01", "note": ""}
    )
    assert "不能大于" in refused.content.decode()
    client.post(url, {"key": "tests.radius_m", "value": "800", "valid_from": "2026-01-01", "note": "文件"})
    assert policy.value(RADIUS, on=timezone.localdate()) == 800
    client.force_login(cast.district_staff)
    assert client.get(url).status_code in (302, 403)
