"""The embedded default: tasks queue in the database and a `db_worker` process runs them."""

import pytest
from django.core.management import call_command

from yanglao.core.models import WorkerHeartbeat
from yanglao.core.tasks import worker_heartbeat


@pytest.fixture
def database_backend(settings):
    # django-tasks resets its backends when the TASKS setting changes.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.mark.django_db(transaction=True)
def test_a_queued_task_waits_for_the_worker_and_the_worker_runs_it(database_backend):
    result = worker_heartbeat.enqueue()
    assert result.status == "READY"
    assert not WorkerHeartbeat.objects.exists()
    call_command(
        "db_worker", "--batch", "--no-startup-delay", "--no-reload", "--queue-name", "*", verbosity=0
    )
    result.refresh()
    assert result.status == "SUCCESSFUL"
    assert WorkerHeartbeat.objects.filter(worker=result.return_value).exists()
