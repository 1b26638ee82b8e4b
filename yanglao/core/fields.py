"""Model fields for personal data: an encrypted text field and the keyed hash that pairs with it.

    id_number = EncryptedTextField(normalize=idcard.normalize)
    id_number_hash = LookupHashField(source="id_number")

The hash is filled from the source field whenever the row is saved or bulk-created (Django calls
`pre_save` for both); `Model.objects.filter(id_number_hash=lookup_value(Model, "id_number", raw))` finds
a row by the full value. `bulk_update` does not call `pre_save`: include the hash field yourself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models

from yanglao.core import crypto


class EncryptedTextField(models.TextField):
    """Stored as AES-GCM ciphertext; read back as plain text. Cannot be searched or sorted in SQL."""

    def __init__(self, *args: Any, normalize: Callable[[str], str] | None = None, **kwargs: Any) -> None:
        self.normalize = normalize
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value and self.normalize:
            value = self.normalize(value)
            setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value)

    def get_lookup(self, lookup_name: str):  # type: ignore[no-untyped-def]
        if lookup_name not in ("isnull",):
            # Ciphertext differs on every write, so equality in SQL can never match: use the hash field.
            raise TypeError(f"{self.name} is encrypted; filter on its LookupHashField instead")
        return super().get_lookup(lookup_name)


class LookupHashField(models.CharField):
    """HMAC-SHA256 of another (usually encrypted) field, for exact lookup. Indexed."""

    def __init__(self, *args: Any, source: str, **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):  # type: ignore[no-untyped-def]
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        for key, default in (("max_length", 64), ("db_index", True), ("editable", False), ("blank", True)):
            if kwargs.get(key) == default:
                kwargs.pop(key)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        source_field = model_instance._meta.get_field(self.source)
        assert isinstance(source_field, models.Field)
        raw = source_field.pre_save(model_instance, add)
        digest = crypto.lookup_hash(raw) if raw else ""
        setattr(model_instance, self.attname, digest)
        return digest


def lookup_value(model: type[models.Model], source: str, raw: str) -> str:
    """The hash to filter on for `raw`, normalised the way the model stores `source`."""
    field = model._meta.get_field(source)
    normalize = getattr(field, "normalize", None)
    return crypto.lookup_hash(raw, normalize=normalize)
