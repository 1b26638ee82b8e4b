"""Kernel jobs: the worker heartbeat that /api/v1/health reads."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from yanglao.core.models import WorkerHeartbeat
from yanglao.core.scheduling import periodic


@periodic("core.worker_heartbeat", every=timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS))
@task()
def worker_heartbeat() -> str:
    """Record that a worker ran a queued job; enqueued by the scheduler, so it proves both are alive."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"seen_at": timezone.now()})
    # Keep the table to the workers seen in the last day.
    WorkerHeartbeat.objects.filter(seen_at__lt=timezone.now() - timedelta(days=1)).delete()
    return worker
