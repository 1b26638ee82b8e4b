"""Importing life events from another department's file (deaths, hospital stays, moves)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.utils import timezone

from yanglao.accounts.scope import is_person, people
from yanglao.core import crypto, sheets
from yanglao.core.errors import DomainError, InvalidInput
from yanglao.core.jobs import Progress
from yanglao.core.sheets import RowError
from yanglao.registry import services, validation
from yanglao.registry.enums import (
    EventKind,
    EventSource,
)
from yanglao.registry.importing.common import (
    EVENT_BATCH_SIZE,
    EVENT_HEADERS,
    EVENT_LABELS,
    EVENT_REQUIRED,
    IMPORTABLE_EVENTS,
    ImportResult,
    _Report,
    _run,
)
from yanglao.registry.models import Elder, LifeEvent


# --- life events -----------------------------------------------------------------------------------
def events_import(
    *,
    actor: Any,
    path: str | Path,
    job_id: str | None = None,
    errors_path: str | Path | None = None,
) -> ImportResult:
    """Record deaths, hospital and institution stays and moves from another department's file
    (DOMAIN.md §1), each through services.elder_record_event with source "file"; an event already
    recorded (same elder, kind and date) is left as it is, so a file can be imported twice."""

    def body(table: sheets.Table, report: _Report, progress: Progress | None) -> None:
        _events(actor, table, report, progress)

    return _run(
        actor=actor,
        path=path,
        job_id=job_id,
        errors_path=errors_path,
        name="导入生活事件",
        headers=EVENT_HEADERS,
        required=EVENT_REQUIRED,
        body=body,
    )


def _event_problem(number: int, raw: dict[str, Any], name: str | None, message: str) -> RowError:
    name = name if name in EVENT_LABELS else "id_number"
    return RowError(number, EVENT_LABELS[name], raw.get(name, ""), message)


def _clean_event(raw: dict[str, Any], today: date) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    cleaned: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    try:
        cleaned["id_number"] = validation.clean_id_number(raw.get("id_number"), today=today).number
    except InvalidInput as error:
        problems.append(("id_number", error.message))
    kind = validation.text(raw.get("kind"))
    match = validation.choice_value(kind, EventKind)
    if match in IMPORTABLE_EVENTS:
        cleaned["kind"] = match
    elif not kind:
        problems.append(("kind", "请填写事件类型"))
    elif match == EventKind.CORRECTION:
        problems.append(("kind", "更正（撤销事件）不能通过文件导入，请在老人档案页面上操作"))
    else:
        allowed = "、".join(str(k.label) for k in IMPORTABLE_EVENTS)
        problems.append(("kind", f"“{kind}”不是有效的事件类型，可填：{allowed}"))
    try:
        cleaned["on"] = validation.clean_date(raw.get("on"), "on", "发生日期", today=today)
        if cleaned["on"] is None:
            problems.append(("on", "请填写发生日期"))
    except InvalidInput as error:
        problems.append(("on", error.message))
    cleaned["new_region"] = validation.text(raw.get("new_region")).replace(" ", "") or None
    cleaned["note"] = validation.text(raw.get("note"))
    return cleaned, problems


def _events(actor: Any, table: sheets.Table, report: _Report, progress: Progress | None) -> None:
    result = report.result
    today = timezone.localdate()
    elders = (
        people(actor, Elder.objects.all(), region_field="residence_region_id")
        if is_person(actor)
        else Elder.objects.all()
    )
    total = table.total_rows or 0
    done = 0
    for batch in table.batches(EVENT_BATCH_SIZE):
        for number, raw in batch:
            cleaned, problems = _clean_event(raw, today)
            if problems:
                report.reject([_event_problem(number, raw, name, message) for name, message in problems])
                continue
            elder = elders.filter(id_number_hash=crypto.lookup_hash(cleaned["id_number"])).first()
            if elder is None:
                report.reject(
                    [
                        _event_problem(
                            number, raw, "id_number", "未找到该身份证号码的老人档案，或不在您的管辖范围内"
                        )
                    ]
                )
                continue
            already = LifeEvent.objects.filter(
                elder=elder, kind=cleaned["kind"], on=cleaned["on"], reversed_by__isnull=True
            ).exists()
            if already:
                result.unchanged += 1
                continue
            try:
                services.elder_record_event(
                    actor=actor,
                    elder=elder,
                    kind=cleaned["kind"],
                    on=cleaned["on"],
                    note=cleaned["note"],
                    new_region=cleaned["new_region"],
                    source=EventSource.FILE,
                )
            except DomainError as error:
                report.reject([_event_problem(number, raw, error.field, error.message)])
                continue
            result.created += 1
        done += len(batch)
        if progress:
            progress.update(100 * done / max(total, done, 1), f"已处理 {done:,} / {max(total, done):,} 行")
