"""What the elder and life-event imports share: headers, the result and report, the cleaning of
identity columns, and the permission and progress around core.rowimport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from yanglao.accounts.scope import covers, is_person, require_perm
from yanglao.core import rowimport, sheets
from yanglao.core.errors import InvalidInput
from yanglao.core.jobs import Progress
from yanglao.core.permissions import Perm
from yanglao.registry import services, validation
from yanglao.registry.enums import (
    EventKind,
    Sex,
)

# Rows per transaction: a batch is one lookup of its known elders, one INSERT, one audit row and one
# commit. A row waiting for its batch holds ~1 KB (its cleaned facts and keyed hash; the cells as read
# are let go once it is cleaned), so the size hardly moves memory: on the benchmark's 200,000 rows the
# peak RSS above the process was ~18 MB with batches of 2,000, 3,000, 4,000 or 6,000 rows alike. (When
# a row held ~5 KB, 4,000 was the trade-off: 59 MB, where 2,000 took 48 MB but ran ~10% slower.)
BATCH_SIZE = 4000
EVENT_BATCH_SIZE = 500

# Columns of the elder file: the template's (validation.COLUMNS), and 出生日期 / 性别, which many
# departments' sheets carry; they are checked against the ID number, which is what is stored.
HEADERS = {**validation.HEADER_TO_FIELD, "出生日期": "birth_date", "性别": "sex"}
LABELS = {field: header for header, field in HEADERS.items()}
REQUIRED = {c.field for c in validation.COLUMNS if c.required}
IGNORED_HEADERS = ("序号",)
# Cleaned on every row: what differs from row to row (a cache would only miss), and the required facts
# (clean_facts checks that those are filled in). Every other column is cleaned once per distinct value.
PER_ROW = ("name", "id_number", "residence_region", "phone", "address", "latitude", "longitude")
# Facts that clean_facts checks against each other are cleaned together.
TOGETHER = (("disability_category", "disability_grade"),)
CHECK_ONLY = ("birth_date", "sex")
# Facts an import may change on a known elder; a blank cell leaves the stored value.
UPDATABLE = [name for name in services.AUDITED if name != "id_number"]
_STORED = [
    "id",
    "id_number_hash",
    "phone_hash",
    *(f"{n}_id" if n.endswith("_region") else n for n in UPDATABLE),
]
_CACHE_LIMIT = 20_000
# Of _FirstRows: at 1,000,000 rows (Excel's limit) ~1,000 keys a bucket, an 8 KB array to insert into.
_BUCKETS = 1024
_INSERT_CHUNK = 500  # rows whose INSERT parameters are made at once (see _insert_elders)
_COLUMN_ORDER = {field: index for index, field in enumerate(HEADERS.values())}

EVENT_HEADERS = {
    "身份证号码": "id_number",
    "事件类型": "kind",
    "发生日期": "on",
    "迁入社区代码": "new_region",
    "备注": "note",
}
EVENT_LABELS = {field: header for header, field in EVENT_HEADERS.items()}
EVENT_REQUIRED = {"id_number", "kind", "on"}
IMPORTABLE_EVENTS = [kind for kind in EventKind if kind != EventKind.CORRECTION]


# The result and the error report are the platform's (core.rowimport), shared with every import.
ImportResult = rowimport.ImportResult
_Report = rowimport.Report


def _in_scope(actor: Any, region_code: str) -> bool:
    """A system job (a named command) works on the whole platform; a person within their region."""
    return covers(actor, region_code) if is_person(actor) else True


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _run(
    *,
    actor: Any,
    path: str | Path,
    job_id: str | None,
    errors_path: str | Path | None,
    name: str,
    headers: dict[str, str],
    required: set[str],
    body: Callable[[sheets.Table, _Report, Progress | None], None],
) -> ImportResult:
    """What both imports share: permission and progress here; the header check and the error workbook
    are core.rowimport's, as for every import."""
    if is_person(actor):
        require_perm(actor, Perm.ELDERS_IMPORT)
    progress = Progress.start(job_id, name, owner=actor) if job_id else None
    return rowimport.run_import(
        path=path,
        headers=headers,
        required=required,
        errors_path=errors_path,
        title=name,
        body=body,
        progress=progress,
        ignored=IGNORED_HEADERS,
    )


def _summary(result: ImportResult) -> str:
    return result.summary()


def _clean_identity(name: str, value: Any, today: date) -> tuple[Any, str | None]:
    """出生日期 or 性别 as typed (a date, an Excel serial date, 男/女 or the code), or its problem."""
    try:
        if name == "birth_date":
            return validation.clean_date(value, "birth_date", "出生日期", today=today), None
        return validation.clean_choice(value, Sex, "sex"), None
    except InvalidInput as error:
        return None, error.message


def _identity_mismatch(name: str, found: Any, born: date, sex: str) -> str | None:
    expected = born if name == "birth_date" else sex
    if found == expected:
        return None
    shown = born.isoformat() if name == "birth_date" else str(Sex(sex).label)
    return f"{LABELS[name]}与身份证号码不符（按身份证号码应为{shown}）"


def identity_problems(raw: dict[str, Any], *, today: date) -> list[dict[str, str]]:
    """Problems of the 出生日期 / 性别 columns against a valid ID number (none when the ID is wrong:
    clean_facts reports that). The import does the same (性别 through a cache); the benchmark's baseline
    calls this."""
    try:
        card = validation.clean_id_number(raw.get("id_number"), today=today)
    except InvalidInput:
        return []
    problems = []
    for name in CHECK_ONLY:
        value = raw.get(name)
        if name not in raw or _blank(value):
            continue
        found, message = _clean_identity(name, value, today)
        message = message or _identity_mismatch(name, found, card.birth_date, card.sex)
        if message:
            problems.append({"field": name, "message": message})
    return problems
