"""Encryption of personal data at rest (AES-256-GCM) and keyed hashes for exact lookup (HMAC-SHA256).

A stored value is `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The key id travels with the value,
so keys can rotate: YANGLAO_PII_KEY lists keys, the first encrypts, any listed key decrypts, and
`yanglao rotate_pii_keys` re-encrypts old values with the first.
The lookup hash uses its own key, which never rotates, so an exact search by ID number keeps working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "v1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored value cannot be decrypted: its key is not configured or the value was altered."""


def _keys() -> dict[str, bytes]:
    return settings.PII_KEYS


def current_key_id() -> str:
    return next(iter(_keys()))


@lru_cache(maxsize=16)
def _cipher(key: bytes) -> AESGCM:
    # Building the cipher costs about as much as sealing one short value; bulk work seals millions.
    return AESGCM(key)


def encrypt(plaintext: str) -> str:
    key_id = current_key_id()
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(_keys()[key_id]).encrypt(nonce, plaintext.encode(), key_id.encode())
    return f"{PREFIX}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def key_id_of(stored: str) -> str:
    return stored.split(":", 2)[1]


def decrypt(stored: str) -> str:
    try:
        prefix, key_id, payload = stored.split(":", 2)
    except ValueError:
        raise DecryptionError("stored value is not in the v1:<key>:<data> form") from None
    if prefix != PREFIX:
        raise DecryptionError(f"unknown encryption format {prefix!r}")
    key = _keys().get(key_id)
    if key is None:
        raise DecryptionError(f"encryption key {key_id!r} is not configured in YANGLAO_PII_KEY")
    raw = base64.b64decode(payload)
    try:
        # The key id is authenticated too, so a value cannot be re-labelled to another key.
        return _cipher(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key_id.encode()).decode()
    except InvalidTag:
        raise DecryptionError("stored value failed authentication (altered or wrong key)") from None


def lookup_hash(value: str, *, normalize: Callable[[str], str] | None = None) -> str:
    """Keyed hash for exact lookup; the same normalisation must be applied when storing and searching."""
    text = normalize(value) if normalize else value
    return hmac.new(settings.PII_HASH_KEY, text.encode(), hashlib.sha256).hexdigest()
