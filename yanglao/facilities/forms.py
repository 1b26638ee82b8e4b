"""Forms of the facility screens. They only shape input; the services validate it (validation.py, with
each kind's rules) and their errors are put back beside the fields, so the page and the API agree."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yanglao.accounts.models import Organisation
from yanglao.facilities.enums import GRADES, OperatingModel, ServiceCode, Status
from yanglao.facilities.models import FacilityKind
from yanglao.regions import codes
from yanglao.registry.forms import ServiceErrorsMixin

BLANK = [("", "—")]
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def operator_choices(user: Any, current_id: int | None = None) -> list[tuple[Any, str]]:
    """Active organisations that may run a facility in the user's region (their own region, below it,
    or the city above it), and the facility's current operator wherever it is."""
    organisations = Organisation.objects.filter(is_active=True).exclude(kind=Organisation.Kind.ASSESSOR)
    if not user.is_superuser and user.region_id:
        ancestors = [user.region_id[:n] for n in codes.NATURAL_LENGTHS if n < len(user.region_id)]
        organisations = organisations.filter(
            codes.within(user.region_id, "region_id") | Q(region_id__in=ancestors)
        )
    rows = list(organisations.order_by("name").values_list("pk", "name", "kind"))
    if current_id and all(row[0] != current_id for row in rows):
        rows += list(Organisation.objects.filter(pk=current_id).values_list("pk", "name", "kind"))
    labels = dict(Organisation.Kind.choices)
    return BLANK + [(pk, f"{name}（{labels.get(kind, kind)}）") for pk, name, kind in rows]


class FacilityForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("设施名称"), max_length=200)
    kind = forms.ChoiceField(label=_("设施类别"))
    region = forms.CharField(
        label=_("所在区域"), max_length=12, help_text=_("选到设施所在的社区（村）或街道；区级设施可选到区")
    )
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    latitude = forms.FloatField(label=_("纬度"), required=False, help_text=_("WGS-84，如 39.1172"))
    longitude = forms.FloatField(label=_("经度"), required=False, help_text=_("WGS-84，如 117.1950"))
    floor_area_m2 = forms.DecimalField(
        label=_("建筑面积（平方米）"), required=False, max_digits=10, decimal_places=2
    )
    beds = forms.IntegerField(
        label=_("床位数"), required=False, min_value=0, help_text=_("不设床位的类别请留空")
    )
    occupied_beds = forms.IntegerField(label=_("在住人数（占用床位）"), required=False, min_value=0)
    operating_model = forms.ChoiceField(label=_("运营模式"), choices=BLANK + OperatingModel.choices)
    operator = forms.TypedChoiceField(
        label=_("运营机构"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("公建民营、民办公助、民办的设施须填写"),
    )
    services = forms.MultipleChoiceField(
        label=_("服务项目"),
        choices=ServiceCode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    opening_hours = forms.CharField(
        label=_("开放时间"), max_length=100, required=False, help_text=_("如：周一至周日 8:00-17:30")
    )
    filing_number = forms.CharField(label=_("备案号"), max_length=50, required=False)
    filing_date = forms.DateField(label=_("备案日期"), required=False, widget=_DATE)
    grade = forms.TypedChoiceField(
        label=_("等级（GB/T 37276-2018）"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=BLANK + GRADES,
    )
    grade_date = forms.DateField(label=_("评定日期"), required=False, widget=_DATE)
    ltc_designated = forms.BooleanField(label=_("长护险定点"), required=False)
    monthly_fee_min = forms.DecimalField(
        label=_("月收费下限（元）"), required=False, max_digits=10, decimal_places=2
    )
    monthly_fee_max = forms.DecimalField(
        label=_("月收费上限（元）"), required=False, max_digits=10, decimal_places=2
    )
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, user: Any, current_operator: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = BLANK + [
            (k.code, k.name) for k in FacilityKind.objects.order_by("order")
        ]
        self.fields["operator"].choices = operator_choices(user, current_operator)

    def facts(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class StatusForm(ServiceErrorsMixin, forms.Form):
    status = forms.ChoiceField(label=_("新状态"), choices=Status.choices)
    reason = forms.CharField(label=_("原因"), max_length=300)
