"""Vendor adapters: each device vendor's own message shape translated into the platform's native format
(messages.py), one package per vendor (DOMAIN.md §8).

A vendor's payload arrives over MQTT on ``yanglao/v1/vendors/<vendor>/...`` or over HTTP at
``POST /api/v1/ingest/<vendor>``; the vendor segment picks the adapter here. One payload may carry several
readings, so an adapter returns a list of native messages. Native message ids are prefixed with the
vendor's code so that two vendors' message ids never collide; the id is what makes a re-delivered message
a no-op, so an adapter derives it only from the vendor's own message or reading id, never from the time of
arrival.

- `translate(vendor, payload) -> list[dict]`: strict, raises AdapterError on the first problem;
- `translate_all(vendor, payload) -> Translation`: what the ingest paths use: the readings that could be
  translated, and a problem (naming the field) for each one that could not, so one bad reading in a
  gateway's batch does not hold back the others.

Adding a vendor: a package ``adapters/<code>/`` whose ``__init__`` documents the vendor's shape and defines
``translate_all(payload) -> Translation`` and ``URGENT`` (a bytes pattern found in a payload that may carry
an SOS, a fall, smoke or gas: the MQTT worker takes such payloads ahead of the rest; a false match only
costs a small batch), and its code in VENDORS below.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# code -> module; the code is the topic segment and the URL segment.
VENDORS: dict[str, str] = {
    "anxin": "yanglao.monitoring.adapters.anxin",
    "jiahe": "yanglao.monitoring.adapters.jiahe",
}


class AdapterError(ValueError):
    """A payload (or one reading in it) that the vendor's adapter cannot translate; `field` names where."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class UnknownVendor(AdapterError):
    def __init__(self, vendor: str) -> None:
        known = ", ".join(sorted(VENDORS))
        super().__init__("vendor", f"unknown vendor {vendor[:40]!r} (known: {known})")
        self.vendor = vendor


@dataclass
class Translation:
    messages: list[dict[str, Any]] = field(default_factory=list)
    # {"index": n, "field": ..., "problem": ...}: index is the reading's position in the payload.
    problems: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, index: int, error: AdapterError) -> None:
        self.problems.append({"index": index, "field": error.field, "problem": error.problem})


def vendors() -> list[str]:
    return sorted(VENDORS)


def _module(vendor: str) -> Any:
    path = VENDORS.get(vendor)
    if path is None:
        raise UnknownVendor(vendor)
    return importlib.import_module(path)


def translate_all(vendor: str, payload: bytes | bytearray | str | dict[str, Any] | list[Any]) -> Translation:
    """The readings of one vendor payload in the native format, and the problems of those that are not
    translatable. Raises UnknownVendor, or AdapterError when the payload as a whole is unreadable."""
    result: Translation = _module(vendor).translate_all(payload)
    return result


def looks_urgent(vendor: str, payload: bytes | bytearray) -> bool:
    """Whether a vendor payload may carry an SOS, a fall, smoke or gas (its adapter's URGENT pattern);
    an unknown vendor's is not (it is refused in the normal lane)."""
    try:
        pattern = _module(vendor).URGENT
    except UnknownVendor:
        return False
    return pattern.search(payload) is not None


def translate(
    vendor: str, payload: bytes | bytearray | str | dict[str, Any] | list[Any]
) -> list[dict[str, Any]]:
    """The native messages of one vendor payload; raises AdapterError naming the first bad field."""
    translation = translate_all(vendor, payload)
    if translation.problems:
        first = translation.problems[0]
        raise AdapterError(first["field"], first["problem"])
    return translation.messages


# --- helpers the vendor packages share ----------------------------------------------------------------
def load_json(payload: bytes | str | dict[str, Any] | list[Any]) -> Any:
    if isinstance(payload, bytes | bytearray | str):
        try:
            return json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise AdapterError("payload", "not JSON") from None
    return payload


def as_text(payload: bytes | str | Any) -> str:
    if isinstance(payload, bytes | bytearray):
        try:
            return bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise AdapterError("payload", "not UTF-8 text") from None
    if not isinstance(payload, str):
        raise AdapterError("payload", "expected text")
    return payload


def iso_from_epoch(value: Any, *, field: str, milliseconds: bool) -> str:
    """An epoch time (seconds or milliseconds) as an ISO 8601 time in UTC."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AdapterError(field, "missing or not an epoch number")
    seconds = value / 1000 if milliseconds else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        raise AdapterError(field, "not a valid epoch time") from None


def number(value: Any, *, field: str) -> float | int | None:
    """A number from a vendor field that may be a number or a numeric string; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            raise AdapterError(field, f"not a number: {value[:20]!r}") from None
        return int(parsed) if parsed.is_integer() else parsed
    raise AdapterError(field, "not a number")
