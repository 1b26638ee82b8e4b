"""What the monitoring app hooks into at start-up: navigation, the elder's tab, the demo step."""

from __future__ import annotations


def connect() -> None:
    _connect_console()
    _connect_devices()
    _connect_thresholds()


def _connect_thresholds() -> None:
    """The ingest keeps the instant rules' thresholds for a minute; a change saved in this process is
    seen at once."""
    from django.db.models.signals import post_delete, post_save

    from yanglao.core.models import PolicyValue
    from yanglao.monitoring.ingest import forget_thresholds
    from yanglao.monitoring.models import ElderThreshold

    for model in (ElderThreshold, PolicyValue):
        post_save.connect(
            forget_thresholds, sender=model, dispatch_uid=f"monitoring.thresholds.{model.__name__}"
        )
        post_delete.connect(
            forget_thresholds, sender=model, dispatch_uid=f"monitoring.thresholds.d{model.__name__}"
        )


def _connect_console() -> None:
    """The operator console: its pushes on the app's signals and its navigation entries."""
    from django.utils.translation import gettext_lazy as _

    from yanglao.core.navigation import NavItem, register
    from yanglao.core.permissions import Perm
    from yanglao.monitoring import receivers

    receivers.connect()
    register(NavItem(label=_("告警中心"), url_name="monitoring:console", perm=Perm.ALARMS_HANDLE, order=50))
    register(NavItem(label=_("告警记录"), url_name="monitoring:alarms", perm=Perm.ALARMS_HANDLE, order=51))


def _connect_devices() -> None:
    """Device management's navigation entry, and the demo step that gives the console a past (after the
    orders step, 60: it needs the demo population and the demo users)."""
    from django.utils.module_loading import import_string
    from django.utils.translation import gettext_lazy as _

    from yanglao.core.demo import add_step
    from yanglao.core.navigation import NavItem, register
    from yanglao.core.permissions import Perm

    register(NavItem(label=_("智能设备"), url_name="devices:list", perm=Perm.DEVICES_MANAGE, order=52))

    from yanglao.monitoring import elder_tab
    from yanglao.registry import tabs

    # The registry reserved the 告警 tab; it becomes the home's devices and the elder's alarms.
    tabs.register(tabs.Tab(key="alarms", label=_("智能监测"), order=70, render=elder_tab.render))
    add_step(
        "monitoring.devices", 70, lambda **kw: import_string("yanglao.monitoring.demo.demo_devices")(**kw)
    )
