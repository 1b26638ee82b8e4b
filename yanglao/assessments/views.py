"""Assessment screens: the list of requests and assignments, the request form, an assessment's page
(assign, review, cancel), the assessors' tablet form (one group per screen, autosaved), statistics by
level, and the tab on the elder's page. Each view parses, calls one service or selector, and renders."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from yanglao.accounts.models import Organisation
from yanglao.accounts.scope import home_region, require_perm
from yanglao.assessments import instruments, selectors, services
from yanglao.assessments.enums import OPEN, Level, RequestKind, RiskEvent, Status
from yanglao.assessments.models import Assessment
from yanglao.core.errors import DomainError, InvalidInput
from yanglao.core.permissions import Perm
from yanglao.registry import selectors as registry_selectors
from yanglao.registry.views import region_choices

PAGE_SIZE = 50
_SPLIT = re.compile(r"[\s,，、;；]+")


def _filters(params) -> selectors.AssessmentFilter:
    def values(name: str) -> list[str]:
        return [v for v in params.getlist(name) if v.strip()]

    return selectors.AssessmentFilter(
        region=params.get("region", "").strip(),
        statuses=values("status"),
        kinds=values("kind"),
        levels=values("level"),
        q=params.get("q", "").strip(),
        open_only=params.get("open") == "1",
        sort=params.get("sort", "-created") or "-created",
    )


@login_required
def assessment_list(request):
    """Requests and assignments in the user's scope; an assessor sees their organisation's work."""
    filters = _filters(request.GET)
    error = None
    try:
        queryset = selectors.assessment_list(request.user, filters)
    except InvalidInput as problem:
        error, queryset = problem, selectors.assessments_visible(request.user).none()
    page = Paginator(queryset.select_related("assessor_1", "assessor_2"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "error": error,
        "query": query.urlencode(),
        "statuses": Status.choices,
        "kinds": RequestKind.choices,
        "levels": Level.choices,
        "counts": selectors.counts_for(request.user),
        "region_levels": region_choices(request.user, filters.region)
        if request.user.region_id or request.user.is_superuser
        else [],
        "is_assessor": request.user.has_perm(Perm.ASSESSMENTS_PERFORM),
    }
    template = (
        "assessments/_results.html" if request.htmx and not request.htmx.boosted else "assessments/list.html"
    )
    return render(request, template, context)


@login_required
def assessment_request(request):
    """Request an assessment for one elder (from the elder's page)."""
    require_perm(request.user, Perm.ASSESSMENTS_REQUEST)
    raw = request.GET.get("elder") or request.POST.get("elder") or ""
    elder = registry_selectors.elder_get(request.user, int(raw) if raw.isdigit() else 0)
    previous = services.effective_of(elder.pk)
    errors: dict[str, str] = {}
    values = {
        "kind": request.POST.get("kind", RequestKind.ROUTINE if previous else RequestKind.FIRST),
        "reason": request.POST.get("reason", ""),
        "instrument": request.POST.get("instrument", instruments.DEFAULT),
    }
    if request.method == "POST":
        try:
            assessment = services.assessment_request(actor=request.user, elder=elder, **values)
        except DomainError as error:
            errors[error.field or "general"] = error.message
        else:
            messages.success(request, f"已为 {elder.name} 申请{assessment.get_kind_display()}")
            return redirect("assessments:detail", assessment_id=assessment.pk)
    context = {
        "elder": elder,
        "previous": previous,
        "values": values,
        "errors": errors,
        "kinds": RequestKind.choices,
        "instruments": instruments.all_instruments().values(),
    }
    return render(request, "assessments/request.html", context)


def _result_rows(assessment: Assessment) -> list[dict[str, Any]]:
    """Each group with each item's answer in the instrument's own wording (the elder's history)."""
    try:
        definition = instruments.get(assessment.instrument)
    except DomainError:
        return []
    rows = []
    for group in definition.groups:
        items = []
        for item in group.items:
            score = assessment.answers.get(item.key)
            option = item.option(score) if score is not None else None
            items.append({"item": item, "score": score, "text": option.text if option else ""})
        done = [i["score"] for i in items if i["score"] is not None]
        rows.append({"group": group, "items": items, "score": sum(done), "answered": len(done)})
    return rows


@login_required
def assessment_detail(request, assessment_id: int):
    assessment = selectors.assessment_get(request.user, assessment_id)
    may = services.may_act(request.user, assessment)
    context = {
        "a": assessment,
        "may": may,
        "rows": _result_rows(assessment),
        "organisations": selectors.assessor_organisations(assessment.elder.residence_region_id)
        if may["assign"]
        else [],
        "risk_labels": dict(RiskEvent.choices),
        "definition": _definition_or_none(assessment.instrument),
    }
    return render(request, "assessments/detail.html", context)


def _definition_or_none(code: str) -> instruments.Instrument | None:
    return instruments.all_instruments().get(code)


@login_required
@require_POST
def assessment_assign(request, assessment_id: int):
    assessment = selectors.assessment_get(request.user, assessment_id)
    organisation = Organisation.objects.filter(pk=request.POST.get("organisation") or 0).first()
    try:
        if organisation is None:
            raise InvalidInput("请选择评估机构", field="organisation")
        services.assessment_assign(actor=request.user, assessment=assessment, organisation=organisation)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已派给 {organisation.name}")
    return redirect("assessments:detail", assessment_id=assessment.pk)


@login_required
@require_POST
def assessment_cancel(request, assessment_id: int):
    assessment = selectors.assessment_get(request.user, assessment_id)
    try:
        services.assessment_cancel(
            actor=request.user, assessment=assessment, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "评估申请已撤销")
    return redirect("assessments:detail", assessment_id=assessment.pk)


@login_required
@require_POST
def assessment_review(request, assessment_id: int):
    assessment = selectors.assessment_get(request.user, assessment_id)
    approve = request.POST.get("decision") == "approve"
    try:
        services.assessment_review(
            actor=request.user, assessment=assessment, approve=approve, note=request.POST.get("note", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "评估结果已生效" if approve else "已退回评估员修改")
    return redirect("assessments:detail", assessment_id=assessment.pk)


# -- the assessors' tablet form -----------------------------------------------------------------------


def _steps(definition: instruments.Instrument) -> list[str]:
    """One screen per group, then the adjustments and attestation screen."""
    return [g.name for g in definition.groups] + ["补充信息与确认"]


def _draft_changes(post, definition: instruments.Instrument) -> dict[str, Any]:
    """What a step's form (or its autosave) sends, as the draft service's arguments."""
    changes: dict[str, Any] = {}
    answers: dict[str, Any] = {}
    for key in definition.items:
        raw = post.get(f"item_{key}")
        if raw not in (None, ""):
            try:
                answers[key] = int(raw)
            except ValueError:
                answers[key] = raw  # the service names the item and the bad value
    if answers:
        changes["answers"] = answers
    if post.get("extras") == "1":
        changes["coma"] = post.get("coma") == "on"
        changes["diagnoses"] = [c for c in _SPLIT.split(post.get("diagnoses", "")) if c]
        events = {}
        for kind in RiskEvent.values:
            raw = post.get(f"risk_{kind}", "").strip()
            if raw:
                try:
                    events[kind] = int(raw)
                except ValueError:
                    raise InvalidInput(
                        f"“{RiskEvent(kind).label}”次数应为整数", field=f"risk_{kind}"
                    ) from None
        changes["risk_events"] = events
        raw_date = post.get("assessed_on", "").strip()
        try:
            changes["assessed_on"] = date.fromisoformat(raw_date) if raw_date else None
        except ValueError:
            raise InvalidInput("评估日期格式应为 年-月-日", field="assessed_on") from None
        changes["place"] = post.get("place", "")
        changes["notes"] = post.get("notes", "")
    return changes


@login_required
def assessment_form(request, assessment_id: int, step: int = 1):
    """One screen of the on-site form. POST saves the screen and moves on (or back)."""
    assessment = selectors.assessment_get(request.user, assessment_id)
    services.require_assessor(request.user, assessment)
    definition = instruments.get(assessment.instrument)
    steps = _steps(definition)
    step = min(max(step, 1), len(steps))
    error = None
    if request.method == "POST":
        try:
            services.assessment_save_draft(
                actor=request.user, assessment=assessment, **_draft_changes(request.POST, definition)
            )
        except DomainError as problem:
            error = problem
            assessment.refresh_from_db()
        else:
            if request.POST.get("go", "").startswith("attest"):
                return _attest(request, assessment, len(steps))
            target = step + (-1 if request.POST.get("go") == "back" else 1)
            if request.POST.get("go") == "stay" or target < 1:
                target = step
            return redirect("assessments:form", assessment_id=assessment.pk, step=min(target, len(steps)))
    preview = None
    missing: list[str] = []
    if step == len(steps):
        try:
            preview = services.result_of(assessment)
        except DomainError as problem:
            missing = [d["message"] for d in (problem.details or [])]
    context = {
        "a": assessment,
        "definition": definition,
        "group": definition.groups[step - 1] if step <= len(definition.groups) else None,
        "step": step,
        "steps": steps,
        "step_numbers": range(1, len(steps) + 1),
        "answered": {
            g.code: sum(1 for i in g.items if i.key in assessment.answers) for g in definition.groups
        },
        "error": error,
        "preview": preview,
        "missing": missing,
        "risk_events": [(k, label, assessment.risk_events.get(k, "")) for k, label in RiskEvent.choices],
        "may": services.may_act(request.user, assessment),
        "today": timezone.localdate(),
    }
    return render(request, "assessments/form.html", context)


@login_required
@require_POST
def assessment_autosave(request, assessment_id: int):
    """htmx: save the screen's answers as they are chosen; answers the saved time or the problem."""
    assessment = selectors.assessment_get(request.user, assessment_id)
    definition = instruments.get(assessment.instrument)
    try:
        saved = services.assessment_save_draft(
            actor=request.user, assessment=assessment, **_draft_changes(request.POST, definition)
        )
    except DomainError as problem:
        return render(request, "assessments/_autosave.html", {"error": problem}, status=200)
    return render(request, "assessments/_autosave.html", {"saved_at": saved.draft_saved_at, "a": saved})


def _attest(request, assessment: Assessment, last: int):
    """The signed-in assessor attests; or, on the same tablet, the second assessor with their password."""
    actor = request.user
    if request.POST.get("go") == "attest_second":
        actor = authenticate(
            request,
            username=request.POST.get("username", "").strip(),
            password=request.POST.get("password", ""),
        )
        if actor is None:
            messages.error(request, "第二名评估员的用户名或密码不正确")
            return redirect("assessments:form", assessment_id=assessment.pk, step=last)
    try:
        done = services.assessment_attest(actor=actor, assessment=assessment)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("assessments:form", assessment_id=assessment.pk, step=last)
    name = actor.full_name or actor.get_username()
    if done.status == Status.SUBMITTED:
        messages.success(request, f"{name} 已确认；两名评估员均已确认，评估已提交审核")
        return redirect("assessments:detail", assessment_id=assessment.pk)
    messages.success(request, f"{name} 已确认；还需另一名评估员确认")
    return redirect("assessments:form", assessment_id=assessment.pk, step=last)


# -- statistics and the elder's tab -------------------------------------------------------------------


@login_required
def statistics(request):
    """Elders by effective level for each child region, with a stacked bar chart."""
    code = request.GET.get("region", "").strip() or home_region(request.user).code
    region, rows, overall = selectors.level_statistics(request.user, code)
    chart = {
        "regions": [r.region.name if r.region else r.code for r in rows],
        "series": [
            {"code": c, "label": str(label), "data": [r.counts[c] for r in rows]}
            for c, label in Level.choices
        ]
        + [{"code": "none", "label": "未评估", "data": [r.not_assessed for r in rows]}],
    }
    parents = []
    node = region
    while node is not None and (
        request.user.is_superuser or node.code.startswith(request.user.region_id or "~")
    ):
        parents.insert(0, node)
        node = node.parent
    return render(
        request,
        "assessments/statistics.html",
        {
            "region": region,
            "rows": rows,
            "overall": overall,
            "levels": Level.choices,
            "chart": chart,
            "parents": parents,
        },
    )


def elder_tab(request, elder) -> str:
    """The 能力评估 tab of the elder's page: the level in force and every assessment with its answers."""
    history = selectors.history(request.user, elder)
    current = next((a for a in history if a.status == Status.EFFECTIVE), None)
    context = {
        "elder": elder,
        "current": current,
        "history": [(a, _result_rows(a)) for a in history],
        "has_open": any(a.status in OPEN for a in history),
        "may_request": request.user.has_perm(Perm.ASSESSMENTS_REQUEST),
        "today": timezone.localdate(),
    }
    return render_to_string("assessments/_elder_tab.html", context, request=request)
