import base64
import os
from io import StringIO

from django.core.management import call_command
from django.db import connection

from yanglao.accounts.models import User
from yanglao.core import crypto


def stored_phone(user_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE id = %s", [user_id])
        return cursor.fetchone()[0]


def test_rotation_re_encrypts_old_values_and_keeps_them_readable(cast, settings):
    user = cast.operator
    user.phone = "13812345678"
    user.save()
    old_key = crypto.key_id_of(stored_phone(user.pk))
    settings.PII_KEYS = {"k2": base64.b64decode(base64.b64encode(os.urandom(32))), **settings.PII_KEYS}
    out = StringIO()
    call_command("rotate_pii_keys", "--dry-run", stdout=out)
    assert "would re-encrypt 1 rows" in out.getvalue()
    assert crypto.key_id_of(stored_phone(user.pk)) == old_key
    call_command("rotate_pii_keys", stdout=StringIO())
    assert crypto.key_id_of(stored_phone(user.pk)) == "k2"
    settings.PII_KEYS = {"k2": settings.PII_KEYS["k2"]}  # the old key can now go
    assert User.objects.get(pk=user.pk).phone == "13812345678"
    out = StringIO()
    call_command("rotate_pii_keys", stdout=out)
    assert "re-encrypted 0 rows" in out.getvalue()
