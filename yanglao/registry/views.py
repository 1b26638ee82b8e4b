"""Registry screens. Each view parses input, calls one selector or service, and renders; errors of
the services are shown beside the fields in Chinese."""

from __future__ import annotations

import os
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from yanglao.accounts.scope import home_region, require_perm
from yanglao.core.errors import DomainError, InvalidInput
from yanglao.core.permissions import Perm
from yanglao.regions.models import LEVEL_BY_LENGTH, Region
from yanglao.registry import exporting, groups, selectors, services, tabs
from yanglao.registry.enums import EconomicStatus, LivingArrangement, Sex, Status
from yanglao.registry.forms import ContactForm, ElderForm, EventForm
from yanglao.registry.models import Contact, LifeEvent

PAGE_SIZE = 50


def filters_from(params) -> selectors.ElderFilter:
    def values(name: str) -> list[str]:
        return [v for v in params.getlist(name) if v.strip()]  # "全部" in a select sends an empty value

    return selectors.ElderFilter(
        region=params.get("region", "").strip(),
        q=params.get("q", "").strip(),
        id_number=params.get("id_number", "").strip(),
        phone=params.get("phone", "").strip(),
        age_bands=values("age_band"),
        groups=values("group"),
        statuses=values("status"),
        economic_statuses=values("economic_status"),
        living_arrangements=values("living_arrangement"),
        sex=params.get("sex", "").strip(),
        sort=params.get("sort", "name") or "name",
    )


@login_required
def elder_list(request):
    """The list with filters, search, sorting and pages; htmx requests get only the results."""
    filters = filters_from(request.GET)
    error = None
    try:
        queryset = selectors.elder_list(request.user, filters)
    except InvalidInput as problem:
        error, queryset = problem, selectors.elders_visible(request.user).none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [
        {
            "elder": e,
            "age": groups.age_on(e.birth_date, today),
            "band": groups.BY_CODE.get(groups.age_band_of(e.birth_date, today)),
        }
        for e in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "rows": rows,
        "page": page,
        "error": error,
        "query": query.urlencode(),
        "sort_query": urlencode([(k, v) for k, vs in query.lists() if k != "sort" for v in vs]),
        "age_bands": groups.AGE_BANDS,
        "groups": groups.GROUPS,
        "statuses": Status.choices,
        "economic_statuses": EconomicStatus.choices,
        "living_arrangements": LivingArrangement.choices,
        "sexes": Sex.choices,
        "region_levels": region_choices(request.user, filters.region),
        "may_export": request.user.has_perm(Perm.ELDERS_EXPORT),
        "may_edit": request.user.has_perm(Perm.ELDERS_EDIT),
        "may_see_numbers": request.user.has_perm(Perm.PII_VIEW),
    }
    template = (
        "registry/_elder_results.html"
        if request.htmx and not request.htmx.boosted
        else "registry/elder_list.html"
    )
    return render(request, template, context)


@login_required
def region_options(request):
    """htmx: the select boxes of the region picker after a choice (district → streets → communities)."""
    field = request.GET.get("field", "region")
    if field not in ("region", "residence_region"):
        field = "region"
    selected = request.GET.get(field, "").strip()
    return render(
        request,
        "registry/_region_picker.html",
        {"region_levels": region_choices(request.user, selected), "field": field},
    )


@login_required
def elder_detail(request, elder_id: int):
    elder = selectors.elder_get(request.user, elder_id)
    today = timezone.localdate()
    member_groups = _groups_of(request.user, elder, today)
    events = list(elder.events.select_related("new_region", "reverses", "recorded_by"))
    correctable = selectors.latest_correctable_event(elder)
    context = {
        "elder": elder,
        "age": groups.age_on(elder.birth_date, today),
        "member_groups": member_groups,
        "contacts": elder.contacts.all(),
        "household": elder.household.members.exclude(pk=elder.pk) if elder.household_id else [],
        "events": events,
        "event_form": EventForm(events=[correctable] if correctable else []),
        "contact_form": ContactForm(),
        "extra_tabs": [
            (t, t.render(request, elder) if t.render else None) for t in tabs.visible_tabs(request.user)
        ],
        "may_edit": request.user.has_perm(Perm.ELDERS_EDIT),
        "may_see_numbers": request.user.has_perm(Perm.PII_VIEW),
        "tab": request.GET.get("tab", "facts"),
    }
    return render(request, "registry/elder_detail.html", context)


def _groups_of(user, elder, today):
    """The derived groups this elder belongs to, computed by the same SQL as the list's filters."""
    row = groups.annotate(selectors.elders_visible(user).filter(pk=elder.pk), today).values().first() or {}
    return [g for g in groups.GROUPS if row.get(f"g_{g.code}")]


@login_required
def elder_create(request):
    require_perm(request.user, Perm.ELDERS_EDIT)
    form = ElderForm(request.POST or None, initial={"residence_region": request.GET.get("region", "")})
    if request.method == "POST" and form.is_valid():
        try:
            elder = services.elder_register(actor=request.user, **form.facts())
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"已登记 {elder.name} 的档案")
            return redirect("registry:elder_detail", elder_id=elder.pk)
    return render(request, "registry/elder_form.html", {"form": form, "creating": True})


