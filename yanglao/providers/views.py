"""Provider, care-worker and catalogue screens. Each view parses input, calls one selector or service,
and renders; a service's errors are shown beside the fields in Chinese."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from yanglao.accounts.models import Organisation
from yanglao.accounts.roles import Role
from yanglao.accounts.scope import home_region, require_perm
from yanglao.core.errors import DomainError, InvalidInput
from yanglao.core.permissions import Perm
from yanglao.providers import selectors, services
from yanglao.providers.enums import CertificateGrade, LegalForm, ProviderStatus, WorkerStatus
from yanglao.providers.forms import (
    AreasForm,
    CatalogueItemForm,
    CertificateForm,
    ContractForm,
    OfferForm,
    ProviderForm,
    ProviderStatusForm,
    TrainingForm,
    WorkerForm,
    WorkerStatusForm,
)
from yanglao.providers.models import Provider
from yanglao.regions import codes
from yanglao.regions.models import Region
from yanglao.registry.views import region_choices

PAGE_SIZE = 50
EXPIRING_PANEL_ROWS = 10


def _may_manage(user: Any) -> bool:
    return user.has_perm(Perm.PROVIDERS_MANAGE)


def _may_edit_workers(user: Any, organisation_id: int | None = None) -> bool:
    if _may_manage(user):
        return True
    return user.role == Role.PROVIDER_ADMIN and (
        organisation_id is None or user.organisation_id == organisation_id
    )


def _query(request) -> tuple[str, str]:
    """The list's query string without the page (for page links) and without the sort (for sort links)."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode(), urlencode([(k, v) for k, vs in query.lists() if k != "sort" for v in vs])


_WHOLE = {
    "province": gettext_lazy("%(name)s（全省）"),
    "city": gettext_lazy("%(name)s（全市）"),
    "district": gettext_lazy("%(name)s（全区）"),
    "street": gettext_lazy("%(name)s（全街道）"),
}


def region_options(user: Any) -> list:
    """Grouped choices of divisions under the user's region: the region itself, then each district with
    its streets (communities are too many for a list; the API takes their codes)."""
    root = home_region(user)
    below = (
        Region.objects.filter(codes.within(root.code), level__in=("district", "street"))
        .exclude(code=root.code)
        .order_by("code")
        .values_list("code", "name", "level")
    )
    whole = str(_WHOLE.get(root.level, "%(name)s"))
    groups: list = [(root.name, [(root.code, whole % {"name": root.name})])]
    for code, name, level in below:  # by code, so a district comes just before its streets
        if level == "district":
            groups.append((name, [(code, _("%(name)s（全区）") % {"name": name})]))
        else:
            groups[-1][1].append((code, name))
    return groups


def _contract_regions(user: Any) -> list:
    root = home_region(user)
    rows = Region.objects.filter(codes.within(root.code), level__in=("city", "district")).order_by("code")
    return [(r.code, r.name) for r in rows]


# --- providers -----------------------------------------------------------------------------------
def _provider_filters(params) -> selectors.ProviderFilter:
    return selectors.ProviderFilter(
        region=params.get("region", "").strip(),
        statuses=[v for v in params.getlist("status") if v.strip()],
        item=params.get("item", "").strip(),
        legal_form=params.get("legal_form", "").strip(),
        q=params.get("q", "").strip(),
        sort=params.get("sort", "name") or "name",
    )


@login_required
def provider_list(request):
    """Providers located in or serving the user's region, with filters, search and pages; htmx requests
    get only the results."""
    filters = _provider_filters(request.GET)
    error = None
    try:
        queryset = selectors.provider_list(request.user, filters)
    except InvalidInput as problem:
        error, queryset = problem, selectors.providers_visible(request.user).none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query, sort_query = _query(request)
    context = {
        "filters": filters,
        "page": page,
        "error": error,
        "query": query,
        "sort_query": sort_query,
        "statuses": ProviderStatus.choices,
        "legal_forms": LegalForm.choices,
        "items": selectors.catalogue_items(active_only=True),
        "region_levels": region_choices(request.user, filters.region)
        if request.user.region_id or request.user.is_superuser
        else [],
        "may_manage": _may_manage(request.user),
    }
    template = (
        "providers/_provider_results.html"
        if request.htmx and not request.htmx.boosted
        else "providers/provider_list.html"
    )
    return render(request, template, context)


