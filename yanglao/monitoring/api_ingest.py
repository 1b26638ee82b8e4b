"""HTTP ingest of device telemetry (DOMAIN.md §8): the same messages as MQTT, for devices and gateways
that speak HTTP, and for platforms without a broker.

    POST /api/v1/ingest            one native message (messages.py) or a JSON array of up to 1,000
    POST /api/v1/ingest/{vendor}   a vendor's own payload, translated by adapters/<vendor>

Authentication: ``Authorization: Device <token>``, the device's own token (tokens.issue); the API's
bearer tokens and sessions are not accepted here. A device posts only its own readings: a message without
``serial`` takes the device's, and one naming another serial refuses the whole request (403, field
"serial"), nothing stored.

The answer is **200** with ingest.Result.as_dict() once the batch is committed — the request is complete
when it returns (not 202: nothing is left to do later): ``received``, ``stored``, ``duplicates`` (a
message id seen before: ignored, so a device may safely send again a request whose answer it did not get),
``rejected`` with ``problems`` naming the field of each refused message, ``alarms_raised``,
``alarms_folded``. Errors in the API's shape {code, message, details}: 401 no or unknown token, 403
another device's serial or a retired device, 404 unknown vendor, 400 not JSON / more than 1,000
messages / an untranslatable vendor payload, 413 a body over 1 MiB.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.security import APIKeyHeader

from yanglao.core.errors import DomainError, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from yanglao.monitoring import adapters, ingest, tokens
from yanglao.monitoring.enums import DeviceStatus
from yanglao.monitoring.models import Device

MAX_BODY_BYTES = 1024 * 1024
MAX_MESSAGES = 1000


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class DeviceToken(APIKeyHeader):
    """``Authorization: Device <token>``: the token issued to one device (yanglao.monitoring.tokens)."""

    param_name = "Authorization"
    openapi_description = "Device token: `Authorization: Device dev_…` (issued once per device)"

    def authenticate(self, request: HttpRequest, key: str | None) -> Device:
        scheme, _, token = (key or "").strip().partition(" ")
        if scheme.lower() != "device" or not token.strip():
            raise NotAuthenticated(
                "需要设备令牌：请在 Authorization 头中提供 Device <令牌>", code="not_authenticated"
            )
        device = tokens.device_for(token.strip())
        if device is None:
            raise NotAuthenticated("设备令牌无效或已更换", code="not_authenticated")
        if device.status != DeviceStatus.ACTIVE:
            raise PermissionDenied("该设备已停用或拆除，不能上报数据")
        return device


router = Router(tags=["telemetry"], auth=DeviceToken())

_RESULT_DOC = {
    "200": {
        "description": "Stored and acted on (ingest.Result): received, stored, duplicates, rejected, "
        "alarms_raised, alarms_folded, problems [{index|id, field, problem}]",
    }
}


def _body(request: HttpRequest) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if (declared.isdigit() and int(declared) > MAX_BODY_BYTES) or len(request.body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"请求体超过 {MAX_BODY_BYTES // 1024} KiB：请分批上报", field="body")
    return request.body


def _own(messages: list[Any], device: Device) -> list[Any]:
    """The messages, each with the device's serial; refuse the request if one names another device."""
    others = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue  # ingest refuses it alone, naming the field
        serial = message.setdefault("serial", device.serial)
        if serial != device.serial:
            others.append(
                {"field": "serial", "index": index, "message": f"不是本设备的序列号：{str(serial)[:64]}"}
            )
    if others:
        raise PermissionDenied(
            "设备只能上报自己的数据（serial 与令牌所属设备不符）", field="serial", details=others
        )
    return messages


def _store(
    messages: list[Any], device: Device, problems: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    if len(messages) > MAX_MESSAGES:
        raise InvalidInput(
            f"一次最多上报 {MAX_MESSAGES} 条消息（本次 {len(messages)} 条）",
            field="messages",
            code="too_many",
        )
    result = ingest.process(_own(messages, device)).as_dict()
    if problems:
        result["received"] += len(problems)
        result["rejected"] += len(problems)
        result["problems"] = (problems + result["problems"])[:50]
    return result


@router.post(
    "/ingest",
    summary="Device messages in the platform's format",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array"}]}}},
        },
        "responses": _RESULT_DOC,
    },
)
def post_ingest(request: HttpRequest) -> dict[str, Any]:
    """One message or an array of up to 1,000, each `{id, serial, type, at, battery?, data?}`."""
    device: Device = request.auth  # type: ignore[attr-defined]
    try:
        body = json.loads(_body(request))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("请求体不是 JSON", field="body") from None
    messages = body if isinstance(body, list) else [body]
    return _store(messages, device)


@router.post(
    "/ingest/{vendor}",
    summary="A device vendor's own payload",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        },
        "responses": _RESULT_DOC,
    },
)
def post_vendor_ingest(request: HttpRequest, vendor: str) -> dict[str, Any]:
    """The payload as the vendor sends it (adapters/<vendor> documents each shape)."""
    device: Device = request.auth  # type: ignore[attr-defined]
    body = _body(request)
    try:
        translation = adapters.translate_all(vendor, body)
    except adapters.UnknownVendor as error:
        raise NotFound(
            f"未知的设备厂商：{vendor[:40]}（支持：{'、'.join(adapters.vendors())}）", field="vendor"
        ) from error
    except adapters.AdapterError as error:
        raise InvalidInput(f"无法解析 {vendor} 的数据：{error.problem}", field=error.field) from error
    return _store(translation.messages, device, translation.problems)
