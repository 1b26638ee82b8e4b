"""Pushes to the operators' consoles on the app's own signals (events.py, sent after commit).

The push is direct: the alarms are read in one query, rendered once (consumers.alarm_payloads) and sent
as one group message per affected group, `alarms.<code>` for the community and each of its ancestors, so
every console in those regions receives each alarm once with nothing left to look up.

With the in-memory channel layer (no REDIS_URL) only alarms raised in the web server's own process reach
its consoles; the MQTT ingest worker and the rules timer are other processes, so a deployment that runs
them needs REDIS_URL (DESIGN.md: channels-redis in production)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from yanglao.monitoring import events
from yanglao.monitoring.consumers import alarm_payloads, groups_of_region

log = logging.getLogger("yanglao.monitoring.console")


def messages_by_group(payloads: list[dict[str, Any]], *, event: str, action: str) -> dict[str, dict]:
    """One group message per group that any of these alarms concerns, carrying the alarms it concerns."""
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for alarm in payloads:
        for group in groups_of_region(alarm["region"]):
            by_group[group].append(alarm)
    return {
        group: {"type": "alarm", "event": event, "action": action, "alarms": alarms}
        for group, alarms in by_group.items()
    }


def push(alarm_ids: list[int], *, event: str, action: str = "") -> int:
    """Send these alarms to the consoles of their regions; returns the number of group messages sent.
    A failure is logged, not raised: the alarm is committed and the consoles refresh on their own, so the
    caller (the ingest, an operator's action) must not fail because a console could not be told."""
    if not alarm_ids:
        return 0
    layer = get_channel_layer()
    if layer is None:
        return 0
    try:
        outgoing = messages_by_group(alarm_payloads(alarm_ids), event=event, action=action)
        if outgoing:
            async_to_sync(_send_all)(layer, outgoing)
    except Exception:
        log.exception("could not push alarms %s (%s) to the consoles", alarm_ids, event)
        return 0
    return len(outgoing)


async def _send_all(layer: Any, outgoing: dict[str, dict]) -> None:
    await asyncio.gather(*(layer.group_send(group, message) for group, message in outgoing.items()))


def on_alarms_raised(sender: Any, alarm_ids: list[int] | None = None, **kwargs: Any) -> None:
    push(list(alarm_ids or []), event="raised", action="raise")


def on_alarm_changed(
    sender: Any,
    alarm_id: int | None = None,
    action: str = "",
    alarm_ids: list[int] | None = None,
    **kwargs: Any,
) -> None:
    # One push for a whole ingest batch's folds (alarm_ids): a push per alarm cost ~10 ms each.
    ids = list(alarm_ids or []) + ([alarm_id] if alarm_id is not None else [])
    if ids:
        push(ids, event="changed", action=action)


def connect() -> None:
    events.alarms_raised.connect(on_alarms_raised, dispatch_uid="monitoring.console.raised")
    events.alarm_changed.connect(on_alarm_changed, dispatch_uid="monitoring.console.changed")
