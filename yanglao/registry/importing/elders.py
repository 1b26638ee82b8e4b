"""Importing elders (see the package docstring): matched by ID number, set-based batches."""

from __future__ import annotations

import itertools
import operator
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from yanglao.accounts.scope import is_person
from yanglao.core import audit, crypto, sheets
from yanglao.core.errors import InvalidInput
from yanglao.core.fields import EncryptedTextField, LookupHashField
from yanglao.core.jobs import Progress
from yanglao.core.sheets import RowError
from yanglao.regions.models import Level, Region
from yanglao.registry import signals, validation
from yanglao.registry.enums import (
    Status,
)
from yanglao.registry.importing.common import (
    _BUCKETS,
    _CACHE_LIMIT,
    _COLUMN_ORDER,
    _INSERT_CHUNK,
    _STORED,
    BATCH_SIZE,
    CHECK_ONLY,
    HEADERS,
    LABELS,
    PER_ROW,
    REQUIRED,
    TOGETHER,
    UPDATABLE,
    ImportResult,
    _blank,
    _clean_identity,
    _identity_mismatch,
    _in_scope,
    _Report,
    _run,
    _summary,
)
from yanglao.registry.models import Elder


# --- elders ----------------------------------------------------------------------------------------
def elders_import(
    *,
    actor: Any,
    path: str | Path,
    job_id: str | None = None,
    errors_path: str | Path | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Insert or update elders from an Excel/CSV file by ID number, each row validated like the form
    (DOMAIN.md §1); good rows are kept, the others reported row by row. Idempotent."""

    def body(table: sheets.Table, report: _Report, progress: Progress | None) -> None:
        _ElderImport(actor, table, report, progress).run(batch_size)

    return _run(
        actor=actor,
        path=path,
        job_id=job_id,
        errors_path=errors_path,
        name="导入老年人信息",
        headers=HEADERS,
        required=REQUIRED,
        body=body,
    )


class _Row:
    """A row that passed its checks, held until its batch is written: its cleaned facts, the keyed
    hash of its ID number and which updatable facts it filled in. Not its cells as read: the dict of
    the row and its ~20 strings would be most of what a batch holds."""

    __slots__ = ("cleaned", "filled", "id_cell", "id_hash", "number")

    def __init__(self, number: int, cleaned: dict[str, Any], id_hash: str, filled: int, id_cell: Any) -> None:
        self.number = number
        self.cleaned = cleaned
        self.id_hash = id_hash
        self.filled = filled  # bit i: UPDATABLE[i] was filled in (a blank cell changes nothing)
        self.id_cell = id_cell  # the ID number as read, if it differs from the cleaned one, else None

    @property
    def id_number_read(self) -> Any:
        return self.cleaned["id_number"] if self.id_cell is None else self.id_cell


class _FirstRows:
    """The row each person (the first 17 digits of an ID number, as an int) first appeared on, for
    "the same ID number twice in the file". Kept compact because it grows with the file: as a dict of
    int → int it took ~21 MB at 200,000 rows, the largest part of an import's memory; here it takes
    12 bytes a person, in sorted arrays (keys and their rows) split by key into _BUCKETS, each small
    enough that inserting in place is cheap (~1.3 µs a row all told, against ~0.5 µs for the dict)."""

    def __init__(self) -> None:
        self.keys = [array("q") for _ in range(_BUCKETS)]  # sorted (17 digits < 2**63)
        self.rows = [array("I") for _ in range(_BUCKETS)]  # the row of each key (< 2**32 rows)

    def first(self, key: int, number: int) -> int:
        """The row `key` first appeared on; `number` (remembered) if it has not appeared before."""
        bucket = key % _BUCKETS
        keys = self.keys[bucket]
        at = bisect_left(keys, key)
        if at < len(keys) and keys[at] == key:
            return self.rows[bucket][at]
        keys.insert(at, key)
        self.rows[bucket].insert(at, number)
        return number


class _ElderImport:
    def __init__(self, actor: Any, table: sheets.Table, report: _Report, progress: Progress | None) -> None:
        self.actor = actor
        self.table = table
        self.report = report
        self.result = report.result
        self.progress = progress
        self.today = timezone.localdate()
        # Every community of the platform, once: clean_facts then needs no query per row, and a real
        # community outside the actor's region is told apart from a code that does not exist.
        self.communities = set(Region.objects.filter(level=Level.COMMUNITY).values_list("code", flat=True))
        present = set(table.fields)
        self.per_row = [f for f in PER_ROW if f in present]
        grouped = {f for group in TOGETHER for f in group}
        self.groups: list[tuple[str, ...]] = [
            tuple(f for f in group if f in present) for group in TOGETHER if present & set(group)
        ] + [(f,) for f in table.fields if f not in PER_ROW and f not in grouped and f not in CHECK_ONLY]
        self.checks = [f for f in CHECK_ONLY if f in present]
        # A group's distinct cells → its facts, problems and updatable facts filled in (bits).
        self.cache: dict[tuple[str, ...], dict[Any, tuple[dict, tuple, int]]] = {g: {} for g in self.groups}
        # 出生日期 differs from row to row like the ID number it is checked against: a cache of it held
        # ~3 MB at 200,000 rows (~15,000 dates, as cells and as serial numbers) and missed often after
        # each clearing, to save ~1 µs a row on the serial numbers only (a date cell is checked at once).
        self.check_cache: dict[str, dict[Any, tuple[Any, str | None]] | None] = {
            f: None if f == "birth_date" else {} for f in self.checks
        }
        self.rejects: list[list[RowError]] = []  # of the batch being read
        self.total = table.total_rows or 0
        self.done = 0  # rows read and written
        self.first_rows = _FirstRows()
        # Which updatable facts a row fills in, as bits: a blank cell changes nothing on a known elder.
        self.bits = {name: 1 << i for i, name in enumerate(UPDATABLE) if name in present}
        self.updatable = [(bit, name) for name, bit in self.bits.items()]
        self.per_row_bits = [(self.bits[f], f) for f in self.per_row if f in self.bits]
        id_field = Elder._meta.get_field("id_number")
        phone_field = Elder._meta.get_field("phone")
        self.normalize_id = id_field.normalize  # type: ignore[attr-defined]
        self.normalize_phone = phone_field.normalize  # type: ignore[attr-defined]

    # --- cleaning ---------------------------------------------------------------------------------
    def _clean_facts(self, raw: dict[str, Any], partial: bool) -> tuple[dict[str, Any], list[dict]]:
        try:
            return validation.clean_facts(
                raw, communities=self.communities, today=self.today, partial=partial
            ), []
        except InvalidInput as error:
            return {}, list(error.details or [{"field": error.field or "", "message": error.message}])

    def clean(self, raw: dict[str, Any]) -> tuple[dict[str, Any], list[dict], int]:
        """The row's facts as clean_facts gives them, or its problems ({field, message}); and which
        updatable facts are filled in (bits of self.bits)."""
        cleaned, problems = self._clean_facts({f: raw[f] for f in self.per_row}, partial=False)
        filled = 0
        for bit, name in self.per_row_bits:
            if not _blank(raw[name]):
                filled |= bit
        for group in self.groups:
            key: Any
            if len(group) == 1:
                value = raw[group[0]]
                # 1, 1.0 and True are different cells: all but text, the common case, carry their type
                # (no str equals a tuple).
                key = value if value.__class__ is str else (value.__class__, value)
            else:
                key = tuple((type(raw[f]), raw[f]) for f in group)
            cache = self.cache[group]
            hit = cache.get(key)
            if hit is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                facts, found = self._clean_facts({f: raw[f] for f in group}, partial=True)
                bits = sum(self.bits.get(f, 0) for f in group if not _blank(raw[f]))
                hit = cache[key] = (facts, tuple(found), bits)
            cleaned.update(hit[0])
            if hit[1]:
                problems.extend(hit[1])
            filled |= hit[2]
        if self.checks and not any(p["field"] == "id_number" for p in problems):
            if "birth_date" in cleaned:
                born, sex = cleaned["birth_date"], cleaned["sex"]
            else:  # another fact is wrong, but the ID number is right: check against it all the same
                card = validation.clean_id_number(raw["id_number"], today=self.today)
                born, sex = card.birth_date, card.sex
            for name in self.checks:
                value = raw[name]
                if _blank(value):
                    continue
                checks = self.check_cache[name]
                if checks is None:
                    checked = _clean_identity(name, value, self.today)
                else:
                    key = value if value.__class__ is str else (value.__class__, value)
                    cached = checks.get(key)
                    if cached is None:
                        if len(checks) >= _CACHE_LIMIT:
                            checks.clear()
                        cached = checks[key] = _clean_identity(name, value, self.today)
                    checked = cached
                message = checked[1] or _identity_mismatch(name, checked[0], born, sex)
                if message:
                    problems.append({"field": name, "message": message})
        return cleaned, problems, filled

    def _reject(self, number: int, raw: dict[str, Any], problems: Iterable[dict]) -> None:
        """Hold a rejected row until its batch is written, so the workbook lists rows in order."""
        self.rejects.append(
            [
                RowError(number, LABELS.get(p["field"], p["field"]), raw.get(p["field"], ""), p["message"])
                for p in sorted(problems, key=lambda p: _COLUMN_ORDER.get(p["field"], len(_COLUMN_ORDER)))
            ]
        )

    # --- the run ----------------------------------------------------------------------------------
    def run(self, batch_size: int) -> None:
        # Rows are read one at a time and only what writing needs is kept (_Row): the batch of rows as
        # read (a dict and ~20 strings a row) is never held.
        rows: list[_Row] = []
        read = 0
        for number, raw in self.table.rows():
            row = self._prepare(number, raw)
            if row is not None:
                rows.append(row)
            read += 1
            if read == batch_size:
                self._batch_done(rows, read)
                rows, read = [], 0
        if read:
            self._batch_done(rows, read)

    def _batch_done(self, rows: list[_Row], read: int) -> None:
        if rows:
            self._write(rows)
        for errors in sorted(self.rejects, key=lambda errors: errors[0].row):
            self.report.reject(errors)
        self.rejects.clear()
        self.done += read
        if self.progress:
            done, total = self.done, self.total
            self.progress.update(
                100 * done / max(total, done, 1),
                f"已处理 {done:,} / {max(total, done):,} 行：{_summary(self.result)}",
            )

    def _prepare(self, number: int, raw: dict[str, Any]) -> _Row | None:
        cleaned, problems, filled = self.clean(raw)
        if not any(p["field"] == "id_number" for p in problems):
            # The ID number itself is valid: it belongs to this row even if another fact is wrong.
            digits = cleaned.get("id_number") or self.normalize_id(validation.text(raw["id_number"]))
            first = self.first_rows.first(int(digits[:17]), number)
            if first != number:
                problems.append(
                    {"field": "id_number", "message": f"身份证号码与第{first}行重复（同一人只能出现一次）"}
                )
        if not problems and not _in_scope(self.actor, cleaned["residence_region"]):
            problems.append(
                {
                    "field": "residence_region",
                    "message": f"现居住社区 {cleaned['residence_region']} 不在您的管辖范围内",
                }
            )
        if problems:
            self._reject(number, raw, problems)
            return None
        id_number = cleaned["id_number"]
        id_cell = raw["id_number"]
        return _Row(
            number,
            cleaned,
            crypto.lookup_hash(id_number, normalize=self.normalize_id),
            filled,
            None if id_cell == id_number else id_cell,
        )

    def _write(self, rows: list[_Row]) -> None:
        # Looking up and writing in one transaction keeps the decision true when written; a clash with
        # a concurrent import of the same person (unique hash) is decided again once.
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    outcome = self._apply(rows)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        created, updated, unchanged, rejected = outcome
        self.result.created += created
        self.result.updated += updated
        self.result.unchanged += unchanged
        for row in rejected:
            message = "该身份证号码已有档案，且不在您的管辖范围内，请联系其所在地区处理"
            self._reject(
                row.number, {"id_number": row.id_number_read}, [{"field": "id_number", "message": message}]
            )

    def _apply(self, rows: list[_Row]) -> tuple[int, int, int, list[_Row]]:
        known = {
            stored["id_number_hash"]: stored
            for stored in Elder.objects.filter(id_number_hash__in=[r.id_hash for r in rows]).values(*_STORED)
        }
        new: list[_Row] = []
        changes: dict[frozenset[str], list[tuple[int, dict[str, Any]]]] = {}
        changed_fields: dict[int, list[str]] = {}
        unchanged = 0
        rejected: list[_Row] = []
        for row in rows:
            stored = known.get(row.id_hash)
            if stored is None:
                new.append(row)
                continue
            if not _in_scope(self.actor, stored["residence_region_id"]):
                rejected.append(row)  # existence is all it tells: not where, not whose
                continue
            diff = self._diff(row, stored)
            if not diff:
                unchanged += 1
                continue
            changes.setdefault(frozenset(diff), []).append((stored["id"], diff))
            changed_fields[stored["id"]] = sorted(diff)
        if new:
            _insert_elders(self._new_values(row) for row in new)  # made as the INSERT takes them
        now = timezone.now()
        for names, items in changes.items():
            elders = []
            for pk, values in items:
                elder = Elder(pk=pk, updated_at=now)
                for name, value in values.items():
                    setattr(elder, f"{name}_id" if name.endswith("_region") else name, value)
                if "phone" in values:
                    # bulk_update does not call pre_save: the keyed hash is set here.
                    elder.phone_hash = self._phone_hash(values["phone"])
                elders.append(elder)
            fields = [*names, "updated_at", *(["phone_hash"] if "phone" in names else [])]
            Elder.objects.bulk_update(elders, fields, batch_size=1000)
        if new or changes:
            created_ids = list(
                Elder.objects.filter(id_number_hash__in=[row.id_hash for row in new]).values_list(
                    "pk", flat=True
                )
            )
            updated_ids = list(changed_fields)
            transaction.on_commit(
                lambda: signals.elders_imported.send(sender=Elder, created=created_ids, updated=updated_ids)
            )
            audit.record(
                self.actor,
                "elder.import",
                object_type="registry.elder",
                region_code=getattr(self.actor, "region_id", "") or "",
                after={
                    "rows": f"{rows[0].number}-{rows[-1].number}",
                    "created": len(new),
                    "updated": len(changed_fields),
                    "unchanged": unchanged,
                    "changed_fields": changed_fields,
                },
            )
        return len(new), len(changed_fields), unchanged, rejected

    def _phone_hash(self, phone: str) -> str:
        return crypto.lookup_hash(phone, normalize=self.normalize_phone) if phone else ""

    def _diff(self, row: _Row, stored: dict[str, Any]) -> dict[str, Any]:
        """The filled-in facts that differ from the stored ones (phone compared by its keyed hash)."""
        diff = {}
        for bit, name in self.updatable:
            if not row.filled & bit:
                continue
            value = row.cleaned[name]
            if name == "phone":
                if self._phone_hash(value) != stored["phone_hash"]:
                    diff[name] = value
            elif name.endswith("_region"):
                if value != stored[f"{name}_id"]:
                    diff[name] = value
            elif value != stored[name]:
                diff[name] = value
        return diff

    def _new_values(self, row: _Row) -> dict[str, Any]:
        values = dict(row.cleaned)
        values["id_number_hash"] = row.id_hash
        values["phone_hash"] = self._phone_hash(values.get("phone", ""))
        values["status"] = Status.ACTIVE
        values["status_since"] = self.today
        values["registered_by"] = self.actor.pk if is_person(self.actor) else None
        return values


def _insert_elders(rows: Iterable[dict[str, Any]]) -> None:
    """One INSERT … VALUES executed for many rows: Elder's columns prepared as its fields would
    (encrypted, keyed hash, adapted dates, defaults), without a model instance per row, which costs
    more than all the rest of an import. Missing values take the field's default."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    plain: list[models.Field] = []
    special: list[tuple[models.Field, Callable[[dict[str, Any]], Any]]] = []
    for model_field in Elder._meta.concrete_fields:
        if model_field.primary_key:
            continue
        if _is_plain(model_field):
            plain.append(model_field)
        else:
            special.append((model_field, _preparer(model_field, now)))
    defaults = {f.name: f.get_default() for f in plain}
    take_plain = operator.itemgetter(*(f.name for f in plain))
    preparers = [prepare for _, prepare in special]
    columns = [ops.quote_name(f.column) for f in plain] + [ops.quote_name(f.column) for f, _ in special]
    # Table and column names come from the model and are quoted; values are parameters.
    table = ops.quote_name(Elder._meta.db_table)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    params = (take_plain({**defaults, **row}) + tuple(prepare(row) for prepare in preparers) for row in rows)
    # The parameters (~1 KB a row with the ciphertexts) are made and executed _INSERT_CHUNK rows at a
    # time rather than for the whole batch at once; handing executemany a generator would not do: the
    # SQLite backend peeks at it through itertools.tee, which then keeps every row it has passed on.
    with connection.cursor() as cursor:
        while chunk := list(itertools.islice(params, _INSERT_CHUNK)):
            cursor.executemany(sql, chunk)


def _is_plain(model_field: models.Field) -> bool:
    """Stored as the Python value is (the database driver adapts it)."""
    if isinstance(model_field, EncryptedTextField | LookupHashField | models.DateField):
        return False  # DateTimeField is a DateField
    if model_field.is_relation:
        return model_field.target_field.get_internal_type() in _PLAIN_KEYS
    return isinstance(
        model_field,
        models.CharField | models.TextField | models.BooleanField | models.IntegerField | models.FloatField,
    )


def _preparer(model_field: models.Field, now: Any) -> Callable[[dict[str, Any]], Any]:
    name = model_field.name
    default = model_field.get_default()
    if isinstance(model_field, LookupHashField):
        source = model_field.source
        normalize = getattr(Elder._meta.get_field(source), "normalize", None)
        return lambda row: (
            row.get(name) or (crypto.lookup_hash(row[source], normalize=normalize) if row.get(source) else "")
        )
    if isinstance(model_field, EncryptedTextField):
        return lambda row: crypto.encrypt(row[name]) if row.get(name) else (row.get(name) or default)
    if isinstance(model_field, models.DateTimeField):
        if model_field.auto_now or model_field.auto_now_add:
            return lambda row: now
        return lambda row: connection.ops.adapt_datetimefield_value(row.get(name, default))
    if isinstance(model_field, models.DateField):
        return lambda row: connection.ops.adapt_datefield_value(row.get(name, default))
    # Anything else (a field added later) goes through Django's own preparation.
    return lambda row: model_field.get_db_prep_save(row.get(name, default), connection)


_PLAIN_KEYS = {"CharField", "AutoField", "BigAutoField", "IntegerField", "BigIntegerField"}
