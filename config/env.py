"""Strict parsing of environment variables for config/settings.py.

A wrong value stops start-up with a message that names the variable, the value and what it accepts,
because a platform that silently falls back to a default with people's data in it is worse than one
that does not start.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import zoneinfo
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def _bad(name: str, value: str, accepts: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Environment variable {name}={value!r} is not valid: {accepts}.")


def raw(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def string(name: str, default: str) -> str:
    value = raw(name)
    return default if value is None else value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise _bad(name, value, "use one of true/false, yes/no, on/off, 1/0")


def integer(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(name, value, "use a whole number") from None
    if minimum is not None and number < minimum:
        raise _bad(
            name,
            value,
            f"use a whole number of at least {minimum}"
            + (f" and at most {maximum}" if maximum is not None else ""),
        )
    if maximum is not None and number > maximum:
        raise _bad(name, value, f"use a whole number of at most {maximum}")
    return number


def choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = raw(name)
    if value is None:
        return default
    if value not in choices:
        raise _bad(name, value, "use one of " + ", ".join(choices))
    return value


def time_zone(name: str, default: str) -> str:
    value = string(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _bad(name, value, "use an IANA time zone name such as Asia/Shanghai") from None
    return value


def csv_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def url(name: str, schemes: tuple[str, ...]) -> str | None:
    """A URL whose scheme is one of `schemes` and that names a host, or None when unset."""
    value = raw(name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.hostname or parts.path):
        raise _bad(name, value, "use a URL starting with " + " or ".join(f"{s}://" for s in schemes))
    return value


def pii_keys(name: str, value: str) -> dict[str, bytes]:
    """Parse `id:base64key[,id:base64key…]`: the first key encrypts, all of them decrypt (rotation)."""
    keys: dict[str, bytes] = {}
    for item in value.split(","):
        key_id, sep, encoded = item.strip().partition(":")
        try:
            key = base64.b64decode(encoded, validate=True) if sep else b""
        except (binascii.Error, ValueError):
            key = b""
        if not key_id.isalnum() or len(key) != 32:
            raise _bad(
                name,
                "…",
                "use comma-separated entries 'keyid:base64key', each key 32 bytes (AES-256) "
                "and each id letters or digits; the first entry encrypts",
            )
        keys[key_id] = key
    return keys


def generated_secrets(path: Path) -> dict[str, str]:
    """Secrets for a development or demo install, made on first run and kept in var/ (never committed)."""
    if path.exists():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    made = {
        "secret_key": secrets.token_urlsafe(50),
        "pii_key": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "pii_hash_key": secrets.token_urlsafe(32),
    }
    # Create the file with owner-only permissions before writing the secrets into it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(made, handle, indent=2)
    return made
