"""Background imports (django-tasks). The page enqueues with an ImportRun's id; the progress bar and the
run are keyed by the task result id (core.jobs.Progress), which the page learns when it enqueues."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from yanglao.registry import uploads


@task(takes_context=True)
def import_file(context: Any, run_id: int) -> dict[str, Any]:
    """Import an uploaded file by its kind (registry.uploads.KINDS) and keep the outcome on its run."""
    return uploads.import_run_execute(run_id=run_id, job_id=context.task_result.id)