@login_required
def provider_detail(request, provider_id: int):
    provider = selectors.provider_get(request.user, provider_id)
    may_manage = _may_manage(request.user)
    context: dict[str, Any] = {
        "provider": provider,
        "areas": provider.service_areas.order_by("code"),
        "offers": selectors.offers_of(provider),
        "contracts": selectors.contracts_of(provider),
        "worker_count": provider.organisation.care_workers.filter(status=WorkerStatus.ACTIVE).count(),
        "today": timezone.localdate(),
        "may_manage": may_manage,
        "may_see_numbers": request.user.has_perm(Perm.PII_VIEW),
        "may_see_workers": _may_edit_workers(request.user, provider.organisation_id)
        or request.user.has_perm(Perm.DASHBOARD_VIEW),
    }
    if may_manage:
        offered = set(provider.offers.filter(is_active=True).values_list("item__code", flat=True))
        context.update(
            status_form=ProviderStatusForm(initial={"status": provider.status}),
            areas_form=AreasForm(
                regions=region_options(request.user),
                initial={"service_areas": [a.code for a in context["areas"]]},
            ),
            offer_form=OfferForm(
                items=[
                    _offer_choice(i, i.code in offered) for i in selectors.catalogue_items(active_only=True)
                ]
            ),
        )
    return render(request, "providers/provider_detail.html", context)


def _offer_choice(item, offered: bool) -> tuple[str, str]:
    label = _("%(name)s（参考价 %(price)s 元/%(unit)s）") % {
        "name": item.name,
        "price": item.reference_price,
        "unit": item.get_unit_display(),
    }
    return item.code, label + (_("，已报价") if offered else "")


