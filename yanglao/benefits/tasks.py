"""The monthly run as a background task (django-tasks): the runs page enqueues it and shows a progress
bar keyed by the task result id (core.jobs.Progress). benefits_run takes no progress callback, so the bar
starts, then finishes with the run's totals (or fails with the reason)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django_tasks import task

from yanglao.core.errors import DomainError
from yanglao.core.jobs import Progress


def totals_text(totals: dict[str, Any]) -> str:
    """“高龄津贴 2 人 600.00 元；…” for the progress message (the codes when names are unknown)."""
    from yanglao.benefits.models import Programme

    figures = totals.get("programmes", {})
    names = dict(Programme.objects.filter(code__in=list(figures)).values_list("code", "name"))
    parts = [
        f"{names.get(code, code)} {row['beneficiaries']} 人 {row['amount']} 元"
        for code, row in sorted(figures.items())
    ]
    return "；".join(parts) or "本期没有适用的补贴项目"


@task(takes_context=True)
def benefits_run_task(
    context: Any, *, user_id: int, period: str, programme: str = "", region: str = ""
) -> dict[str, Any]:
    """Compute a period's entitlements for the user who asked (the service checks their permission)."""
    from yanglao.accounts.models import User
    from yanglao.benefits import services

    job_id = context.task_result.id
    actor = User.objects.get(pk=user_id)
    first = date.fromisoformat(period)
    progress = Progress.start(job_id, f"补贴计算 {first:%Y-%m}", owner=actor, message="计算中")
    try:
        run = services.benefits_run(
            actor=actor, period=first, programme=programme or None, region=region or None
        )
    except DomainError as error:
        progress.fail(error.message)
        return {"failed": error.message}
    except Exception:
        progress.fail("计算时发生内部错误，请联系管理员")
        raise
    progress.finish(f"已完成：{totals_text(run.totals)}")
    return {"run": run.pk, "totals": run.totals}
