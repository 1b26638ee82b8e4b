"""Background imports (django-tasks). The page enqueues with an ImportRun's id; the progress bar and the
run are keyed by the task result id (core.jobs.Progress), which the page learns when it enqueues."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from yanglao.registry import importing


@task(takes_context=True)
def import_elders(context: Any, run_id: int) -> dict[str, Any]:
    """Import an uploaded elder file (importing.elders_import) and keep the outcome on its run."""
    return importing.import_run_execute(run_id=run_id, job_id=context.task_result.id)


@task(takes_context=True)
def import_life_events(context: Any, run_id: int) -> dict[str, Any]:
    """Import an uploaded life-event file (importing.events_import) and keep the outcome on its run."""
    return importing.import_run_execute(run_id=run_id, job_id=context.task_result.id)