@login_required
def provider_create(request):
    require_perm(request.user, Perm.PROVIDERS_MANAGE)
    form = ProviderForm(request.POST or None, regions=region_options(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_register(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("已登记服务机构 %(name)s") % {"name": provider.name})
            return redirect("providers:provider_detail", provider_id=provider.pk)
    return render(request, "providers/provider_form.html", {"form": form, "creating": True})


@login_required
def provider_edit(request, provider_id: int):
    provider = selectors.provider_get(request.user, provider_id)
    require_perm(request.user, Perm.PROVIDERS_MANAGE)
    organisation = provider.organisation
    initial = {
        "name": organisation.name,
        "credit_code": organisation.credit_code,
        "region": organisation.region_id,
        **{name: getattr(provider, name) for name in services.PROFILE_FIELDS if name != "contact_phone"},
    }
    form = ProviderForm(
        request.POST or None, initial=initial, regions=region_options(request.user), with_areas=False
    )
    # The contact phone is never shown in clear here: left empty it stays as it is.
    form.fields["contact_phone"].widget.attrs["placeholder"] = provider.masked_contact_phone
    form.fields["contact_phone"].help_text = _("留空则不修改")
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        if not changes.get("contact_phone"):
            changes.pop("contact_phone", None)
        if "latitude" in changes or "longitude" in changes:  # a position is checked as a pair
            changes.update(latitude=form.cleaned_data["latitude"], longitude=form.cleaned_data["longitude"])
        try:
            services.provider_update(actor=request.user, provider=provider, **changes)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("机构信息已保存") if changes else _("没有需要保存的修改"))
            return redirect("providers:provider_detail", provider_id=provider.pk)
    return render(
        request, "providers/provider_form.html", {"form": form, "provider": provider, "creating": False}
    )


def _back_to(provider: Provider, tab: str) -> str:
    return f"{reverse('providers:provider_detail', args=[provider.pk])}?tab={tab}"


def _submit(request, form, service: Callable[[dict[str, Any]], Any], done: str) -> None:
    """A side form on the detail page: its service runs when the form is valid; the outcome is a message."""
    error = None
    if form.is_valid():
        try:
            service(form.cleaned_data)
        except DomainError as problem:
            error = problem
    _report(request, form, error, done)


def _report(request, form, error: DomainError | None, done: str) -> None:
    """A side form on the detail page: a message on top (its fields are short, the tab shows again)."""
    if error is None and form.is_valid():
        messages.success(request, done)
        return
    problems = []
    if error is not None:
        details = error.details if isinstance(error.details, list) else []
        problems = [d["message"] for d in details] or [error.message]
    else:
        problems = [
            f"{form.fields[name].label}：{e}" if name in form.fields else str(e)
            for name, errs in form.errors.items()
            for e in errs
        ]
    messages.error(request, _("未保存：") + "；".join(problems))


@login_required
@require_POST
def provider_status(request, provider_id: int):
    provider = selectors.provider_get(request.user, provider_id)
    form = ProviderStatusForm(request.POST)
    _submit(
        request,
        form,
        lambda data: services.provider_set_status(actor=request.user, provider=provider, **data),
        _("合作状态已更新"),
    )
    return redirect(_back_to(provider, "facts"))


@login_required
@require_POST
def provider_areas(request, provider_id: int):
    provider = selectors.provider_get(request.user, provider_id)
    form = AreasForm(request.POST, regions=region_options(request.user))
    _submit(
        request,
        form,
        lambda data: services.provider_set_service_areas(
            actor=request.user, provider=provider, regions=data["service_areas"]
        ),
        _("服务区域已保存"),
    )
    return redirect(_back_to(provider, "areas"))


@login_required
@require_POST
def offer_save(request, provider_id: int):
    provider = selectors.provider_get(request.user, provider_id)
    form = OfferForm(request.POST, items=[(i.code, i.name) for i in selectors.catalogue_items()])
    _submit(
        request,
        form,
        lambda data: services.offer_set(actor=request.user, provider=provider, **data),
        _("报价已保存"),
    )
    return redirect(_back_to(provider, "offers"))


@login_required
@require_POST
def offer_withdraw(request, provider_id: int, item: str):
    provider = selectors.provider_get(request.user, provider_id)
    try:
        offer = services.offer_withdraw(actor=request.user, provider=provider, item=item)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已撤下“%(name)s”的报价") % {"name": offer.item.name})
    return redirect(_back_to(provider, "offers"))


@login_required
def contract_edit(request, provider_id: int, contract_id: int | None = None):
    """Record a purchase contract, or change one."""
    provider = selectors.provider_get(request.user, provider_id)
    require_perm(request.user, Perm.PROVIDERS_MANAGE)
    contract = selectors.contract_get(provider, contract_id) if contract_id else None
    initial: dict[str, Any] = {}
    if contract is not None:
        initial = {
            name: getattr(contract, name)
            for name in ("number", "title", "start_on", "end_on", "budget", "signed_on", "note")
        }
        initial.update(region=contract.region_id, items=[i.code for i in contract.items.all()])
    form = ContractForm(
        request.POST or None,
        initial=initial,
        regions=_contract_regions(request.user),
        items=[(i.code, i.name) for i in selectors.catalogue_items()],
    )
    if request.method == "POST" and form.is_valid():
        try:
            if contract is None:
                services.contract_create(actor=request.user, provider=provider, **form.cleaned_data)
            else:
                changes = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
                services.contract_update(actor=request.user, contract=contract, **changes)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("合同已保存"))
            return redirect(_back_to(provider, "contracts"))
    return render(
        request, "providers/contract_form.html", {"form": form, "provider": provider, "contract": contract}
    )


@login_required
@require_POST
def provider_reveal(request, provider_id: int):
    """htmx: the contact phone in full for a role that may see it (audited)."""
    provider = selectors.provider_get(request.user, provider_id)
    phone = services.provider_reveal_contact_phone(actor=request.user, provider=provider)
    return render(request, "providers/_numbers.html", {"numbers": {"phone": phone}})


# --- care workers --------------------------------------------------------------------------------
def _worker_filters(params) -> selectors.WorkerFilter:
    organisation = params.get("organisation", "").strip()
    return selectors.WorkerFilter(
        organisation=int(organisation) if organisation.isdigit() else None,
        statuses=[v for v in params.getlist("status") if v.strip()],
        grade=params.get("grade", "").strip(),
        q=params.get("q", "").strip(),
        expiring=params.get("expiring") == "1",
        sort=params.get("sort", "name") or "name",
    )


