"""Spreadsheet uploads from the import page, for every kind of import the apps offer.

The registry owns the page, the kept upload (ImportRun), the background task and the error workbook's
download; each kind (elders and life events here; facilities, care workers, … from higher apps, which
register from their AppConfig.ready()) brings its permission, its import function and its template.
The registry never imports those apps.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from yanglao.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from yanglao.core.jobs import Progress
from yanglao.registry.models_import import ImportRun

UPLOAD_SUFFIXES = (".xlsx", ".xls", ".csv")
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class ImportKind:
    code: str  # stored on ImportRun.kind (at most 20 characters)
    label: str
    perm: str
    # run(actor=, path=, job_id=, errors_path=) -> an ImportResult (core.rowimport or the registry's)
    run: Callable[..., Any]
    template: Callable[[Any], bytes]  # template(actor) -> the .xlsx
    template_name: str
    headers: Callable[[], list[tuple[str, bool]]]  # (header, required) for the page's hints
    notes: list[str] = field(default_factory=list)
    order: int = 100
    # Who may import this kind, when a permission alone does not say it (a provider for its own staff).
    allowed: Callable[[Any], bool] | None = None

    def permits(self, actor: Any) -> bool:
        return self.allowed(actor) if self.allowed else actor.has_perm(self.perm)


KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> None:
    KINDS[kind.code] = kind


def kinds_for(actor: Any) -> list[ImportKind]:
    return sorted((k for k in KINDS.values() if k.permits(actor)), key=lambda k: (k.order, k.code))


def kind_get(actor: Any, code: str) -> ImportKind:
    kind = KINDS.get(code)
    if kind is None:
        raise InvalidInput(f"导入内容“{code}”无效", field="kind")
    if not kind.permits(actor):
        raise PermissionDenied(f"您的角色不能导入{kind.label}")
    return kind


def label_of(code: str) -> str:
    kind = KINDS.get(code)
    return kind.label if kind else code


def import_submit(*, actor: Any, kind: str, upload: Any) -> ImportRun:
    """Keep an uploaded file (xlsx/xls/csv, at most 50 MB) and queue its import as a background task;
    the import itself checks the rows."""
    chosen = kind_get(actor, kind)
    name = Path(upload.name or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InvalidInput("只能上传 Excel（.xlsx、.xls）或 CSV（.csv）文件", field="file")
    if upload.size > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            f"文件过大（{upload.size / 1048576:.1f} MB），最大 50 MB，请分成几个文件上传", field="file"
        )
    if not upload.size:
        raise InvalidInput("文件是空的", field="file")
    relative = Path("imports") / f"{uuid.uuid4().hex}{suffix}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    from yanglao.registry import tasks  # tasks import this module

    # The database task backend enqueues in this transaction: the worker sees the job together with
    # its run, or neither (and the page learns the job id at once).
    with transaction.atomic():
        run = ImportRun.objects.create(
            owner=actor, kind=chosen.code, file_name=name[:200], file=str(relative)
        )
        job = tasks.import_file.enqueue(run.pk)
        ImportRun.objects.filter(pk=run.pk, job_id__isnull=True).update(job_id=job.id)
    run.refresh_from_db()
    return run


def import_run_execute(*, run_id: int, job_id: str) -> dict[str, Any]:
    """Run a queued import (the background task's body) and keep its outcome on the ImportRun."""
    run = ImportRun.objects.select_related("owner").get(pk=run_id)
    ImportRun.objects.filter(pk=run.pk).update(job_id=job_id, state=ImportRun.State.RUNNING)
    source = Path(settings.MEDIA_ROOT) / run.file
    errors_relative = Path(run.file).with_name(f"{Path(run.file).stem}-errors.xlsx")
    kind = KINDS.get(run.kind)
    try:
        if kind is None:
            raise InvalidInput(f"导入内容“{run.kind}”已不再提供", field="kind")
        result = kind.run(
            actor=run.owner,
            path=source,
            job_id=job_id,
            errors_path=Path(settings.MEDIA_ROOT) / errors_relative,
        )
    except DomainError as error:
        ImportRun.objects.filter(pk=run.pk).update(
            state=ImportRun.State.FAILED, message=error.message[:300], finished_at=timezone.now()
        )
        Progress(job_id).fail(error.message)
        source.unlink(missing_ok=True)
        return {"failed": error.message}
    except Exception:
        ImportRun.objects.filter(pk=run.pk).update(
            state=ImportRun.State.FAILED,
            message="导入时发生内部错误，请联系管理员",
            finished_at=timezone.now(),
        )
        Progress(job_id).fail("导入时发生内部错误，请联系管理员")
        raise
    ImportRun.objects.filter(pk=run.pk).update(
        state=ImportRun.State.DONE,
        created_count=result.created,
        updated_count=result.updated,
        unchanged_count=result.unchanged,
        rejected_count=result.rejected,
        header_problems=[p.problem for p in result.header_problems],
        errors_file=str(errors_relative) if result.error_count else "",
        message=(
            f"新增 {result.created:,}，更新 {result.updated:,}，未变 {result.unchanged:,}，错误 {result.rejected:,} 行"
        )[:300],
        finished_at=timezone.now(),
    )
    if not result.error_count:
        (Path(settings.MEDIA_ROOT) / errors_relative).unlink(missing_ok=True)  # nothing to offer
    # An uploaded file may be a list of people's ID numbers: once imported it is not kept (the error
    # workbook, with the rejected rows only, stays for its owner). An internal error keeps it to retry.
    source.unlink(missing_ok=True)
    return result.counts()


def import_runs_recent(actor: Any, limit: int = 10) -> list[ImportRun]:
    return list(ImportRun.objects.filter(owner=actor).order_by("-created_at", "-id")[:limit])


def import_run_get(actor: Any, job_id: str) -> ImportRun:
    """One import of the actor's own; anyone else's is answered as not found."""
    run = ImportRun.objects.filter(job_id=job_id).first()
    if run is None or not getattr(actor, "is_authenticated", False) or run.owner_id != actor.pk:
        raise NotFound("未找到该导入记录")
    return run


def errors_file_path(run: ImportRun) -> Path | None:
    if not run.errors_file:
        return None
    path = Path(settings.MEDIA_ROOT) / run.errors_file
    return path if path.exists() else None


def progress_for(job_id: str | None, label: str, actor: Any) -> Progress | None:
    """The progress bar of a row-by-row import (core.rowimport takes a Progress, not a job id)."""
    return Progress.start(job_id, label, owner=actor) if job_id else None
