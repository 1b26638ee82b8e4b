"""Pages of the elder import: the upload with its progress bar, the template, the status fragment that
the page polls, and the error workbook (for the user who uploaded the file only)."""

from __future__ import annotations

import io

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from yanglao.accounts.scope import require_perm
from yanglao.core.errors import InvalidInput, NotFound
from yanglao.core.models import JobProgress
from yanglao.core.permissions import Perm
from yanglao.registry import importing, validation
from yanglao.registry.models_import import ImportRun


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="导入内容", choices=ImportRun.Kind.choices, initial=ImportRun.Kind.ELDERS)
    file = forms.FileField(
        label="文件",
        error_messages={"required": "请选择要上传的文件", "empty": "文件是空的", "invalid": "上传的不是文件"},
    )


def _page(request, form: UploadForm, run: ImportRun | None = None, status: int = 200):
    return render(
        request,
        "registry/import.html",
        {
            "form": form,
            "run": run,
            "job": _job(run),
            "runs": importing.import_runs_recent(request.user),
            "columns": validation.COLUMNS,
            "event_headers": list(importing.EVENT_HEADERS),
            "max_mb": importing.MAX_UPLOAD_BYTES // (1024 * 1024),
        },
        status=status,
    )


def _job(run: ImportRun | None) -> JobProgress | None:
    if run is None or not run.job_id:
        return None
    return JobProgress.objects.filter(job_id=run.job_id).first()


@login_required
def import_page(request):
    """GET: the upload form, the template link and the user's recent imports. POST: keep the file,
    queue its import and go to its progress bar."""
    require_perm(request.user, Perm.ELDERS_IMPORT)
    if request.method != "POST":
        return _page(request, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            run = importing.import_submit(
                actor=request.user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
            )
        except InvalidInput as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect(reverse("registry:import_status", args=[run.job_id]))
    return _page(request, form, status=400)


@login_required
def import_status(request, job_id: str):
    """One import: the progress bar while it runs, then the counts and the error workbook's link.
    An htmx poll gets the fragment alone."""
    require_perm(request.user, Perm.ELDERS_IMPORT)
    run = importing.import_run_get(request.user, job_id)
    if request.htmx:
        return render(request, "registry/import_status.html", {"run": run, "job": _job(run)})
    return _page(request, UploadForm(), run)


@login_required
def import_errors(request, job_id: str):
    """The error workbook of a finished import, for the user who uploaded the file."""
    require_perm(request.user, Perm.ELDERS_IMPORT)
    run = importing.import_run_get(request.user, job_id)
    path = importing.errors_file_path(run)
    if path is None:
        raise NotFound("该次导入没有错误工作簿")
    stem = run.file_name.rsplit(".", 1)[0] or "导入"
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}_错误.xlsx")


@login_required
def import_template(request):
    """The template with the Chinese headers, hints, valid options and the user's community codes."""
    require_perm(request.user, Perm.ELDERS_IMPORT)
    content = importing.template_workbook(request.user)
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=importing.TEMPLATE_FILE_NAME)
