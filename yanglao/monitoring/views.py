"""The operator's screens (DOMAIN.md §8): the live console, an alarm's page with the elder's card, and the
alarm list. Each view parses input, calls one selector or service of monitoring, and renders.

The actions (acknowledge, dispatch, resolve) answer the console's fetch() with JSON — the alarm as the
console shows it, or the error — and a plain form post with a message and a redirect back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yanglao.accounts.scope import require_perm
from yanglao.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.monitoring import selectors, services
from yanglao.monitoring.consumers import PAYLOAD_FIELDS, payload
from yanglao.monitoring.enums import (
    OPEN_ALARM_STATUSES,
    AlarmStatus,
    DispatchTarget,
    Outcome,
    Rule,
    Severity,
)
from yanglao.monitoring.models import Alarm
from yanglao.registry.views import region_choices

# The console shows the most pressing open alarms; the list page has them all.
CONSOLE_LIMIT = 300
PAGE_SIZE = 50
WS_PATH = "/ws/monitoring/alarms/"


def _require_handler(user: Any) -> None:
    require_perm(user, Perm.ALARMS_HANDLE)


def _wants_json(request: Any) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _today_start() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def _open_alarms(user: Any) -> tuple[list[dict[str, Any]], dict[str, int], int]:
    """The open alarms for the console, critical first and newest first, with the count per severity."""
    queryset = selectors.alarm_list(user, open_only=True)
    counts = {
        row["severity"]: row["n"] for row in queryset.order_by().values("severity").annotate(n=Count("id"))
    }
    # Newest first within a severity: a new alarm comes in at the top of its colour.
    rows = queryset.order_by("severity_rank", "-raised_at", "-id").values(*PAYLOAD_FIELDS)
    return [payload(row) for row in rows[:CONSOLE_LIMIT]], counts, sum(counts.values())


def _alarm_payload(alarm: Alarm) -> dict[str, Any]:
    return payload(Alarm.objects.filter(pk=alarm.pk).values(*PAYLOAD_FIELDS).get())


def _console_urls() -> dict[str, str]:
    """URL templates for the console's script, with 0 standing for the alarm's id."""
    return {
        "acknowledge": reverse("monitoring:acknowledge", args=[0]),
        "dispatch": reverse("monitoring:dispatch", args=[0]),
        "resolve": reverse("monitoring:resolve", args=[0]),
        "alarm": reverse("monitoring:alarm", args=[0]),
        "alarms": reverse("monitoring:console_alarms"),
        "service_level": reverse("monitoring:service_level"),
        "ws": WS_PATH,
    }


def _console_text() -> dict[str, Any]:
    """The console script's words, translated here with the rest of the page."""
    return {
        "connecting": _("正在连接…"),
        "open": _("实时连接正常"),
        "reconnecting": _("连接已断开，%s 秒后重连…"),
        "refused": _("无法接收告警：登录已失效或无权限，请重新登录"),
        "acknowledge": _("响应"),
        "dispatch": _("派遣"),
        "resolve": _("处置"),
        "details": _("详情"),
        "waited": _("已等待"),
        "messages": _("共 %s 条消息"),
        "dispatched_to": _("已派遣："),
        "escalated": _("已升级"),
        "no_elder": _("（未关联老人）"),
        "mute": _("🔔 静音"),
        "unmute": _("🔇 已静音，点击恢复"),
        "no_audio": _("此浏览器不支持提示音"),
        "failed": _("操作失败，请重试"),
        "targets": {value: str(label) for value, label in DispatchTarget.choices},
    }


def _service_level_context(user: Any) -> dict[str, Any]:
    return {"level": selectors.service_level(user, since=_today_start()), "now": timezone.now()}


# --- the console ----------------------------------------------------------------------------------
@login_required
def console(request):
    """告警中心: the open alarms, live (WebSocket), with sound, one-click actions and the service level."""
    user = request.user
    _require_handler(user)
    alarms, counts, total = _open_alarms(user)
    context = {
        "alarms": alarms,
        "counts": [(value, label, counts.get(value, 0)) for value, label in Severity.choices],
        "total": total,
        "limit": CONSOLE_LIMIT,
        "targets": DispatchTarget.choices,
        "outcomes": Outcome.choices,
        "urls": _console_urls(),
        "text": _console_text(),
        **_service_level_context(user),
    }
    return render(request, "monitoring/console.html", context)


@login_required
def console_alarms(request):
    """The console's list again as JSON (after a reconnection, alarms may have been missed)."""
    user = request.user
    _require_handler(user)
    alarms, counts, total = _open_alarms(user)
    return JsonResponse({"alarms": alarms, "counts": counts, "total": total, "limit": CONSOLE_LIMIT})


