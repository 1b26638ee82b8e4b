"""Personal data at rest: AES-GCM with the key id stored beside the value, plus a keyed hash."""

import base64
import os

import pytest
from django.db import connection

from yanglao.accounts.models import User
from yanglao.core import crypto
from yanglao.core.fields import lookup_value


def _raw_column(user_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_hash FROM accounts_user WHERE id = %s", [user_id])
        return cursor.fetchone()


def _key():
    return base64.b64decode(base64.b64encode(os.urandom(32)))


def test_phone_is_stored_encrypted_and_read_back_plain(cast):
    user = cast.community_worker
    user.phone = "+86 138-1234-5678"
    user.save()
    stored, digest = _raw_column(user.pk)
    assert "13812345678" not in stored
    assert stored.startswith("v1:")
    assert User.objects.get(pk=user.pk).phone == "13812345678"
    assert digest == crypto.lookup_hash("13812345678")


def test_exact_lookup_by_any_spelling_of_the_number(cast):
    user = cast.community_worker
    user.phone = "13812345678"
    user.save()
    found = User.objects.filter(phone_hash=lookup_value(User, "phone", "138 1234 5678"))
    assert list(found) == [user]


def test_two_saves_of_one_value_give_different_ciphertexts(cast):
    user = cast.community_worker
    user.phone = "13812345678"
    user.save()
    first, _ = _raw_column(user.pk)
    user.save()
    second, _ = _raw_column(user.pk)
    assert first != second


def test_filtering_on_the_encrypted_column_is_refused(cast):
    with pytest.raises(TypeError, match="encrypted"):
        User.objects.filter(phone="13812345678")


def test_old_values_still_decrypt_after_a_new_key_is_put_first(settings):
    old = crypto.encrypt("13812345678")
    settings.PII_KEYS = {"k2": _key(), **settings.PII_KEYS}
    assert crypto.key_id_of(old) != "k2"
    assert crypto.decrypt(old) == "13812345678"
    assert crypto.key_id_of(crypto.encrypt("13812345678")) == "k2"


def test_a_removed_key_or_an_altered_value_is_an_error_not_garbage(settings):
    stored = crypto.encrypt("13812345678")
    tampered = stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB")
    with pytest.raises(crypto.DecryptionError, match="authentication"):
        crypto.decrypt(tampered)
    relabelled = stored.replace(f":{crypto.key_id_of(stored)}:", ":k9:", 1)
    settings.PII_KEYS = {**settings.PII_KEYS, "k9": _key()}
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(relabelled)
    settings.PII_KEYS = {"k7": _key()}
    with pytest.raises(crypto.DecryptionError, match="not configured"):
        crypto.decrypt(stored)


def test_bulk_create_fills_the_lookup_hash(cast):
    user = User(username="bulk", role="volunteer", region_id="120101001001", phone="13900000000")
    User.objects.bulk_create([user])
    assert User.objects.filter(phone_hash=lookup_value(User, "phone", "13900000000")).count() == 1
