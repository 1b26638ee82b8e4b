"""The monitoring app's periodic jobs: the timed rules every five minutes (electricity, which compares
whole days, once a day after midnight), and the escalation of unanswered alarms every fifteen seconds."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from django_tasks import task

from yanglao.core.scheduling import periodic
from yanglao.monitoring import rules, services


@periodic("monitoring.rules", every=timedelta(minutes=5))
@task()
def evaluate_rules() -> dict[str, Any]:
    """Every five minutes: no motion, no water, water running, devices offline (rules.py)."""
    return rules.evaluate(rules=rules.FREQUENT)


@periodic("monitoring.electricity", at=time(0, 30))
@task()
def evaluate_electricity() -> dict[str, Any]:
    """Daily, once yesterday is complete: yesterday's electricity against the household's baseline."""
    return rules.evaluate(rules=[rules.Rule.ELECTRICITY])


@periodic("monitoring.escalation", every=timedelta(seconds=15))
@task()
def escalate_alarms() -> int:
    """Every fifteen seconds: alarms nobody acknowledged in time go to the supervisors."""
    return services.alarm_escalate_due()
