"""The devices API (DOMAIN.md §8): list, register, read, change and retire devices, issue a device's HTTP
ingest token (returned once), recent readings, and the online rate by kind and by child region. Same
services and selectors as the pages (monitoring.devices).

(No `from __future__ import annotations` here: django-ninja reads `Query[...]` parameters at import.)"""

from datetime import date, datetime, timedelta

from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate
from ninja.responses import Status

from yanglao.core.errors import PermissionDenied
from yanglao.monitoring import devices
from yanglao.monitoring.enums import DeviceKind, EventType
from yanglao.monitoring.messages import FIELDS
from yanglao.monitoring.models import Device, Reading

router = Router(tags=["devices"])

KINDS = ", ".join(DeviceKind.values)


class DeviceIn(Schema):
    kind: str = Field(description=f"one of: {KINDS}")
    vendor: str = Field(description="manufacturer, up to 40 characters")
    serial: str = Field(
        description="the device's serial, unique in the platform: 1–64 letters, digits or . _ : - "
        "(it is part of the MQTT topic)"
    )
    model: str = ""
    elder: int | None = Field(None, description="id of the elder the device serves (its community scopes it)")
    household: int | None = Field(None, description="id of the household (defaults to the elder's)")
    installed_on: date | None = None


class DevicePatch(Schema):
    kind: str | None = None
    vendor: str | None = None
    serial: str | None = None
    model: str | None = None
    elder: int | None = None
    household: int | None = None
    installed_on: date | None = None
    status: str | None = Field(None, description="active (在用) or inactive (停用); retire with /retire")


class RetireIn(Schema):
    reason: str = Field(description="why the device is removed (required)")


class DeviceOut(Schema):
    id: int
    kind: str
    kind_label: str
    vendor: str
    model: str
    serial: str
    elder: int | None
    elder_name: str | None
    household: int | None
    region: str
    region_name: str
    installed_on: date | None
    status: str
    status_label: str
    last_seen_at: datetime | None
    online: bool = Field(description="heard from within the offline policy's hours")
    battery: int | None
    has_token: bool
    simulated: bool
    updated_at: datetime


class TokenOut(Schema):
    device: int
    serial: str
    token: str = Field(description="shown this once; send it as `Authorization: Device <token>`")


class ReadingOut(Schema):
    message_id: str
    type: str
    at: datetime
    received_at: datetime
    values: dict[str, float | None]


class RateOut(Schema):
    group: str = Field(description="total, kind or region")
    key: str = Field(description="the region's code, or the device kind")
    label: str
    active: int
    online: int
    rate: float | None = Field(description="online / active, from 0 to 1; null without active devices")


class DeviceFilters(Schema):
    kind: str = ""
    status: str = ""
    region: str = ""
    vendor: str = ""
    online: str = Field("", description="online or offline (active devices not heard from in time)")
    q: str = Field("", description="part of the serial, or an elder's full name")
    elder: int | None = None


def _out(device: Device, window: int) -> dict:
    seen = device.last_seen_at
    return {
        "id": device.pk,
        "kind": device.kind,
        "kind_label": str(device.get_kind_display()),
        "vendor": device.vendor,
        "model": device.model,
        "serial": device.serial,
        "elder": device.elder_id,
        "elder_name": device.elder.name if device.elder_id else None,
        "household": device.household_id,
        "region": device.region_id,
        "region_name": device.region.name,
        "installed_on": device.installed_on,
        "status": device.status,
        "status_label": str(device.get_status_display()),
        "last_seen_at": seen,
        "online": seen is not None and seen >= timezone.now() - timedelta(hours=window),
        "battery": device.battery,
        "has_token": bool(device.token_hash),
        "simulated": device.simulated,
        "updated_at": device.updated_at,
    }


def _reading_out(reading: Reading) -> dict:
    names = FIELDS.get(EventType(reading.type), ())
    values = (reading.value1, reading.value2, reading.value3)
    return {
        "message_id": reading.message_id,
        "type": reading.type,
        "at": reading.at,
        "received_at": reading.received_at,
        "values": dict(zip(names, values, strict=False)),
    }