def _employers(user: Any) -> list[tuple[int, str]]:
    """The provider organisations whose workers the user may see (for filters and the worker form)."""
    if user.role in (Role.PROVIDER_ADMIN, Role.CARE_WORKER) and not user.is_superuser:
        return list(
            Organisation.objects.filter(pk=user.organisation_id).order_by("name").values_list("pk", "name")
        )
    return [
        (p.organisation_id, p.organisation.name)
        for p in selectors.providers_visible(user).order_by("organisation__name")
    ]


@login_required
def worker_list(request):
    """Care workers in the user's scope, with the expiring-documents warning panel; htmx requests get
    only the results."""
    filters = _worker_filters(request.GET)
    error = None
    try:
        queryset = selectors.worker_list(request.user, filters)
    except InvalidInput as problem:
        error, queryset = problem, selectors.workers_visible(request.user).none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query, sort_query = _query(request)
    today = timezone.localdate()
    context = {
        "filters": filters,
        "page": page,
        "error": error,
        "query": query,
        "sort_query": sort_query,
        "statuses": WorkerStatus.choices,
        "grades": CertificateGrade.choices,
        "employers": _employers(request.user),
        "today": today,
        "may_create": _may_edit_workers(request.user),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "providers/_worker_results.html", context)
    expiring = selectors.expiring_documents(request.user, today=today)
    context.update(
        expiring=expiring[:EXPIRING_PANEL_ROWS],
        expiring_count=len(expiring),
        warning_days=selectors.warning_days(today),
    )
    return render(request, "providers/worker_list.html", context)


@login_required
def worker_detail(request, worker_id: int):
    worker = selectors.worker_get(request.user, worker_id)
    may_edit = _may_edit_workers(request.user, worker.organisation_id)
    today = timezone.localdate()
    context = {
        "worker": worker,
        "age": today.year
        - worker.birth_date.year
        - ((today.month, today.day) < (worker.birth_date.month, worker.birth_date.day)),
        "certificates": worker.certificates.all(),
        "trainings": worker.trainings.all(),
        "training_hours": selectors.training_hours(worker),
        "expiring": selectors.expiring_documents(request.user, today=today, worker=worker),
        "today": today,
        "may_edit": may_edit,
        "may_see_numbers": request.user.has_perm(Perm.PII_VIEW),
        "status_form": WorkerStatusForm(initial={"status": worker.status}),
        "certificate_form": CertificateForm(),
        "training_form": TrainingForm(initial={"on": today}),
        "tab": request.GET.get("tab", "facts"),
    }
    return render(request, "providers/worker_detail.html", context)


