"""Device screens (DOMAIN.md §8): the list with its filters and the online-rate table, the register form
(opened from an elder's page with ?elder=ID), the device's page with its recent readings, and the token
and retire actions. Each view parses input, calls one selector or service of monitoring.devices, and
renders; a service's errors are shown beside the fields in Chinese."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yanglao.accounts.scope import require_perm
from yanglao.core.errors import DomainError, InvalidInput, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.monitoring import devices
from yanglao.monitoring.enums import DeviceKind, DeviceStatus, EventType
from yanglao.monitoring.messages import FIELDS
from yanglao.monitoring.models import Device
from yanglao.providers.forms import BLANK, DateInput, StyledForm
from yanglao.registry import selectors as registry_selectors
from yanglao.registry.views import region_choices

PAGE_SIZE = 50


class DeviceForm(StyledForm):
    kind = forms.ChoiceField(label=gettext_lazy("设备类型"), choices=BLANK + DeviceKind.choices)
    vendor = forms.CharField(label=gettext_lazy("厂商"), max_length=40)
    model = forms.CharField(label=gettext_lazy("型号"), max_length=60, required=False)
    serial = forms.CharField(
        label=gettext_lazy("设备序列号"),
        max_length=64,
        help_text=gettext_lazy("设备机身或包装上的序列号；字母、数字或 . _ : -，平台内唯一"),
    )
    installed_on = forms.DateField(label=gettext_lazy("安装日期"), required=False, widget=DateInput())
    elder = forms.IntegerField(
        label=gettext_lazy("老年人档案编号"),
        required=False,
        help_text=gettext_lazy("从老人档案页点“登记设备”进入时已自动填写"),
    )
    household = forms.IntegerField(
        label=gettext_lazy("家庭户编号"),
        required=False,
        help_text=gettext_lazy(
            "留空则为该老人所在的家庭户；只装在家里、不属于某位老人的设备（如烟雾报警器）可只填家庭户"
        ),
    )


class DeviceEditForm(DeviceForm):
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        choices=[
            (DeviceStatus.ACTIVE.value, DeviceStatus.ACTIVE.label),
            (DeviceStatus.INACTIVE.value, DeviceStatus.INACTIVE.label),
        ],
        help_text=gettext_lazy("停用的设备发来的数据将被拒收；拆除请在设备页操作"),
    )


def _may_view(user: Any) -> bool:
    return any(user.has_perm(p) for p in devices.VIEW_PERMS)


def _require_view(user: Any) -> None:
    if not _may_view(user):
        raise PermissionDenied(_("您的角色没有查看设备的权限"))


def _filters(params) -> devices.DeviceFilter:
    elder = params.get("elder", "").strip()
    return devices.DeviceFilter(
        kind=params.get("kind", "").strip(),
        status=params.get("status", "").strip(),
        region=params.get("region", "").strip(),
        vendor=params.get("vendor", "").strip(),
        online=params.get("online", "").strip(),
        q=params.get("q", "").strip(),
        elder=int(elder) if elder.isdigit() else None,
    )


def _percent(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        row["percent"] = None if row["rate"] is None else round(row["rate"] * 100, 1)
    return rows


@login_required
def device_list(request):
    """Devices in the user's region with filters, search and pages (htmx requests get only the results),
    and the online rate by kind and by child region of the region chosen."""
    _require_view(request.user)
    filters = _filters(request.GET)
    error = None
    try:
        queryset = devices.device_list(request.user, filters)
    except InvalidInput as problem:
        error, queryset = problem, devices.devices_visible(request.user).none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    window = filters.hours or devices.offline_hours()
    context: dict[str, Any] = {
        "filters": filters,
        "page": page,
        "error": error,
        "query": query.urlencode(),
        "window": window,
        "cutoff": timezone.now() - timedelta(hours=window),
        "may_manage": request.user.has_perm(Perm.DEVICES_MANAGE),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "monitoring/device_results.html", context)
    rates: list[dict[str, Any]] = []
    if error is None:
        try:
            rates = _percent(devices.online_rate(request.user, region=filters.region or None))
        except DomainError as problem:
            error = problem
    context.update(
        kinds=DeviceKind.choices,
        statuses=DeviceStatus.choices,
        vendors=devices.vendors(request.user),
        region_levels=region_choices(request.user, filters.region)
        if request.user.region_id or request.user.is_superuser
        else [],
        error=error,
        rate_total=next((r for r in rates if r["group"] == "total"), None),
        rate_kinds=[r for r in rates if r["group"] == "kind"],
        rate_regions=[r for r in rates if r["group"] == "region"],
    )
    return render(request, "monitoring/device_list.html", context)


@login_required
def device_create(request):
    require_perm(request.user, Perm.DEVICES_MANAGE)
    initial: dict[str, Any] = {"installed_on": timezone.localdate()}
    elder = None
    wanted = request.GET.get("elder", "").strip()
    if wanted.isdigit():
        elder = registry_selectors.elder_get(request.user, int(wanted))
        initial["elder"] = elder.pk
    form = DeviceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            device = devices.device_register(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("已登记设备 %(serial)s") % {"serial": device.serial})
            return redirect("devices:detail", device_id=device.pk)
    return render(request, "monitoring/device_form.html", {"form": form, "elder": elder, "creating": True})


@login_required
def device_edit(request, device_id: int):
    device = devices.device_get(request.user, device_id)
    require_perm(request.user, Perm.DEVICES_MANAGE)
    initial = {
        "kind": device.kind,
        "vendor": device.vendor,
        "model": device.model,
        "serial": device.serial,
        "installed_on": device.installed_on,
        "elder": device.elder_id,
        "household": device.household_id,
        "status": device.status,
    }
    form = DeviceEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        try:
            devices.device_update(actor=request.user, device=device, **changes)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("设备信息已保存") if changes else _("没有需要保存的修改"))
            return redirect("devices:detail", device_id=device.pk)
    return render(request, "monitoring/device_form.html", {"form": form, "device": device, "creating": False})


def _readings(device: Device) -> list[dict[str, Any]]:
    rows = []
    for reading in devices.recent_readings(device):
        names = FIELDS.get(EventType(reading.type), ())
        values = [
            (n, v) for n, v in zip(names, (reading.value1, reading.value2, reading.value3), strict=False)
        ]
        rows.append(
            {
                "at": reading.at,
                "received_at": reading.received_at,
                "type": reading.get_type_display(),
                "values": ", ".join(f"{n}={v:g}" for n, v in values if v is not None),
                "message_id": reading.message_id,
            }
        )
    return rows


@login_required
def device_detail(request, device_id: int, token: str = ""):
    device = devices.device_get(request.user, device_id)
    window = devices.offline_hours()
    seen = device.last_seen_at
    context = {
        "device": device,
        "readings": _readings(device),
        "window": window,
        "online": seen is not None and seen >= timezone.now() - timedelta(hours=window),
        "may_manage": request.user.has_perm(Perm.DEVICES_MANAGE),
        "token": token,
    }
    response = render(request, "monitoring/device_detail.html", context)
    if token:
        # The token is shown this once: no cache, no back button bringing it back.
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def device_token(request, device_id: int):
    device = devices.device_get(request.user, device_id)
    require_perm(request.user, Perm.DEVICES_MANAGE)
    try:
        raw = devices.device_issue_token(actor=request.user, device=device)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("devices:detail", device_id=device.pk)
    device.refresh_from_db()
    return device_detail(request, device.pk, token=raw)


@login_required
@require_POST
def device_retire(request, device_id: int):
    device = devices.device_get(request.user, device_id)
    require_perm(request.user, Perm.DEVICES_MANAGE)
    try:
        devices.device_retire(actor=request.user, device=device, reason=request.POST.get("reason", ""))
    except DomainError as error:
        messages.error(request, _("未拆除：") + error.message)
    else:
        messages.success(request, _("设备 %(serial)s 已拆除，其数据将不再接收") % {"serial": device.serial})
    return redirect("devices:detail", device_id=device.pk)
