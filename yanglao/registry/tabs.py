"""Tabs of an elder's page. The registry shows its own (facts, household and contacts, life events);
higher apps register theirs from AppConfig.ready() under the keys reserved here, replacing the
placeholder, so the registry never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Tab:
    key: str
    label: Any
    order: int
    # render(request, elder) -> HTML; None means the module is not switched on yet (an empty state).
    render: Callable[[Any, Any], str] | None = None
    perm: str | None = None


TABS: dict[str, Tab] = {}


def register(tab: Tab) -> None:
    TABS[tab.key] = tab


def visible_tabs(user: Any) -> list[Tab]:
    return sorted((t for t in TABS.values() if not t.perm or user.has_perm(t.perm)), key=lambda t: t.order)


for _key, _label, _order in (
    ("assessments", _("能力评估"), 40),
    ("benefits", _("补贴津贴"), 50),
    ("services", _("服务记录"), 60),
    ("alarms", _("告警"), 70),
    ("visits", _("探访关爱"), 80),
):
    register(Tab(key=_key, label=_label, order=_order))
