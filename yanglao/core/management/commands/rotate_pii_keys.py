"""yanglao rotate_pii_keys: re-encrypt every personal-data value with the current key.

Rotation: put a new key first in YANGLAO_PII_KEY (keeping the old ones after it), restart, run this
command, then remove the old keys. Values are read in primary-key batches and rewritten only when
they were sealed with another key, so the command can be stopped and run again."""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from yanglao.core import audit, crypto
from yanglao.core.fields import EncryptedTextField


def encrypted_fields():
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


class Command(BaseCommand):
    help = "用当前密钥重新加密个人信息 (re-encrypt personal data with the current YANGLAO_PII_KEY)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000)
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, batch: int, dry_run: bool, **options):
        current = crypto.current_key_id()
        quote = connection.ops.quote_name
        for model, fields in encrypted_fields():
            table, pk = model._meta.db_table, model._meta.pk.column
            columns = ", ".join(quote(f.column) for f in fields)
            rewritten, last = 0, None
            while True:
                # Raw reads: the ORM would decrypt, and we need the stored key id.
                with connection.cursor() as cursor:
                    where = f"WHERE {quote(pk)} > %s " if last is not None else ""
                    cursor.execute(
                        f"SELECT {quote(pk)}, {columns} FROM {quote(table)} {where}"  # noqa: S608 (names quoted)
                        f"ORDER BY {quote(pk)} LIMIT %s",
                        ([last] if last is not None else []) + [batch],
                    )
                    rows = cursor.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                stale = [
                    row[0]
                    for row in rows
                    if any(value and crypto.key_id_of(value) != current for value in row[1:])
                ]
                if stale and not dry_run:
                    with transaction.atomic():
                        # Locked, so a value changed meanwhile is not overwritten with the old one.
                        objects = list(model._base_manager.select_for_update().filter(pk__in=stale))
                        # Saving through the field re-encrypts with the current key.
                        model._base_manager.bulk_update(objects, [f.name for f in fields])
                        audit.record(
                            "rotate_pii_keys",
                            "pii.rotate",
                            object_type=model._meta.label_lower,
                            after={"rows": len(objects), "key": current},
                        )
                rewritten += len(stale)
            verb = "would re-encrypt" if dry_run else "re-encrypted"
            self.stdout.write(f"{model._meta.label}: {verb} {rewritten} rows with key {current}")
