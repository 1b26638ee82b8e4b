"""The assessment app's periodic job: expire results past their validity, remind before expiry."""

from __future__ import annotations

from datetime import time
from typing import Any

from django_tasks import task

from yanglao.assessments import services
from yanglao.core.scheduling import periodic


@periodic("assessments.expiry", at=time(2, 30))
@task()
def expire_and_remind() -> dict[str, Any]:
    """Daily: results past their validity expire; those expiring soon get a routine request."""
    return services.assessments_expire_and_remind()
