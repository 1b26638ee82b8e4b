"""The 智能监测 tab on the elder's page: the devices in the home, the latest alarms, and links to register a
device and to the alarm list, for those whose role reads them."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from yanglao.core.permissions import Perm
from yanglao.monitoring import devices, selectors

ALARMS_ON_TAB = 10


def render(request: Any, elder: Any) -> str:
    user = request.user
    reads_alarms = selectors.may_read(user)
    context = {
        "elder": elder,
        "reads_alarms": reads_alarms,
        "alarms": list(
            selectors.alarms_visible(user)
            .filter(elder_id=elder.pk)
            .order_by("-raised_at", "-id")[:ALARMS_ON_TAB]
        ),
        "devices": list(devices.devices_visible(user).filter(elder_id=elder.pk).order_by("kind", "serial")),
        "may_register": user.has_perm(Perm.DEVICES_MANAGE),
    }
    return render_to_string("monitoring/_elder_tab.html", context, request=request)
