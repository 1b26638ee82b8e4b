"""Device tokens for the HTTP ingest: a random secret shown once when issued, kept only as its SHA-256,
so a stolen database does not let anyone post as a device."""

from __future__ import annotations

import hashlib
import secrets

from yanglao.monitoring.models import Device

PREFIX = "dev_"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue(device: Device) -> str:
    """A new token for the device (the old one stops working). The caller shows it once."""
    raw = PREFIX + secrets.token_urlsafe(32)
    Device.objects.filter(pk=device.pk).update(token_hash=digest(raw))
    device.token_hash = digest(raw)
    return raw


def device_for(raw: str | None) -> Device | None:
    """The device a token belongs to, or None (unknown token, or no token)."""
    if not raw or not raw.startswith(PREFIX):
        return None
    return Device.objects.select_related("region").filter(token_hash=digest(raw.strip())).first()
