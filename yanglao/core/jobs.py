"""Progress of long work, readable by pages (progress bars) and the API.

    progress = Progress.start(job_id, "导入老人档案", owner=user)
    progress.update(40, "已校验 4,000 / 10,000 行")
    progress.finish("导入完成")      # or progress.fail("文件无法读取")

Inside a django-tasks task use the task result id as the job id (`@task(takes_context=True)`, then
`Progress.start(context.task_result.id, …)`), so the page that enqueued it can poll by that id.
Progress rows are plain writes: work done in one long transaction should report between its batches,
each batch its own transaction, or the page sees nothing until the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from yanglao.core.models import JobProgress


@dataclass
class Progress:
    job_id: str
    # Don't write a row for every tiny step: a page polls once a second at most.
    _last_percent: int = -1

    @classmethod
    def start(cls, job_id: str, name: str, *, owner: Any = None, message: str = "") -> Progress:
        JobProgress.objects.update_or_create(
            job_id=job_id,
            defaults={
                "name": name,
                "owner": owner if getattr(owner, "is_authenticated", False) else None,
                "state": JobProgress.State.RUNNING,
                "percent": 0,
                "message": message,
            },
        )
        return cls(job_id=job_id)

    def update(self, percent: float, message: str = "") -> None:
        whole = max(0, min(99, int(percent)))
        if whole == self._last_percent and not message:
            return
        self._last_percent = whole
        JobProgress.objects.filter(job_id=self.job_id).update(
            percent=whole, message=message[:300], updated_at=timezone.now()
        )

    def finish(self, message: str = "") -> None:
        JobProgress.objects.filter(job_id=self.job_id).update(
            state=JobProgress.State.DONE, percent=100, message=message[:300], updated_at=timezone.now()
        )

    def fail(self, message: str) -> None:
        JobProgress.objects.filter(job_id=self.job_id).update(
            state=JobProgress.State.FAILED, message=message[:300], updated_at=timezone.now()
        )
