"""The monthly run and the city's approval as background tasks (django-tasks): the pages enqueue them
and show a progress bar keyed by the task result id (core.jobs.Progress). Neither service takes a
progress callback, so the bar starts, then finishes with the outcome (or fails with the reason). At a
million elders a run takes ~10 s and an approval up to ~30 s: too long for a request to wait on."""

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


@task(takes_context=True)
def benefits_approve_task(context: Any, *, user_id: int, period: str) -> dict[str, Any]:
    """The city's approval of a period for the user who asked (the service checks their permission)."""
    from yanglao.accounts.models import User
    from yanglao.benefits import services

    actor = User.objects.get(pk=user_id)
    first = date.fromisoformat(period)
    progress = Progress.start(
        context.task_result.id, f"补贴审批 {first:%Y-%m}", owner=actor, message="审批中"
    )
    try:
        done = services.entitlements_approve(actor=actor, period=first)
    except DomainError as error:
        progress.fail(error.message)
        return {"failed": error.message}
    except Exception:
        progress.fail("审批时发生内部错误，请联系管理员")
        raise
    progress.finish(
        f"已审批 {first:%Y-%m} 的 {done['approved']} 条补贴明细，计入服务账户 {done['credited']} 条"
    )
    return done
