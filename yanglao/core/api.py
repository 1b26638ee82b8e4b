from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Router, Schema
from ninja.responses import Status

from yanglao.core import health
from yanglao.core.errors import NotFound
from yanglao.core.models import JobProgress

router = Router(tags=["platform"])


class HealthOut(Schema):
    status: str
    time: datetime
    checks: dict[str, dict[str, Any]]


@router.get("/health", auth=None, response={200: HealthOut, 503: HealthOut}, summary="Health of the platform")
def get_health(request):
    """Database, task worker heartbeat and channel layer (and Redis and MQTT when configured).
    503 when any of them is not ok, so a load balancer or monitor can act on the status code."""
    result = health.report()
    return Status(200 if result["status"] == "ok" else 503, result)


class JobOut(Schema):
    job_id: str
    name: str
    state: str
    percent: int
    message: str
    updated_at: datetime


@router.get("/jobs/{job_id}", response=JobOut, summary="Progress of a long job")
def get_job(request, job_id: str):
    job = JobProgress.objects.filter(job_id=job_id).first()
    if job is None or (not request.user.is_superuser and job.owner_id != request.user.pk):
        raise NotFound(f"任务 {job_id} 不存在，或不是您发起的")
    return job
