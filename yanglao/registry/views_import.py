"""The import page: upload with its progress bar, templates, the status fragment that the page polls,
and the error workbook (for the user who uploaded the file only). One page for every kind of import
(registry.uploads.KINDS): elders and life events, and what higher apps register (facilities, workers)."""

from __future__ import annotations

import io

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from yanglao.core.errors import DomainError, NotFound, PermissionDenied
from yanglao.core.models import JobProgress
from yanglao.registry import uploads
from yanglao.registry.models_import import ImportRun


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="导入内容")
    file = forms.FileField(
        label="文件",
        error_messages={"required": "请选择要上传的文件", "empty": "文件是空的", "invalid": "上传的不是文件"},
    )

    def __init__(self, *args, kinds: list[uploads.ImportKind], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.code, k.label) for k in kinds]


def _kinds(request) -> list[uploads.ImportKind]:
    kinds = uploads.kinds_for(request.user)
    if not kinds:
        raise PermissionDenied("您的角色没有批量导入的权限")
    return kinds


def _page(request, form: UploadForm, kinds, run: ImportRun | None = None, status: int = 200):
    return render(
        request,
        "registry/import.html",
        {
            "form": form,
            "kinds": kinds,
            "run": run,
            "job": _job(run),
            "runs": uploads.import_runs_recent(request.user),
            "max_mb": uploads.MAX_UPLOAD_BYTES // (1024 * 1024),
        },
        status=status,
    )


def _job(run: ImportRun | None) -> JobProgress | None:
    if run is None or not run.job_id:
        return None
    return JobProgress.objects.filter(job_id=run.job_id).first()


@login_required
def import_page(request):
    """GET: the upload form, the templates and the user's recent imports (?kind= preselects one).
    POST: keep the file, queue its import and go to its progress bar."""
    kinds = _kinds(request)
    if request.method != "POST":
        initial = (
            request.GET.get("kind") if request.GET.get("kind") in {k.code for k in kinds} else kinds[0].code
        )
        return _page(request, UploadForm(kinds=kinds, initial={"kind": initial}), kinds)
    form = UploadForm(request.POST, request.FILES, kinds=kinds)
    if form.is_valid():
        try:
            run = uploads.import_submit(
                actor=request.user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect(reverse("registry:import_status", args=[run.job_id]))
    return _page(request, form, kinds, status=400)


@login_required
def import_status(request, job_id: str):
    """One import: the progress bar while it runs, then the counts and the error workbook's link.
    An htmx poll gets the fragment alone."""
    run = uploads.import_run_get(request.user, job_id)
    if request.htmx:
        return render(request, "registry/import_status.html", {"run": run, "job": _job(run)})
    kinds = _kinds(request)
    return _page(request, UploadForm(kinds=kinds, initial={"kind": run.kind}), kinds, run)


@login_required
def import_errors(request, job_id: str):
    """The error workbook of a finished import, for the user who uploaded the file."""
    run = uploads.import_run_get(request.user, job_id)
    path = uploads.errors_file_path(run)
    if path is None:
        raise NotFound("该次导入没有错误工作簿")
    stem = run.file_name.rsplit(".", 1)[0] or "导入"
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}_错误.xlsx")


@login_required
def import_template(request, kind: str = ImportRun.Kind.ELDERS):
    """The template of one kind: Chinese headers, hints and the accepted values."""
    chosen = uploads.kind_get(request.user, kind)
    content = chosen.template(request.user)
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=chosen.template_name)