@login_required
def worker_create(request):
    if not _may_edit_workers(request.user):
        require_perm(request.user, Perm.PROVIDERS_MANAGE)
    employers = _employers(request.user)
    form = WorkerForm(
        request.POST or None,
        organisations=employers,
        initial={"organisation": request.GET.get("organisation", "")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            worker = services.worker_register(actor=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("已登记护理员 %(name)s") % {"name": worker.name})
            return redirect("providers:worker_detail", worker_id=worker.pk)
    return render(request, "providers/worker_form.html", {"form": form, "creating": True})


@login_required
def worker_edit(request, worker_id: int):
    worker = selectors.worker_get(request.user, worker_id)
    if not _may_edit_workers(request.user, worker.organisation_id):
        require_perm(request.user, Perm.PROVIDERS_MANAGE)
    initial = {
        "organisation": worker.organisation_id,
        "name": worker.name,
        "hired_on": worker.hired_on,
        "health_certificate_expires": worker.health_certificate_expires,
        "note": worker.note,
        "username": worker.user.username if worker.user_id else "",
    }
    employers = _employers(request.user)
    if worker.organisation_id not in {pk for pk, _name in employers}:
        employers.append((worker.organisation_id, worker.organisation.name))
    form = WorkerForm(request.POST or None, initial=initial, organisations=employers)
    # The numbers are never shown in clear here: left empty they stay as they are.
    for name, masked in (("id_number", worker.masked_id_number), ("phone", worker.masked_phone)):
        form.fields[name].required = False
        form.fields[name].widget.attrs["placeholder"] = masked
        form.fields[name].help_text = _("留空则不修改")
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        for name in ("id_number", "phone"):
            if not changes.get(name):
                changes.pop(name, None)
        try:
            services.worker_update(actor=request.user, worker=worker, **changes)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("护理员信息已保存") if changes else _("没有需要保存的修改"))
            return redirect("providers:worker_detail", worker_id=worker.pk)
    return render(request, "providers/worker_form.html", {"form": form, "worker": worker, "creating": False})


def _worker_tab(worker, tab: str) -> str:
    return f"{reverse('providers:worker_detail', args=[worker.pk])}?tab={tab}"


@login_required
@require_POST
def worker_status(request, worker_id: int):
    worker = selectors.worker_get(request.user, worker_id)
    form = WorkerStatusForm(request.POST)
    _submit(
        request,
        form,
        lambda data: services.worker_set_status(actor=request.user, worker=worker, **data),
        _("状态已更新"),
    )
    return redirect(_worker_tab(worker, "facts"))


@login_required
@require_POST
def certificate_create(request, worker_id: int):
    worker = selectors.worker_get(request.user, worker_id)
    form = CertificateForm(request.POST)
    _submit(
        request,
        form,
        lambda data: services.worker_add_certificate(actor=request.user, worker=worker, **data),
        _("已登记证书"),
    )
    return redirect(_worker_tab(worker, "certificates"))


@login_required
@require_POST
def training_create(request, worker_id: int):
    worker = selectors.worker_get(request.user, worker_id)
    form = TrainingForm(request.POST)
    _submit(
        request,
        form,
        lambda data: services.worker_add_training(actor=request.user, worker=worker, **data),
        _("已登记培训记录"),
    )
    return redirect(_worker_tab(worker, "training"))


@login_required
@require_POST
def worker_reveal(request, worker_id: int):
    """htmx: the unmasked numbers for a role that may see them (audited)."""
    worker = selectors.worker_get(request.user, worker_id)
    numbers = services.worker_reveal_personal_numbers(actor=request.user, worker=worker)
    return render(request, "providers/_numbers.html", {"numbers": numbers})


# --- catalogue -----------------------------------------------------------------------------------
def _may_edit_catalogue(user: Any) -> bool:
    return _may_manage(user) and (user.is_superuser or (bool(user.region_id) and len(user.region_id) <= 4))


@login_required
def catalogue(request):
    """The city's service catalogue; city administrators edit it in place and add items."""
    may_edit = _may_edit_catalogue(request.user)
    form = CatalogueItemForm(request.POST or None, creating=True) if may_edit else None
    if request.method == "POST":
        require_perm(request.user, Perm.PROVIDERS_MANAGE)
        if form is not None and form.is_valid():
            try:
                item = services.catalogue_item_create(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("已新增服务项目 %(name)s") % {"name": item.name})
                return redirect("providers:catalogue")
    context = {"items": selectors.catalogue_items(), "may_edit": may_edit, "form": form}
    return render(request, "providers/catalogue.html", context)


@login_required
def catalogue_row(request, code: str):
    """htmx: one catalogue row, shown (GET), as an inline form (GET ?edit=1), or saved (POST): the row
    comes back as it is now, or as the form with the errors beside the fields."""
    item = selectors.catalogue_item_get(code, field="code")
    editing = request.method == "POST" or request.GET.get("edit") == "1"
    if not editing:
        return render(
            request,
            "providers/_catalogue_row.html",
            {"item": item, "may_edit": _may_edit_catalogue(request.user)},
        )
    require_perm(request.user, Perm.PROVIDERS_MANAGE)
    initial = {name: getattr(item, name) for name in services.ITEM_FIELDS}
    form = CatalogueItemForm(request.POST or None, initial=initial, creating=False)
    if request.method == "POST" and form.is_valid():
        try:
            item = services.catalogue_item_update(actor=request.user, item=item, **form.cleaned_data)
        except DomainError as error:
            form.add_service_error(error)
        else:
            return render(
                request, "providers/_catalogue_row.html", {"item": item, "may_edit": True, "saved": True}
            )
    return render(request, "providers/_catalogue_row_form.html", {"item": item, "form": form})
