from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from yanglao.core.models import JobProgress


@login_required
def job_progress(request, job_id: str):
    """The progress bar fragment of one job; only the user who started it (or a superuser) sees it."""
    job = get_object_or_404(JobProgress, job_id=job_id)
    if not request.user.is_superuser and job.owner_id != request.user.pk:
        return render(request, "404.html", status=404)
    return render(request, "core/progress.html", {"job": job})
