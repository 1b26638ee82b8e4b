"""Periodic jobs. An app registers a django-tasks task in its `tasks.py`:

    @periodic("registry.nightly_crosscheck", at=time(2, 0))
    @task()
    def nightly_crosscheck(): ...

    @periodic("monitoring.offline_devices", every=timedelta(minutes=5))
    @task()
    def offline_devices(): ...

`yanglao scheduler` imports every installed app's `tasks` module and, on each pass, enqueues the jobs
that are due. Which job is due is kept in the database (PeriodicJobState) and claimed under a row lock,
so two schedulers started by mistake still enqueue each job once per period.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from yanglao.core.models import PeriodicJobState


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any  # a django_tasks Task
    every: timedelta | None = None
    at: time | None = None  # local wall-clock time, daily
    kwargs: dict[str, Any] = field(default_factory=dict)

    def next_after(self, moment: datetime) -> datetime:
        if self.every is not None:
            return moment + self.every
        assert self.at is not None
        local = timezone.localtime(moment)
        candidate = local.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate


REGISTRY: dict[str, PeriodicJob] = {}


def periodic(
    name: str, *, every: timedelta | None = None, at: time | None = None, **kwargs: Any
) -> Callable[[Any], Any]:
    if (every is None) == (at is None):
        raise ValueError(f"periodic job {name!r}: give exactly one of every= or at=")
    if every is not None and every < timedelta(seconds=1):
        raise ValueError(f"periodic job {name!r}: every= must be at least one second")

    def register(task: Any) -> Any:
        REGISTRY[name] = PeriodicJob(name=name, task=task, every=every, at=at, kwargs=kwargs)
        return task

    return register


def autodiscover() -> None:
    """Import `<app>.tasks` for every installed app so their periodic jobs register."""
    for config in apps.get_app_configs():
        module = f"{config.name}.tasks"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


def run_due(now: datetime | None = None) -> list[str]:
    """Enqueue every job that is due; return their names. One pass of the scheduler."""
    now = now or timezone.now()
    enqueued = []
    for job in REGISTRY.values():
        with transaction.atomic():
            state, _ = PeriodicJobState.objects.select_for_update().get_or_create(name=job.name)
            if state.next_run_at is None:
                # A new daily job waits for its hour; an interval job runs at once.
                state.next_run_at = now if job.every is not None else job.next_after(now)
            if state.next_run_at > now:
                state.save(update_fields=["next_run_at"])
                continue
            job.task.enqueue(**job.kwargs)
            state.last_enqueued_at = now
            state.next_run_at = job.next_after(now)
            state.save(update_fields=["last_enqueued_at", "next_run_at"])
            enqueued.append(job.name)
    return enqueued


def seconds_until_next(now: datetime | None = None) -> float:
    now = now or timezone.now()
    upcoming = PeriodicJobState.objects.filter(name__in=list(REGISTRY)).order_by("next_run_at").first()
    if upcoming is None or upcoming.next_run_at is None:
        return 1.0
    return max(0.0, (upcoming.next_run_at - now).total_seconds())