@login_required
def service_level(request):
    """The service-level panel (htmx fragment): today's answer times against the TEC targets."""
    _require_handler(request.user)
    return render(request, "monitoring/_service_level.html", _service_level_context(request.user))


# --- one alarm ------------------------------------------------------------------------------------
def _map_options(card: dict[str, Any] | None) -> dict[str, Any] | None:
    position = (card or {}).get("position")
    if not position:
        return None
    if isinstance(position, dict):
        lat, lng = position.get("latitude"), position.get("longitude")
    else:
        lat, lng = position[0], position[1]
    if lat is None or lng is None:
        return None
    return {
        "position": [lat, lng],
        "tiles": settings.MAP_TILE_URL,
        "attribution": settings.MAP_ATTRIBUTION,
        "label": (card or {}).get("name") or "",
    }


# The numbers a reading carries (messages.FIELDS), as a person reads them.
VALUE_LABELS = {
    "level": "浓度",
    "count": "次数",
    "open": "开门",
    "in_bed": "在床",
    "systolic": "收缩压",
    "diastolic": "舒张压",
    "pulse": "脉搏",
    "bpm": "心率",
    "litres": "累计用水（升）",
    "flow_lpm": "流量（升/分）",
    "kwh": "累计用电（千瓦时）",
    "watts": "功率（瓦）",
    "m3": "累计用气（立方米）",
}


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _values_text(values: dict[str, Any]) -> str:
    return " · ".join(
        f"{VALUE_LABELS.get(name, name)} {_number(value)}"
        for name, value in values.items()
        if value is not None
    )


def _history(alarm: Alarm) -> list[dict[str, Any]]:
    rows = []
    for step in selectors.alarm_history(alarm):
        facts = []
        if step.target:
            facts.append(str(step.get_target_display()))
        data = step.data or {}
        if "answer_seconds" in data:
            facts.append(_("响应用时 %(s)s 秒") % {"s": _number(float(data["answer_seconds"]))})
        if data.get("implicit"):
            facts.append(_("随处置一并响应"))
        if "level" in data and step.action == "escalate":
            facts.append(_("第 %(n)s 次升级") % {"n": data["level"]})
        if "outcome" in data:
            facts.append(
                str(Outcome(data["outcome"]).label) if data["outcome"] in Outcome.values else data["outcome"]
            )
        rows.append(
            {
                "at": step.at,
                "action": step.action,
                "label": services.ACTION_LABELS.get(step.action, step.action),
                "actor": step.actor_name,
                "facts": "，".join(facts),
                "note": step.note,
            }
        )
    return rows


def _card(user: Any, alarm: Alarm, *, unmasked: bool = False) -> dict[str, Any] | None:
    if not alarm.elder_id:
        return None
    card = selectors.elder_card(user, alarm.elder, unmasked=unmasked)
    for reading in card["readings"]:
        reading["text"] = _values_text(reading["values"])
    for past in card["alarms"]:
        past["severity_label"] = str(Severity(past["severity"]).label)
    return card


def _alarm_page(request: Any, alarm: Alarm, *, error: DomainError | None = None, status: int = 200):
    user = request.user
    card = _card(user, alarm)
    context = {
        "alarm": alarm,
        "card": card,
        "map": _map_options(card),
        "history": _history(alarm),
        "targets": DispatchTarget.choices,
        "outcomes": Outcome.choices,
        "is_open": alarm.status in OPEN_ALARM_STATUSES,
        "may_see_numbers": user.has_perm(Perm.PII_VIEW),
        "may_open_elder": user.has_perm(Perm.ELDERS_VIEW),
        "error": error,
    }
    return render(request, "monitoring/alarm_detail.html", context, status=status)


@login_required
def alarm_detail(request, alarm_id: int):
    _require_handler(request.user)
    return _alarm_page(request, selectors.alarm_get(request.user, alarm_id))


@login_required
@require_POST
def card_reveal(request, alarm_id: int):
    """htmx: the elder's and the contacts' phone numbers unmasked, for a role with pii.view (audited)."""
    _require_handler(request.user)
    alarm = selectors.alarm_get(request.user, alarm_id)
    if not alarm.elder_id:
        raise NotFound("该告警未关联老人")
    card = _card(request.user, alarm, unmasked=True)
    return render(
        request, "monitoring/_contacts.html", {"alarm": alarm, "card": card, "may_see_numbers": True}
    )


