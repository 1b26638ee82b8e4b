"""The delivery job is registered with the scheduler every ten seconds and runs the outbox."""

from datetime import timedelta

from yanglao.core import scheduling
from yanglao.notifications import tasks
from yanglao.notifications.enums import Status


def test_the_job_is_scheduled_every_ten_seconds():
    job = scheduling.REGISTRY["notifications.deliver_outbox"]
    assert job.task is tasks.deliver_outbox
    assert job.every == timedelta(seconds=10)


def test_the_job_delivers_what_is_due(enqueue):
    notification = enqueue()
    result = tasks.deliver_outbox.enqueue()
    assert result.return_value["sent"] == 1
    notification.refresh_from_db()
    assert notification.status == Status.SENT


def test_the_scheduler_enqueues_it_and_it_runs(enqueue, monkeypatch):
    # Only this job: the other apps' periodic jobs are theirs to test.
    job = scheduling.REGISTRY["notifications.deliver_outbox"]
    monkeypatch.setattr(scheduling, "REGISTRY", {job.name: job})
    notification = enqueue()
    assert "notifications.deliver_outbox" in scheduling.run_due()
    notification.refresh_from_db()
    assert notification.status == Status.SENT
