"""Devices in elders' homes (DOMAIN.md §8): register, change, retire, issue an HTTP token (services), and
the reads behind the device pages and the API: scoped lists and the online rate (selectors).

A device belongs to an elder, a household, or both; its region is the community the elder lives in (or
the household's), and that region is what scopes it, and its alarms, for staff. Every write is audited in
its own transaction and, after commit, drops the ingest's device cache, so a retired device is refused and
a new one accepted within this process at once (other processes within ingest.DEVICE_CACHE_SECONDS)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from yanglao.accounts.scope import covers, home_region, is_person, people, require_perm
from yanglao.core import audit, policy
from yanglao.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from yanglao.core.permissions import Perm
from yanglao.monitoring import ingest, policies, tokens
from yanglao.monitoring.enums import DeviceKind, DeviceStatus
from yanglao.monitoring.models import Device, Reading
from yanglao.providers import validation
from yanglao.providers.validation import Problems
from yanglao.regions import codes
from yanglao.regions.models import Region
from yanglao.registry.enums import Status as ElderStatus
from yanglao.registry.models import Elder, Household

# The serial is part of the MQTT topic (yanglao/v1/devices/<serial>/events): no "/", "+", "#" or spaces.
SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
# An elder who has died or moved away gets no new device.
NO_DEVICES_FOR = (ElderStatus.DECEASED, ElderStatus.MOVED_OUT)
EDITABLE = ("kind", "vendor", "model", "serial", "installed_on", "elder", "household", "status")
# Who may read devices: those who install them, those who answer their alarms, those who see the elders.
VIEW_PERMS = (Perm.DEVICES_MANAGE, Perm.ALARMS_HANDLE, Perm.ELDERS_VIEW)
MAX_HOURS = 720


# --- cleaning --------------------------------------------------------------------------------------
def _serial(raw: Any) -> str:
    value = str(raw or "").strip()
    if not value:
        raise InvalidInput("请填写设备序列号", field="serial")
    if not SERIAL.match(value):
        raise InvalidInput(
            f"设备序列号“{value[:70]}”无效：应为1至64位字母、数字或 . _ : -，以字母或数字开头"
            "（序列号是 MQTT 主题的一部分，不能含空格、/、+、#）",
            field="serial",
        )
    return value


def _installed_on(raw: Any) -> date | None:
    if raw in (None, ""):
        return None
    value = validation.day(raw, field="installed_on", label="安装日期", required=False)
    validation.not_after(value, timezone.localdate(), field="installed_on", label="安装日期")
    return value


_STEPS = {
    "kind": lambda v: validation.choice(v, DeviceKind, field="kind", label="设备类型"),
    "vendor": lambda v: validation.text(v, field="vendor", label="厂商", max_length=40, required=True),
    "model": lambda v: validation.text(v, field="model", label="型号", max_length=60),
    "serial": _serial,
    "installed_on": _installed_on,
}


def _elder(raw: Any) -> Elder | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, Elder):
        return raw
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"老年人编号“{raw}”应为数字", field="elder") from None
    found = Elder.objects.select_related("household").filter(pk=pk).first()
    if found is None:
        raise InvalidInput(f"老年人编号 {pk} 不存在", field="elder")
    return found


def _household(raw: Any) -> Household | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, Household):
        return raw
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"家庭户编号“{raw}”应为数字", field="household") from None
    found = Household.objects.filter(pk=pk).first()
    if found is None:
        raise InvalidInput(f"家庭户编号 {pk} 不存在", field="household")
    return found


def _place(elder: Elder | None, household: Household | None) -> tuple[Household | None, str]:
    """The household (the elder's, when not given) and the community the device is in."""
    if elder is None and household is None:
        raise InvalidInput("请选择设备所属的老年人或家庭户", field="elder")
    if elder is not None:
        if elder.status in NO_DEVICES_FOR:
            raise InvalidInput(
                f"{elder.name}的档案状态为“{elder.get_status_display()}”，不能登记设备", field="elder"
            )
        if household is None:
            household = elder.household
        elif elder.household_id is not None and elder.household_id != household.pk:
            raise InvalidInput(f"{elder.name}不是该家庭户的成员", field="household")
        return household, elder.residence_region_id
    assert household is not None
    return household, household.region_id


def _require_place(actor: Any, region_code: str) -> None:
    if is_person(actor) and not covers(actor, region_code):
        raise PermissionDenied("该老人（家庭户）不在您的管辖范围内", field="elder")


def _require_manage(actor: Any, device: Device) -> None:
    """DEVICES_MANAGE over the device's region; a device outside the region answers 404."""
    if is_person(actor):
        if not covers(actor, device.region_id):
            raise NotFound("未找到该设备，或不在您的管辖范围内")
        require_perm(actor, Perm.DEVICES_MANAGE)


def _snapshot(device: Device) -> dict[str, Any]:
    return {
        "kind": device.kind,
        "vendor": device.vendor,
        "model": device.model,
        "serial": device.serial,
        "elder": device.elder_id,
        "household": device.household_id,
        "region": device.region_id,
        "installed_on": device.installed_on.isoformat() if device.installed_on else None,
        "status": device.status,
    }


def _after_commit() -> None:
    transaction.on_commit(ingest.forget_devices)


def _serial_free(serial: str, *, but: int | None = None) -> None:
    taken = Device.objects.filter(serial=serial)
    if but is not None:
        taken = taken.exclude(pk=but)
    if taken.exists():
        raise Conflict(f"设备序列号 {serial} 已登记", field="serial")


# --- services --------------------------------------------------------------------------------------
@transaction.atomic
def device_register(
    *,
    actor: Any,
    kind: Any,
    vendor: Any,
    serial: Any,
    elder: Elder | int | None = None,
    household: Household | int | None = None,
    model: Any = "",
    installed_on: Any = None,
    simulated: bool = False,
) -> Device:
    """Register a device to an elder or a household inside the actor's region (DOMAIN.md §8); a serial is
    registered once in the platform."""
    if is_person(actor):
        require_perm(actor, Perm.DEVICES_MANAGE)
    problems = Problems()
    cleaned = validation.clean_fields(
        {"kind": kind, "vendor": vendor, "model": model, "serial": serial, "installed_on": installed_on},
        _STEPS,
        required=("kind", "vendor", "serial"),
        partial=False,
        problems=problems,
    )
    who = problems.check("elder", lambda: _elder(elder))
    home = problems.check("household", lambda: _household(household))
    problems.raise_any()
    home, region = _place(who, home)
    _require_place(actor, region)
    _serial_free(cleaned["serial"])
    try:
        with transaction.atomic():  # a concurrent registration of the same serial loses here, cleanly
            device = Device.objects.create(
                **cleaned,
                elder=who,
                household=home,
                region_id=region,
                status=DeviceStatus.ACTIVE,
                simulated=simulated,
            )
    except IntegrityError:
        raise Conflict(f"设备序列号 {cleaned['serial']} 已登记", field="serial") from None
    audit.record(actor, "device.register", device, region_code=region, after=_snapshot(device))
    _after_commit()
    return device


@transaction.atomic
def device_update(*, actor: Any, device: Device, **changes: Any) -> Device:
    """Change a device's facts, owner or status (在用/停用); only the fields given are touched. A retired
    (已拆除) device is history and is not changed; moving it to another elder moves its region."""
    _require_manage(actor, device)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput("不能修改的字段：" + "、".join(unknown), field=unknown[0])
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status == DeviceStatus.REMOVED:
        raise Conflict("该设备已拆除，不能再修改", field="status")
    before = _snapshot(device)
    problems = Problems()
    cleaned = validation.clean_fields(
        changes, _STEPS, required=("kind", "vendor", "serial"), partial=True, problems=problems
    )
    if "status" in changes:
        cleaned["status"] = problems.check("status", lambda: _status(changes["status"]))
    who = problems.check("elder", lambda: _elder(changes.get("elder"))) if "elder" in changes else None
    home = (
        problems.check("household", lambda: _household(changes.get("household")))
        if "household" in changes
        else None
    )
    problems.raise_any()
    if "elder" in changes or "household" in changes:
        new_elder = who if "elder" in changes else device.elder
        new_home = home if "household" in changes else (None if "elder" in changes else device.household)
        new_home, region = _place(new_elder, new_home)
        _require_place(actor, region)
        device.elder, device.household, device.region_id = new_elder, new_home, region
    if "serial" in cleaned and cleaned["serial"] != device.serial:
        _serial_free(cleaned["serial"], but=device.pk)
    for name, value in cleaned.items():
        setattr(device, name, value)
    try:
        with transaction.atomic():
            device.save()
    except IntegrityError:
        raise Conflict(f"设备序列号 {device.serial} 已登记", field="serial") from None
    old, new = audit.changed_fields(before, _snapshot(device))
    if new:
        audit.record(actor, "device.update", device, region_code=device.region_id, before=old, after=new)
        _after_commit()
    return device


def _status(raw: Any) -> str:
    value = validation.choice(raw, DeviceStatus, field="status", label="设备状态")
    if value == DeviceStatus.REMOVED:
        raise InvalidInput("拆除设备请使用“拆除”操作（需填写原因）", field="status")
    return value


@transaction.atomic
def device_retire(*, actor: Any, device: Device, reason: Any) -> Device:
    """Retire (拆除) a device: its messages are refused from then on and its HTTP token stops working;
    its readings and alarms stay as history. The reason is required."""
    _require_manage(actor, device)
    why = validation.text(reason, field="reason", label="拆除原因", max_length=200, required=True)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status == DeviceStatus.REMOVED:
        raise Conflict("该设备已经拆除", field="status")
    before = device.status
    device.status = DeviceStatus.REMOVED
    device.token_hash = None
    device.save(update_fields=["status", "token_hash", "updated_at"])
    audit.record(
        actor,
        "device.retire",
        device,
        region_code=device.region_id,
        before={"status": before},
        after={"status": device.status, "reason": why},
    )
    _after_commit()
    return device


@transaction.atomic
def device_issue_token(*, actor: Any, device: Device) -> str:
    """A new HTTP ingest token for the device, returned once (only its SHA-256 is kept); the old one stops
    working. The audit trail records that a token was issued, never the token."""
    _require_manage(actor, device)
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.status == DeviceStatus.REMOVED:
        raise Conflict("该设备已拆除，不能签发令牌", field="status")
    replaced = device.token_hash is not None
    raw = tokens.issue(device)
    audit.record(
        actor,
        "device.token",
        device,
        region_code=device.region_id,
        after={"issued": True, "replaced": replaced},
    )
    _after_commit()
    return raw


# --- selectors -------------------------------------------------------------------------------------
def devices_visible(actor: Any) -> QuerySet[Device]:
    """Devices in the actor's region, for those who install devices, answer alarms or see elders."""
    base = Device.objects.select_related("region", "elder", "household")
    if not getattr(actor, "is_authenticated", False):
        return base.none()
    if not any(actor.has_perm(p) for p in VIEW_PERMS):
        return base.none()
    return people(actor, base, region_field="region_id")


def device_get(actor: Any, device_id: int) -> Device:
    """One device in the actor's scope; outside it the answer is the same as for no such device."""
    found = devices_visible(actor).filter(pk=device_id).first()
    if found is None:
        raise NotFound("未找到该设备，或不在您的管辖范围内")
    return found


def offline_hours(hours: Any = None) -> int:
    """The hours after which a silent device counts as offline: the city's policy value unless given."""
    if hours in (None, ""):
        return int(policy.value(policies.OFFLINE_HOURS))
    try:
        value = int(str(hours).strip())
    except ValueError:
        raise InvalidInput(f"小时数应为整数，而不是“{hours}”", field="hours") from None
    if not 1 <= value <= MAX_HOURS:
        raise InvalidInput(f"小时数应在 1 至 {MAX_HOURS} 之间", field="hours")
    return value


@dataclass
class DeviceFilter:
    """The filters of the device list page and the API: one meaning everywhere."""

    kind: str = ""
    status: str = ""
    region: str = ""
    vendor: str = ""
    online: str = ""  # "online", "offline" or ""
    q: str = ""
    elder: int | None = None
    hours: int | None = None

    def check(self) -> DeviceFilter:
        if self.kind and self.kind not in DeviceKind.values:
            raise InvalidInput(f"设备类型筛选条件“{self.kind}”无效", field="kind")
        if self.status and self.status not in DeviceStatus.values:
            raise InvalidInput(f"设备状态筛选条件“{self.status}”无效", field="status")
        if self.online not in ("", "online", "offline"):
            raise InvalidInput("在线筛选条件应为 online 或 offline", field="online")
        if self.region:
            self.region = codes.normalize(self.region, field="region")
        self.vendor, self.q = self.vendor.strip(), self.q.strip()
        self.hours = offline_hours(self.hours)
        return self

    @property
    def active(self) -> bool:
        return bool(
            self.kind or self.status or self.region or self.vendor or self.online or self.q or self.elder
        )


def device_list(actor: Any, filters: DeviceFilter) -> QuerySet[Device]:
    filters.check()
    queryset = devices_visible(actor)
    if filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.region:
        queryset = queryset.filter(codes.within(filters.region, "region_id"))
    if filters.vendor:
        queryset = queryset.filter(vendor=filters.vendor)
    if filters.elder:
        queryset = queryset.filter(elder_id=filters.elder)
    if filters.online:
        cutoff = timezone.now() - timedelta(hours=filters.hours or 24)
        seen = Q(last_seen_at__gte=cutoff)
        queryset = (
            queryset.filter(seen)
            if filters.online == "online"
            else queryset.filter(~seen | Q(last_seen_at__isnull=True), status=DeviceStatus.ACTIVE)
        )
    if filters.q:
        queryset = queryset.filter(Q(serial__icontains=filters.q) | Q(elder__name=filters.q))
    return queryset.order_by("region_id", "serial")


def vendors(actor: Any) -> list[str]:
    """The vendors of the devices the actor sees (the list page's filter)."""
    return list(
        devices_visible(actor).order_by().values_list("vendor", flat=True).distinct().order_by("vendor")
    )


def recent_readings(device: Device, limit: int = 20) -> list[Reading]:
    return list(Reading.objects.filter(device_id=device.pk).order_by("-at", "-id")[:limit])


def _rate(online: int, active: int) -> float | None:
    return round(online / active, 4) if active else None


def online_rate(actor: Any, *, region: str | None = None, hours: Any = None) -> list[dict[str, Any]]:
    """Active devices and how many were heard from within `hours` (default: the offline policy value),
    per device kind and per child region of `region` (default: the actor's own), plus the total row.
    Two GROUP BY queries over the region's code range, whatever the number of devices.

    Each row: {"group": "total"|"kind"|"region", "key", "label", "active", "online", "rate"} with rate a
    fraction from 0 to 1 (None when there is no active device)."""
    window = offline_hours(hours)
    if region:
        code = codes.normalize(region, field="region")
        if is_person(actor) and not covers(actor, code):
            raise PermissionDenied(f"区域 {code} 不在您的管辖范围内", field="region")
        place = Region.objects.filter(code=code).first()
        if place is None:
            raise InvalidInput(f"行政区划代码“{code}”不存在", field="region")
    else:
        place = home_region(actor)
    cutoff = timezone.now() - timedelta(hours=window)
    active = devices_visible(actor).filter(codes.within(place.code, "region_id"), status=DeviceStatus.ACTIVE)
    counts = {"active": Count("pk"), "online": Count("pk", filter=Q(last_seen_at__gte=cutoff))}
    rows: list[dict[str, Any]] = []
    total = active.order_by().aggregate(**counts)
    rows.append(
        {
            "group": "total",
            "key": place.code,
            "label": place.name,
            "active": total["active"],
            "online": total["online"],
            "rate": _rate(total["online"], total["active"]),
        }
    )
    by_kind = {
        r["kind"]: r for r in active.order_by().values("kind").annotate(**counts).values("kind", *counts)
    }
    for kind in DeviceKind:
        found = by_kind.get(kind.value)
        if found:
            rows.append(
                {
                    "group": "kind",
                    "key": kind.value,
                    "label": str(kind.label),
                    "active": found["active"],
                    "online": found["online"],
                    "rate": _rate(found["online"], found["active"]),
                }
            )
    children = list(Region.objects.filter(parent_id=place.code).order_by("code").values_list("code", "name"))
    if children:
        depth = len(children[0][0])
        by_child = {
            r["child"]: r
            for r in active.order_by()
            .annotate(child=Substr("region_id", 1, depth))
            .values("child")
            .annotate(**counts)
            .values("child", *counts)
        }
        for child_code, name in children:
            found = by_child.get(child_code, {"active": 0, "online": 0})
            rows.append(
                {
                    "group": "region",
                    "key": child_code,
                    "label": name,
                    "active": found["active"],
                    "online": found["online"],
                    "rate": _rate(found["online"], found["active"]),
                }
            )
    return rows
