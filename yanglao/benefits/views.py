"""Benefits screens: the programmes in force and loading the shipped packs, the monthly runs (a background
task with a progress bar), a period's figures, differences and entitlements with review, approval and
the payment files, and the what-if of a draft pack; and the 补贴津贴 tab on the elder's page.

Each view parses, calls services and selectors, and renders; the reads, scoped to the user's region,
are in selectors.py."""

from __future__ import annotations

import io
import re
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from yanglao.accounts.scope import require_perm
from yanglao.benefits import packs, payments, selectors, services, tasks
from yanglao.benefits.models import BenefitRun, Entitlement, Programme
from yanglao.core.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from yanglao.core.models import JobProgress
from yanglao.core.permissions import Perm
from yanglao.regions import codes
from yanglao.registry.views import region_choices

PAGE_SIZE = 50
RUNS_PAGE_SIZE = 20
SAMPLE_ROWS = 10
POLICIES_DIR = Path(settings.BASE_DIR) / "policies"
POLICY_DOCS = Path(settings.BASE_DIR) / "docs" / "policies.md"
MAX_PACK_BYTES = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PERIOD = re.compile(r"^(\d{4})-(\d{1,2})$")


# -- helpers -------------------------------------------------------------------------------------------


def _require_any(user: Any, *perms: str) -> None:
    if not any(user.has_perm(perm) for perm in perms):
        raise PermissionDenied("您的角色没有此项操作权限")


def _reraise_refusals(error: DomainError) -> None:
    """A refusal (403/404) is a page of its own; anything else is shown beside its field."""
    if isinstance(error, PermissionDenied | NotFound):
        raise error