def _require_view(request) -> None:
    if not any(request.user.has_perm(p) for p in devices.VIEW_PERMS):
        raise PermissionDenied("您的角色没有查看设备的权限")


class _Rows:
    """A lazily sliced page of devices shaped for the API (one query per page)."""

    def __init__(self, queryset, window: int) -> None:
        self.queryset, self.window = queryset, window

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        return [_out(d, self.window) for d in self.queryset[item]]


@router.get("/devices", response=list[DeviceOut], summary="List and search devices in the caller's scope")
@paginate(PageNumberPagination, page_size=50)
def list_devices(request, filters: Query[DeviceFilters]):
    """Filters: `kind`, `status` (active, inactive, removed), `region` (any division code), `vendor`,
    `online` (online / offline), `q` (part of a serial, or an elder's full name), `elder` (id)."""
    _require_view(request)
    chosen = devices.DeviceFilter(
        kind=filters.kind,
        status=filters.status,
        region=filters.region,
        vendor=filters.vendor,
        online=filters.online,
        q=filters.q,
        elder=filters.elder,
    )
    queryset = devices.device_list(request.user, chosen)
    return _Rows(queryset, chosen.hours or 24)


@router.post("/devices", response={201: DeviceOut}, summary="Register a device (devices.manage)")
def create_device(request, body: DeviceIn):
    device = devices.device_register(actor=request.user, **body.dict())
    return Status(201, _out(devices.device_get(request.user, device.pk), devices.offline_hours()))


@router.get("/devices/online-rate", response=list[RateOut], summary="Online rate by kind and by child region")
def get_online_rate(request, region: str = "", hours: int | None = None):
    """Active devices under `region` (default: the caller's own) and how many were heard from within
    `hours` (default: the policy value monitoring.offline_hours), as a total row, one row per device
    kind and one per child region."""
    _require_view(request)
    return devices.online_rate(request.user, region=region or None, hours=hours)


@router.get("/devices/{device_id}", response=DeviceOut, summary="One device")
def get_device(request, device_id: int):
    return _out(devices.device_get(request.user, device_id), devices.offline_hours())


@router.patch("/devices/{device_id}", response=DeviceOut, summary="Change a device (devices.manage)")
def patch_device(request, device_id: int, body: DevicePatch):
    """Only the fields sent are changed; `elder` or `household` moves the device (and its region)."""
    device = devices.device_get(request.user, device_id)
    changes = body.dict(exclude_unset=True)
    changes = {
        k: v for k, v in changes.items() if v is not None or k in ("household", "installed_on", "elder")
    }
    devices.device_update(actor=request.user, device=device, **changes)
    return _out(devices.device_get(request.user, device_id), devices.offline_hours())


@router.post("/devices/{device_id}/retire", response=DeviceOut, summary="Retire (remove) a device")
def retire_device(request, device_id: int, body: RetireIn):
    """Status becomes removed; its messages are refused and its HTTP token stops working."""
    device = devices.device_get(request.user, device_id)
    devices.device_retire(actor=request.user, device=device, reason=body.reason)
    return _out(devices.device_get(request.user, device_id), devices.offline_hours())


@router.post("/devices/{device_id}/token", response={201: TokenOut}, summary="Issue the device's HTTP token")
def issue_token(request, device_id: int):
    """A new token for `POST /api/v1/ingest` (`Authorization: Device <token>`), returned this once; the
    device's previous token stops working."""
    device = devices.device_get(request.user, device_id)
    raw = devices.device_issue_token(actor=request.user, device=device)
    return Status(201, {"device": device.pk, "serial": device.serial, "token": raw})


@router.get("/devices/{device_id}/readings", response=list[ReadingOut], summary="A device's recent readings")
def list_readings(request, device_id: int, limit: int = Query(20, ge=1, le=200)):
    device = devices.device_get(request.user, device_id)
    return [_reading_out(r) for r in devices.recent_readings(device, limit)]
