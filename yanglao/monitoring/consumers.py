"""The operator console's live channel (DOMAIN.md §8: new alarms reach operators' screens without reload).

    ws/monitoring/alarms/   →  {"event": "hello", "groups": [...], "t": <server ms>}
                            →  {"event": "raised" | "changed", "action": "...", "alarm": {...}}
                            →  {"event": ..., "action": ..., "alarms": [{...}, ...]}  (several at once)
    {"action": "ping", "t": <client ms>}  →  {"event": "pong", "t": <server ms>, "echo": <client ms>}

Each operator joins one group, `alarms.<region code>` of their own region (a superuser: the top of the
loaded division tree). A raised or changed alarm is sent, after commit, to the group of every ancestor of
its community (receivers.py), so each operator receives it exactly once, already rendered: the push path
does no database work per client.

The alarm payload is built here (`alarm_payloads`), and the console page renders its first rows from the
same function, so a row pushed live and a row loaded with the page are the same row."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.urls import reverse
from django.utils import timezone

from yanglao.core.permissions import Perm
from yanglao.monitoring.enums import SEVERITY_RANK, AlarmStatus, Rule, Severity
from yanglao.regions.codes import NATURAL_LENGTHS

GROUP_PREFIX = "alarms."
# The close code of a refused connection: 4000 + the HTTP status it stands for.
REFUSED = 4403

# The columns a payload needs, read with .values() in one query (no model instances, no decryption of
# the elder's encrypted fields).
PAYLOAD_FIELDS = (
    "id",
    "rule",
    "severity",
    "status",
    "summary",
    "elder_id",
    "elder__name",
    "region_id",
    "region__name",
    "raised_at",
    "last_at",
    "message_count",
    "acknowledged_at",
    "dispatched_to",
    "escalation_level",
)


def group_name(region_code: str) -> str:
    return f"{GROUP_PREFIX}{region_code}"


def groups_of_region(region_code: str) -> list[str]:
    """The groups an alarm in this region goes to: its own and every ancestor's (12 → 9 → 6 → 4 → 2)."""
    return [group_name(region_code[:n]) for n in NATURAL_LENGTHS if n <= len(region_code)]


def groups_for(user: Any) -> list[str] | None:
    """The groups a console user listens to, or None when the user may not open the console."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if not user.has_perm(Perm.ALARMS_HANDLE):
        return None
    if user.region_id:
        return [group_name(user.region_id)]
    if user.is_superuser:
        from yanglao.regions.models import Region

        tops = Region.objects.filter(parent__isnull=True).values_list("code", flat=True)
        return [group_name(code) for code in tops] or None
    return None


def _local(moment: Any) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def payload(row: dict[str, Any]) -> dict[str, Any]:
    """One alarm as the console shows it, from a .values(*PAYLOAD_FIELDS) row. Names are shown as on
    the registry's pages (operators hold elders.view); ID and phone numbers are never part of it."""
    rule, severity, status = row["rule"], row["severity"], row["status"]
    return {
        "id": row["id"],
        "rule": rule,
        "rule_label": str(Rule(rule).label) if rule in Rule.values else rule,
        "severity": severity,
        "severity_label": str(Severity(severity).label) if severity in Severity.values else severity,
        "severity_rank": SEVERITY_RANK.get(severity, 9),
        "status": status,
        "status_label": str(AlarmStatus(status).label) if status in AlarmStatus.values else status,
        "open": status != AlarmStatus.RESOLVED,
        "summary": row["summary"],
        "elder_id": row["elder_id"],
        "elder_name": row["elder__name"] or "",
        "region": row["region_id"],
        "region_name": row["region__name"] or "",
        "raised_at": _local(row["raised_at"]),
        "last_at": _local(row["last_at"]),
        "acknowledged_at": _local(row["acknowledged_at"]),
        "dispatched_to": list(row["dispatched_to"] or []),
        "escalation_level": row["escalation_level"],
        "message_count": row["message_count"],
        "url": reverse("monitoring:alarm", args=[row["id"]]),
    }


def alarm_payloads(alarms: Any) -> list[dict[str, Any]]:
    """Payloads of a queryset of alarms (or of alarm ids), in one query."""
    from yanglao.monitoring.models import Alarm

    if not hasattr(alarms, "values"):
        alarms = Alarm.objects.filter(pk__in=list(alarms))
    return [payload(row) for row in alarms.values(*PAYLOAD_FIELDS)]


def console_order(payloads: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Critical first, then urgent, then maintenance; the newest first within a severity."""
    newest_first = sorted(payloads, key=lambda p: (p["raised_at"] or "", p["id"]), reverse=True)
    return sorted(newest_first, key=lambda p: p["severity_rank"])


class AlarmConsumer(AsyncJsonWebsocketConsumer):
    """Pushes the alarms of the operator's region to their console."""

    alarm_groups: list[str]

    async def connect(self) -> None:
        self.alarm_groups = []
        groups = await database_sync_to_async(groups_for)(self.scope.get("user"))
        if not groups:
            # Before accept: the handshake is refused (the browser sees a failed connection).
            await self.close(code=REFUSED)
            return
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.alarm_groups = groups
        await self.accept()
        await self.send_json({"event": "hello", "groups": groups, "t": _now_ms()})

    async def disconnect(self, code: int) -> None:
        for group in self.alarm_groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("action") == "ping":
            # The latency probe (bench/) and the console's own keep-alive.
            await self.send_json({"event": "pong", "t": _now_ms(), "echo": content.get("t")})

    async def alarm(self, event: dict[str, Any]) -> None:
        """A group message {"type": "alarm", "event": "raised"|"changed", "action": str, "alarms": [...]}:
        one frame, {"event", "action", "alarm": {...}} for one alarm, {"event", "action", "alarms": [...]}
        for several (a second's growing counts, a batch's raises): a storm of alarms costs a console one
        frame a second, not hundreds, and an SOS is not sent behind them."""
        alarms = event.get("alarms", [])
        head = {"event": event["event"], "action": event.get("action", "")}
        if len(alarms) == 1:
            await self.send_json({**head, "alarm": alarms[0]})
        elif alarms:
            await self.send_json({**head, "alarms": alarms})

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def _now_ms() -> int:
    return int(time.time() * 1000)