def _parse_period(raw: str, field: str = "period") -> date:
    raw = (raw or "").strip()
    if not raw:
        raise InvalidInput("请填写期间，如 2026-11", field=field)
    match = _PERIOD.match(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return date(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise InvalidInput(f"期间“{raw}”无效，应写作 2026-11", field=field) from None


def _this_month() -> str:
    return f"{timezone.localdate():%Y-%m}"


def _scope_prefix(user: Any) -> str | None:
    return "" if user.is_superuser else (user.region_id or None)


# -- programmes and loading the shipped packs ---------------------------------------------------------


def _programmes_page(
    request, *, errors: dict[str, str] | None = None, values: dict | None = None, status=200
):
    rows = list(Programme.objects.filter(is_current=True).order_by("pack", "code"))
    regions = selectors.region_names(p.jurisdiction for p in rows)
    context = {
        "programmes": [(p, regions.get(p.jurisdiction, "")) for p in rows],
        "may_load": request.user.has_perm(Perm.POLICIES_MANAGE),
        "errors": errors or {},
        "values": values or {"jurisdiction": ""},
        "policies_dir": POLICIES_DIR.name,
    }
    return render(request, "benefits/programmes.html", context, status=status)


@login_required
def programmes(request):
    """The current version of every programme, with what is still assumed highlighted."""
    _require_any(request.user, Perm.BENEFITS_REVIEW, Perm.BENEFITS_RUN, Perm.POLICIES_MANAGE)
    return _programmes_page(request)


@login_required
@require_POST
def policies_load(request):
    """Load the shipped packs (policies/), optionally re-targeted to one region; a pack error is shown
    as the loader words it (file: programme: field: problem) and nothing is loaded."""
    require_perm(request.user, Perm.POLICIES_MANAGE)
    values = {"jurisdiction": request.POST.get("jurisdiction", "").strip()}
    try:
        outcome = services.policies_load(
            actor=request.user, path=POLICIES_DIR, jurisdiction=values["jurisdiction"] or None
        )
    except packs.PackError as error:
        return _programmes_page(request, errors={"pack": str(error)}, values=values, status=400)
    except DomainError as error:
        _reraise_refusals(error)
        field = error.field if error.field == "jurisdiction" else "pack"
        return _programmes_page(request, errors={field: error.message}, values=values, status=400)
    created, updated, unchanged = (outcome[k] for k in ("created", "updated", "unchanged"))
    summary = f"政策包已加载：新增 {len(created)} 个，更新 {len(updated)} 个，未变 {len(unchanged)} 个"
    if created or updated:
        summary += "（" + "、".join([*created, *updated]) + "）"
    messages.success(request, summary)
    return redirect("benefits:programmes")


@login_required
def policy_docs(request):
    """docs/policies.md, the pack format and the shipped packs, as plain text (no internet needed)."""
    _require_any(request.user, Perm.BENEFITS_REVIEW, Perm.BENEFITS_RUN, Perm.POLICIES_MANAGE)
    try:
        text = POLICY_DOCS.read_text(encoding="utf-8")
    except OSError:
        raise NotFound("未找到政策包说明文档（docs/policies.md）") from None
    return render(request, "benefits/docs.html", {"text": text})


# -- runs -----------------------------------------------------------------------------------------------


def _run_enqueue(user: Any, values: dict[str, str]) -> str:
    """Check the form, then queue the run for the worker; the job id keys the progress bar."""
    require_perm(user, Perm.BENEFITS_RUN)
    first = _parse_period(values["period"])
    if (
        values["programme"]
        and not Programme.objects.filter(code=values["programme"], is_current=True).exists()
    ):
        raise InvalidInput(f"补贴项目“{values['programme']}”不存在或未加载", field="programme")
    region = codes.normalize(values["region"], field="region") if values["region"] else ""
    job = tasks.benefits_run_task.enqueue(
        user_id=user.pk, period=first.isoformat(), programme=values["programme"], region=region
    )
    return job.id


def _run_rows(runs: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        figures = (run.totals or {}).get("programmes", {})
        scope = (run.totals or {}).get("scope", {})
        per_programme = [
            {
                "code": code,
                "name": names.get(code, code),
                "beneficiaries": row["beneficiaries"],
                "amount": Decimal(row["amount"]),
            }
            for code, row in sorted(figures.items())
        ]
        rows.append(
            {
                "run": run,
                "scope": scope,
                "programmes": per_programme,
                "beneficiaries": sum(p["beneficiaries"] for p in per_programme),
                "amount": sum((p["amount"] for p in per_programme), Decimal(0)),
                "backpay": (run.totals or {}).get("backpay") or {},
            }
        )
    return rows


@login_required
def runs(request):
    """The run form (city) and the recent runs with their figures per programme."""
    user = request.user
    _require_any(user, Perm.BENEFITS_RUN, Perm.BENEFITS_REVIEW)
    values = {"period": _this_month(), "programme": "", "region": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            job_id = _run_enqueue(user, values)
        except DomainError as error:
            _reraise_refusals(error)
            errors[error.field if error.field in values else "general"] = error.message
            status = 400
        else:
            return redirect(f"{reverse('benefits:runs')}?job={job_id}")
    job_id = request.GET.get("job", "").strip()
    page = Paginator(
        BenefitRun.objects.select_related("started_by").order_by("-created_at", "-id"), RUNS_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    context = {
        "may_run": user.has_perm(Perm.BENEFITS_RUN),
        "values": values,
        "errors": errors,
        "current": Programme.objects.filter(is_current=True).order_by("code").values_list("code", "name"),
        "job_id": job_id,
        "job": _own_job(user, job_id),
        "page": page,
        "rows": _run_rows(page.object_list, selectors.programme_names()),
        "today_period": _this_month(),
    }
    return render(request, "benefits/runs.html", context, status=status)


def _own_job(user: Any, job_id: str) -> JobProgress | None:
    if not job_id:
        return None
    job = JobProgress.objects.filter(job_id=job_id).first()
    if job is not None and not user.is_superuser and job.owner_id != user.pk:
        raise NotFound("未找到该计算任务")
    return job


@login_required
def run_job(request, job_id: str):
    """htmx: a queued run or approval waits here until its task starts, then shows the progress bar."""
    _require_any(request.user, Perm.BENEFITS_RUN, Perm.BENEFITS_APPROVE)
    return render(
        request, "benefits/_run_job.html", {"job_id": job_id, "job": _own_job(request.user, job_id)}
    )


@login_required
def period_go(request):
    """The runs page's “open a period” box."""
    _require_any(request.user, Perm.BENEFITS_RUN, Perm.BENEFITS_REVIEW)
    try:
        first = _parse_period(request.GET.get("period", ""))
    except InvalidInput as error:
        messages.error(request, error.message)
        return redirect("benefits:runs")
    return redirect("benefits:period", period=first)


# -- a period ------------------------------------------------------------------------------------------


@login_required
def period(request, period: date):
    """One month in the user's region: figures per programme, differences from the month before, the
    entitlements (filters, search, pages), review and approval, and the payment files."""
    user = request.user
    _require_any(user, Perm.BENEFITS_REVIEW, Perm.BENEFITS_RUN)
    names = selectors.programme_names()
    scoped = selectors.scoped(user, Entitlement.objects.filter(period=period))
    summary, total = selectors.period_summary(scoped, names)
    previous = selectors.previous_period(period)
    prefix = _scope_prefix(user)
    differences = (
        selectors.period_differences(period, region=prefix, sample=SAMPLE_ROWS, names=names)
        if prefix is not None
        else []
    )
    districts = selectors.period_districts(scoped, user)
    may_review = user.has_perm(Perm.BENEFITS_REVIEW)
    may_approve = user.has_perm(Perm.BENEFITS_APPROVE)
    values, errors, rows = selectors.filter_entitlements(request.GET, scoped)
    page = Paginator(
        rows.order_by("programme_code", "region_code", "beneficiary_id", "id"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    waiting = selectors.districts_waiting(period) if may_approve else []
    job_id = request.GET.get("job", "").strip() if may_approve else ""
    context = {
        "job_id": job_id,
        "job": _own_job(user, job_id),
        "period": period,
        "previous": previous,
        "summary": summary,
        "total": total,
        "differences": differences,
        "districts": districts,
        "reviewable": [d for d in districts if d["drafts"] and d["mine"]] if may_review else [],
        "may_review": may_review,
        "may_approve": may_approve,
        "approvable": may_approve and not waiting and any(r["reviewed"] for r in summary),
        "waiting": [(code, selectors.region_names(waiting).get(code, code)) for code in waiting],
        "values": values,
        "errors": errors,
        "page": page,
        "rows": selectors.with_names(list(page.object_list)),
        "query": query.urlencode(),
        "programme_choices": sorted(names.items()),
        "states": Entitlement.State.choices,
        "region_levels": region_choices(user, values["region"])
        if user.region_id or user.is_superuser
        else [],
    }
    partial = bool(request.htmx and not request.htmx.boosted)
    context["partial"] = partial
    return render(request, "benefits/_entitlements.html" if partial else "benefits/period.html", context)


@login_required
@require_POST
def review(request, period: date):
    """A district confirms its entitlements (draft → reviewed)."""
    require_perm(request.user, Perm.BENEFITS_REVIEW)
    district = request.POST.get("district", "").strip()
    if not district and len(request.user.region_id or "") == 6:
        district = request.user.region_id
    try:
        count = services.entitlements_review(actor=request.user, period=period, district=district)
    except DomainError as error:
        _reraise_refusals(error)
        messages.error(request, error.message)
    else:
        messages.success(request, f"已审核 {district} {period:%Y-%m} 的 {count} 条补贴明细")
    return redirect("benefits:period", period=period)


@login_required
@require_POST
def approve(request, period: date):
    """The city approves the reviewed period (service credits reach the elders' accounts): checked
    here, then queued, and the period page shows its progress."""
    try:
        services.entitlements_approve_check(actor=request.user, period=period)
    except DomainError as error:
        _reraise_refusals(error)
        messages.error(request, error.message)
        return redirect("benefits:period", period=period)
    job = tasks.benefits_approve_task.enqueue(user_id=request.user.pk, period=period.isoformat())
    return redirect(f"{reverse('benefits:period', kwargs={'period': period})}?job={job.id}")


def _district_label(district: str) -> str:
    return selectors.region_names([district]).get(district, district)


@login_required
def roster(request, period: date, district: str):
    """The district's payment roster (xlsx), masked unless the role may see the numbers."""
    content, _count, _total = payments.roster_workbook(actor=request.user, period=period, district=district)
    filename = f"补贴发放花名册_{_district_label(district)}_{period:%Y-%m}.xlsx"
    return FileResponse(io.BytesIO(content), as_attachment=True, filename=filename, content_type=XLSX)


@login_required
@require_POST
def bank(request, period: date, district: str):
    """The bank's payment file (csv, full account numbers): approvers only, and each file is audited,
    so it is a POST behind a confirmation, never a link a browser might prefetch."""
    text, _written, _missing = payments.bank_file(actor=request.user, period=period, district=district)
    filename = f"银行发放文件_{_district_label(district)}_{period:%Y-%m}.csv"
    return FileResponse(
        io.BytesIO(text.encode("utf-8")),
        as_attachment=True,
        filename=filename,
        content_type="text/csv; charset=utf-8",
    )


# -- what-if ---------------------------------------------------------------------------------------------


def _whatif(upload: Any, values: dict[str, str]) -> list[dict[str, Any]]:
    """Evaluate an uploaded draft pack in a temporary directory that is gone afterwards; nothing is saved."""
    first = _parse_period(values["period"])
    jurisdiction = (
        codes.normalize(values["jurisdiction"], field="jurisdiction") if values["jurisdiction"] else None
    )
    if upload is None:
        raise InvalidInput("请选择政策包文件（.yaml）", field="policy")
    name = Path(upload.name or "").name or "draft.yaml"
    if Path(name).suffix.lower() not in (".yaml", ".yml"):
        raise InvalidInput("只能上传 YAML 政策包文件（.yaml、.yml）", field="policy")
    if upload.size > MAX_PACK_BYTES:
        raise InvalidInput("文件过大，政策包文件最大 1 MB", field="policy")
    content = upload.read()
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("政策包文件应为 UTF-8 编码的文本", field="policy") from None
    with tempfile.TemporaryDirectory(prefix="yanglao-whatif-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        found = selectors.whatif(path=path, period=first, jurisdiction=jurisdiction)
    regions = selectors.region_names(code for item in found for code in item.by_district)
    results = []
    for item in found:
        replaces = item.replaces
        results.append(
            {
                "item": item,
                "districts": [
                    {"code": code, "name": regions.get(code, code), **figures}
                    for code, figures in sorted(item.by_district.items())
                ],
                "replaces": replaces,
                "heads_change": item.heads - replaces["heads"] if replaces else None,
                "cost_change": item.cost - replaces["cost"] if replaces else None,
            }
        )
    return results


@login_required
def whatif(request):
    """Upload a draft pack and a period: heads and cost per programme and district, beside the
    programme in force; nothing is written."""
    require_perm(request.user, Perm.POLICIES_MANAGE)
    values = {"period": _this_month(), "jurisdiction": ""}
    errors: dict[str, str] = {}
    results = None
    status = 200
    if request.method == "POST":
        values = {key: request.POST.get(key, "").strip() for key in values}
        try:
            results = _whatif(request.FILES.get("policy"), values)
        except packs.PackError as error:
            errors["policy"] = str(error)
            status = 400
        except DomainError as error:
            _reraise_refusals(error)
            errors[error.field if error.field in (*values, "policy") else "policy"] = error.message
            status = 400
    context = {"values": values, "errors": errors, "results": results}
    return render(request, "benefits/whatif.html", context, status=status)


# -- the elder's page ------------------------------------------------------------------------------------


def elder_tab(request: Any, elder: Any) -> str:
    """The 补贴津贴 tab: the latest entitlements with their reasons, the balance and the ledger, and where
    cash benefits are paid (发放账户), which holders of elders.edit register or change here."""
    context = {
        **selectors.elder_benefits(elder.pk),
        "elder": elder,
        "may_edit": request.user.has_perm(Perm.ELDERS_EDIT),
    }
    return render_to_string("benefits/_elder_tab.html", context, request=request)


@login_required
@require_POST
def bank_account(request, elder_id: int):
    """Register or change the elder's 发放账户 from the tab; the answer comes back on the elder's page."""
    from yanglao.registry import selectors as registry_selectors

    elder = registry_selectors.elder_get(request.user, elder_id)
    try:
        services.bank_account_set(
            actor=request.user,
            elder=elder,
            bank_name=request.POST.get("bank_name", ""),
            account_name=request.POST.get("account_name", ""),
            account_number=request.POST.get("account_number", ""),
        )
    except DomainError as error:
        _reraise_refusals(error)
        messages.error(request, f"发放账户未保存：{error.message}")
    else:
        messages.success(request, "发放账户已保存")
    return redirect(f"{reverse('registry:elder_detail', args=[elder.pk])}?tab=benefits")