@login_required
def elder_edit(request, elder_id: int):
    elder = selectors.elder_get(request.user, elder_id)
    require_perm(request.user, Perm.ELDERS_EDIT)
    initial = {
        name: getattr(elder, name)
        for name in services.AUDITED
        if name not in ("residence_region", "hukou_region", "id_number", "phone")
    }
    initial.update(residence_region=elder.residence_region_id, hukou_region=elder.hukou_region_id or "")
    form = ElderForm(request.POST or None, initial=initial)
    # The form never shows the numbers in clear: left empty they stay as they are.
    for name, masked in (("id_number", elder.masked_id_number), ("phone", elder.masked_phone)):
        form.fields[name].required = False
        form.fields[name].widget.attrs["placeholder"] = masked
        form.fields[name].help_text = "留空则不修改"
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.facts().items() if k in form.changed_data}
        for name in ("id_number", "phone"):
            if not changes.get(name):
                changes.pop(name, None)
        try:
            services.elder_update(actor=request.user, elder=elder, **changes)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "档案已保存" if changes else "没有需要保存的修改")
            return redirect("registry:elder_detail", elder_id=elder.pk)
    return render(request, "registry/elder_form.html", {"form": form, "elder": elder, "creating": False})


@login_required
@require_POST
def event_create(request, elder_id: int):
    elder = selectors.elder_get(request.user, elder_id)
    correctable = selectors.latest_correctable_event(elder)
    form = EventForm(request.POST, events=[correctable] if correctable else [])
    if form.is_valid():
        data = form.cleaned_data
        reverses = (
            LifeEvent.objects.filter(elder=elder, pk=data["reverses"]).first() if data["reverses"] else None
        )
        try:
            event = services.elder_record_event(
                actor=request.user,
                elder=elder,
                kind=data["kind"],
                on=data["on"],
                note=data["note"],
                new_region=data["new_region"] or None,
                reverses=reverses,
            )
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, f"已登记事件：{event.get_kind_display()}（{event.on}）")
            return redirect(f"{_detail(elder)}?tab=events")
    messages.error(request, "事件未登记：" + "；".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect(f"{_detail(elder)}?tab=events")


@login_required
@require_POST
def contact_create(request, elder_id: int):
    elder = selectors.elder_get(request.user, elder_id)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            services.contact_add(actor=request.user, elder=elder, **form.cleaned_data)
        except DomainError as error:
            form.add_service_error(error)
        else:
            messages.success(request, "已添加联系人")
            return redirect(f"{_detail(elder)}?tab=family")
    messages.error(
        request, "联系人未添加：" + "；".join(str(e) for errs in form.errors.values() for e in errs)
    )
    return redirect(f"{_detail(elder)}?tab=family")


@login_required
@require_POST
def contact_delete(request, elder_id: int, contact_id: int):
    elder = selectors.elder_get(request.user, elder_id)
    contact = Contact.objects.filter(elder=elder, pk=contact_id).first()
    if contact is not None:
        services.contact_remove(actor=request.user, contact=contact)
        messages.success(request, f"已删除联系人 {contact.name}")
    return redirect(f"{_detail(elder)}?tab=family")


@login_required
@require_POST
def household_join(request, elder_id: int):
    """Record that the elder lives with another elder (found by full ID number) or alone in a new household."""
    elder = selectors.elder_get(request.user, elder_id)
    number = request.POST.get("with_id_number", "").strip()
    try:
        other = None
        if number:
            filters = selectors.ElderFilter(id_number=number)
            other = selectors.elder_list(request.user, filters).exclude(pk=elder.pk).first()
            if other is None:
                raise InvalidInput("在您的管辖范围内没有找到该身份证号码的老人", field="with_id_number")
        services.household_join(actor=request.user, elder=elder, with_elder=other)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已登记与 {other.name} 同住" if other else "已建立独立家庭户")
    return redirect(f"{_detail(elder)}?tab=family")


@login_required
@require_POST
def elder_reveal(request, elder_id: int):
    """htmx: the unmasked numbers for a role that may see them (audited)."""
    elder = selectors.elder_get(request.user, elder_id)
    numbers = services.elder_reveal_personal_numbers(actor=request.user, elder=elder)
    return render(request, "registry/_numbers.html", {"numbers": numbers})


@login_required
def elder_export(request):
    filters = filters_from(request.GET)
    unmasked = request.GET.get("unmasked") == "1"
    path, rows = exporting.elders_export(actor=request.user, filters=filters, unmasked=unmasked)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=f"老年人名单-{stamp}.xlsx")  # noqa: SIM115
    os.unlink(path)  # the open handle keeps the data until the response is sent
    return response


def _detail(elder) -> str:
    from django.urls import reverse

    return reverse("registry:elder_detail", args=[elder.pk])


def region_choices(user, selected: str) -> list[dict]:
    """The cascade of select boxes under the user's region: one level per box, each with its options
    and the option on the path to `selected` (a code at any depth, or empty)."""
    root = home_region(user)
    levels = []
    parent = root
    while parent is not None and parent.level != "community":
        options = list(Region.objects.filter(parent=parent).order_by("code").values_list("code", "name"))
        if not options:
            break
        chosen = next((code for code, _ in options if selected.startswith(code)), "")
        levels.append(
            {
                "label": LEVEL_BY_LENGTH[len(options[0][0])].label,
                "options": options,
                "selected": chosen,
                # "全部" at this level stands for the parent (the user's own region at the top).
                "parent": parent.code if levels or user.region_id else "",
            }
        )
        parent = Region.objects.filter(code=chosen).first() if chosen else None
    return levels