def _back(request: Any, alarm_id: int) -> str:
    target = (request.POST.get("next") or "").strip()
    if target.startswith("/monitoring/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return reverse("monitoring:alarm", args=[alarm_id])


def _act(request: Any, alarm_id: int, run: Callable[[Alarm], Any], done: str) -> HttpResponse:
    """Run one action's service on an alarm in scope. JSON (the console): the alarm again, or the error
    with its status. A form: a message, back to where the form was; a refusal is a page of its own."""
    user = request.user
    as_json = _wants_json(request)
    try:
        _require_handler(user)
        alarm = selectors.alarm_get(user, alarm_id)
        run(alarm)
    except DomainError as error:
        if as_json:
            return JsonResponse(error.as_dict(), status=error.status)
        if isinstance(error, PermissionDenied | NotFound):
            raise
        messages.error(request, _("告警 No.%(pk)s：%(message)s") % {"pk": alarm_id, "message": error.message})
        return redirect(_back(request, alarm_id))
    message = done % {"pk": alarm.pk}
    if as_json:
        return JsonResponse({"message": message, "alarm": _alarm_payload(alarm)})
    messages.success(request, message)
    return redirect(_back(request, alarm.pk))


@login_required
@require_POST
def alarm_acknowledge(request, alarm_id: int):
    """响应: the operator has taken the alarm (the answer time the service level counts)."""
    return _act(
        request,
        alarm_id,
        lambda alarm: services.alarm_acknowledge(actor=request.user, alarm=alarm),
        _("告警 No.%(pk)s 已响应"),
    )


@login_required
@require_POST
def alarm_dispatch(request, alarm_id: int):
    """派遣: family, the community worker, a provider or 120 (several at once)."""
    return _act(
        request,
        alarm_id,
        lambda alarm: services.alarm_dispatch(
            actor=request.user,
            alarm=alarm,
            targets=request.POST.getlist("targets"),
            note=request.POST.get("note", "").strip(),
        ),
        _("告警 No.%(pk)s 已派遣"),
    )


@login_required
@require_POST
def alarm_resolve(request, alarm_id: int):
    """处置完毕: with its outcome and a note."""
    return _act(
        request,
        alarm_id,
        lambda alarm: services.alarm_resolve(
            actor=request.user,
            alarm=alarm,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", "").strip(),
        ),
        _("告警 No.%(pk)s 已处置完毕"),
    )


def _answer_time(alarm: Alarm) -> tuple[str, bool]:
    """How long the alarm waited for an operator (m:ss), and whether that was over 60 s."""
    if not alarm.acknowledged_at:
        return "", False
    seconds = max(0, int((alarm.acknowledged_at - alarm.raised_at).total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}", seconds > 60


# --- the list -------------------------------------------------------------------------------------
def _choice(params: Any, name: str, values: list[str], label: str) -> str:
    value = params.get(name, "").strip()
    if value and value not in values:
        raise InvalidInput(f"{label}“{value}”不在可选范围内", field=name)
    return value


@login_required
def alarm_list(request):
    """告警记录: every alarm in the user's scope, with filters and pages."""
    user = request.user
    _require_handler(user)
    params = request.GET
    filters: dict[str, Any] = {"status": "", "severity": "", "rule": "", "region": ""}
    error = None
    try:
        filters["status"] = _choice(params, "status", [*AlarmStatus.values, "open"], _("状态"))
        filters["severity"] = _choice(params, "severity", Severity.values, _("级别"))
        filters["rule"] = _choice(params, "rule", Rule.values, _("规则"))
        filters["region"] = params.get("region", "").strip()
        queryset = selectors.alarm_list(
            user,
            status=filters["status"] if filters["status"] not in ("", "open") else None,
            severity=filters["severity"] or None,
            rule=filters["rule"] or None,
            region=filters["region"] or None,
            open_only=filters["status"] == "open",
        )
    except InvalidInput as problem:
        error = problem
        queryset = selectors.alarm_list(user)
        filters = dict.fromkeys(filters, "")
    queryset = queryset.select_related("elder", "region", "acknowledged_by")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    for alarm in page.object_list:
        alarm.answer_text, alarm.answer_late = _answer_time(alarm)
    chosen = {k: v for k, v in filters.items() if v}
    context = {
        "page": page,
        "filters": filters,
        "error": error,
        "statuses": [("open", _("未处置（全部）")), *AlarmStatus.choices],
        "severities": Severity.choices,
        "rules": Rule.choices,
        "region_levels": region_choices(user, filters["region"])
        if user.region_id or user.is_superuser
        else [],
        "query": urlencode(chosen),
        "filtered": bool(chosen),
    }
    return render(request, "monitoring/alarm_list.html", context)
