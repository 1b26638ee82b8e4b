"""Facility screens: the list with filters, search, sorting and pages (htmx refreshes only the results),
a facility's page with its status and change history, and the create and edit forms. Each view parses,
calls one selector or service, and renders; service errors are shown beside the fields in Chinese."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from yanglao.accounts.scope import require_perm
from yanglao.core.errors import DomainError, InvalidInput
from yanglao.core.models import AuditLog
from yanglao.core.permissions import Perm
from yanglao.facilities import selectors, services, validation
from yanglao.facilities.enums import GRADES, OperatingModel, ServiceCode, Status
from yanglao.facilities.forms import FacilityForm, StatusForm
from yanglao.facilities.models import Facility
from yanglao.registry.views import region_choices

PAGE_SIZE = 50
_LTC = {"1": True, "0": False}


def filters_from(params) -> selectors.FacilityFilter:
    def values(name: str) -> list[str]:
        return [v for v in params.getlist(name) if v.strip()]  # "全部" in a select sends an empty value

    return selectors.FacilityFilter(
        region=params.get("region", "").strip(),
        kinds=values("kind"),
        operating_models=values("operating_model"),
        grades=values("grade"),
        ltc=_LTC.get(params.get("ltc", "")),
        statuses=values("status"),
        services=values("service"),
        q=params.get("q", "").strip(),
        sort=params.get("sort", "kind") or "kind",
    )


@login_required
def facility_list(request):
    """Facilities in the user's region; htmx requests get only the results."""
    filters = filters_from(request.GET)
    error = None
    try:
        queryset = selectors.facility_list(request.user, filters)
    except InvalidInput as problem:
        error, queryset = problem, selectors.facilities_visible(request.user).none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "error": error,
        "totals": selectors.totals(queryset) if error is None else None,
        "query": query.urlencode(),
        "sort_query": urlencode([(k, v) for k, vs in query.lists() if k != "sort" for v in vs]),
        "kinds": selectors.kinds(),
        "operating_models": OperatingModel.choices,
        "grades": [(str(n), label) for n, label in GRADES],
        "statuses": Status.choices,
        "services": ServiceCode.choices,
        "region_levels": region_choices(request.user, filters.region)
        if request.user.region_id or request.user.is_superuser
        else [],
        "may_manage": request.user.has_perm(Perm.FACILITIES_MANAGE),
    }
    template = (
        "facilities/_results.html" if request.htmx and not request.htmx.boosted else "facilities/list.html"
    )
    return render(request, template, context)


@login_required
def facility_detail(request, facility_id: int):
    facility = selectors.facility_get(request.user, facility_id)
    may_manage = request.user.has_perm(Perm.FACILITIES_MANAGE)
    context = {
        "f": facility,
        "may_manage": may_manage,
        "status_form": StatusForm(initial={"status": _next_status(facility)}),
        "history": _history(facility) if may_manage else [],
    }
    return render(request, "facilities/detail.html", context)


_ACTIONS = {
    "facility.create": _lazy("登记"),
    "facility.update": _lazy("修改"),
    "facility.status": _lazy("变更状态"),
}
_MORE_LABELS = {
    "status": _lazy("状态"),
    "status_since": _lazy("状态起始日期"),
    "status_reason": _lazy("原因"),
}


def _history(facility: Facility) -> list[dict]:
    """The facility's audit rows, newest first, with each changed fact named as on the form (a
    registration is shown without its facts: they are on the page)."""
    rows = AuditLog.objects.filter(object_type="facilities.facility", object_id=str(facility.pk))
    history = []
    for row in rows.order_by("-at", "-id")[:20]:
        after = row.changes.get("after", {}) if row.action != "facility.create" else {}
        history.append(
            {
                "at": row.at,
                "actor": row.actor_name,
                "action": _ACTIONS.get(row.action, row.action),
                "changes": [
                    (_MORE_LABELS.get(key) or validation.LABELS.get(key, key), value)
                    for key, value in after.items()
                ],
            }
        )
    return history


def _next_status(facility: Facility) -> str:
    return Status.SUSPENDED if facility.status == Status.OPERATING else Status.OPERATING


@login_required
def facility_create(request):
    require_perm(request.user, Perm.FACILITIES_MANAGE)
    initial = {"region": request.GET.get("region", ""), "kind": request.GET.get("kind", "")}
    form = FacilityForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            facility = services.facility_create(actor=request.user, **form.facts())
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("已登记设施：%(name)s") % {"name": facility.name})
            return redirect("facilities:detail", facility_id=facility.pk)
    return _form_page(request, form, None)


@login_required
def facility_edit(request, facility_id: int):
    facility = selectors.facility_get(request.user, facility_id)
    require_perm(request.user, Perm.FACILITIES_MANAGE)
    initial = validation.facts_of(facility)
    initial.update(kind=facility.kind_id, region=facility.region_id, operator=facility.operator_id)
    form = FacilityForm(
        request.POST or None, initial=initial, user=request.user, current_operator=facility.operator_id
    )
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.facts().items() if k in form.changed_data}
        try:
            services.facility_update(actor=request.user, facility=facility, **changes)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("设施信息已保存") if changes else _("没有需要保存的修改"))
            return redirect("facilities:detail", facility_id=facility.pk)
    return _form_page(request, form, facility)


def _form_page(request, form: FacilityForm, facility: Facility | None):
    selected = str(form["region"].value() or "")
    context = {
        "form": form,
        "f": facility,
        "creating": facility is None,
        "region_levels": region_choices(request.user, selected),
        "kinds": selectors.kinds(),
    }
    return render(request, "facilities/form.html", context)


@login_required
@require_POST
def facility_status(request, facility_id: int):
    facility = selectors.facility_get(request.user, facility_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("facilities:detail", facility_id=facility.pk)
    try:
        done = services.facility_set_status(actor=request.user, facility=facility, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("设施状态已改为“%(status)s”") % {"status": done.get_status_display()})
    return redirect("facilities:detail", facility_id=facility.pk)
