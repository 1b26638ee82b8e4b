from datetime import time, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import task

from yanglao.core import scheduling
from yanglao.core.models import PeriodicJobState, WorkerHeartbeat

CALLS: list[str] = []


@task()
def record_call(label: str = "tick") -> None:
    CALLS.append(label)


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(scheduling, "REGISTRY", {})
    CALLS.clear()
    return scheduling.REGISTRY


def test_an_interval_job_runs_at_once_then_once_per_interval(db, registry):
    scheduling.periodic("test.every_minute", every=timedelta(minutes=1), label="m")(record_call)
    now = timezone.now()
    assert scheduling.run_due(now) == ["test.every_minute"]
    assert scheduling.run_due(now + timedelta(seconds=30)) == []
    assert scheduling.run_due(now + timedelta(seconds=61)) == ["test.every_minute"]
    assert CALLS == ["m", "m"]  # the test settings run tasks in-line


def test_a_daily_job_waits_for_its_hour(db, registry):
    scheduling.periodic("test.nightly", at=time(2, 0))(record_call)
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    assert scheduling.run_due(noon) == []
    state = PeriodicJobState.objects.get(name="test.nightly")
    assert timezone.localtime(state.next_run_at).hour == 2
    assert state.next_run_at > noon
    assert scheduling.run_due(state.next_run_at) == ["test.nightly"]
    assert scheduling.run_due(state.next_run_at + timedelta(hours=1)) == []


def test_a_job_needs_exactly_one_of_every_and_at():
    with pytest.raises(ValueError, match="exactly one"):
        scheduling.periodic("bad", every=timedelta(seconds=5), at=time(1, 0))
    with pytest.raises(ValueError, match="exactly one"):
        scheduling.periodic("bad")


def test_the_scheduler_command_enqueues_the_heartbeat_which_records_the_worker(db):
    call_command("scheduler", "--once")
    assert WorkerHeartbeat.objects.exists()
    assert PeriodicJobState.objects.get(name="core.worker_heartbeat").last_enqueued_at is not None
