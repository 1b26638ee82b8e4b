"""Forms of the registry screens. They only shape input; the services validate it (registry.validation)
and their errors are put back beside the fields, so the page, the API and the import agree."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from yanglao.core.errors import DomainError
from yanglao.registry.enums import (
    DisabilityCategory,
    EconomicStatus,
    EventKind,
    GuardianKind,
    LivingArrangement,
    MaritalStatus,
    Relation,
)

BLANK = [("", "—")]


class ServiceErrorsMixin:
    """Put a service's error (InvalidInput with one detail per field, or a conflict or refusal naming
    a field) beside the fields of this form."""

    def add_service_error(self, error: DomainError) -> None:
        details = error.details if isinstance(error.details, list) else []
        if not details:
            details = [{"field": error.field, "message": error.message}]
        for item in details:
            field = item.get("field")
            self.add_error(field if field in self.fields else None, item["message"])


class ElderForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(
        label=_("身份证号码"), max_length=25, help_text=_("18位；旧版15位号码将自动转换")
    )
    residence_region = forms.CharField(
        label=_("现居住社区代码"), max_length=12, help_text=_("12位社区（村）代码")
    )
    phone = forms.CharField(label=_("手机号码"), max_length=20, required=False)
    address = forms.CharField(label=_("现居住地址"), max_length=200, required=False)
    hukou_region = forms.CharField(label=_("户籍社区代码"), max_length=12, required=False)
    living_arrangement = forms.ChoiceField(
        label=_("居住状况"), choices=LivingArrangement.choices, initial=LivingArrangement.WITH_FAMILY
    )
    economic_status = forms.ChoiceField(
        label=_("经济状况"), choices=EconomicStatus.choices, initial=EconomicStatus.GENERAL
    )
    marital_status = forms.ChoiceField(
        label=_("婚姻状况"), choices=BLANK + MaritalStatus.choices, required=False
    )
    children_count = forms.IntegerField(label=_("子女数"), required=False, min_value=0, max_value=20)
    special_family = forms.BooleanField(label=_("计划生育特殊家庭"), required=False)
    disability_category = forms.ChoiceField(
        label=_("残疾类别"), choices=BLANK + DisabilityCategory.choices, required=False
    )
    disability_grade = forms.TypedChoiceField(
        label=_("残疾等级"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=BLANK + [(n, f"{n}级") for n in range(1, 5)],
    )
    dementia = forms.BooleanField(label=_("认知障碍（失智）"), required=False)
    family_doctor = forms.CharField(label=_("家庭医生"), max_length=100, required=False)
    latitude = forms.FloatField(label=_("纬度"), required=False)
    longitude = forms.FloatField(label=_("经度"), required=False)

    def facts(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items()}


class EventForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("事件类型"), choices=EventKind.choices)
    on = forms.DateField(label=_("发生日期"), widget=forms.DateInput(attrs={"type": "date"}))
    new_region = forms.CharField(
        label=_("迁入社区代码"), max_length=12, required=False, help_text=_("仅市内迁居时填写")
    )
    reverses = forms.TypedChoiceField(
        label=_("要更正的事件"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("仅“更正”时选择：撤销最近一次事件"),
    )
    note = forms.CharField(label=_("备注"), max_length=300, required=False)

    def __init__(self, *args, events=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reverses"].choices = BLANK + [(e.pk, f"{e.on} {e.get_kind_display()}") for e in events]


class ContactForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    relation = forms.ChoiceField(label=_("关系"), choices=Relation.choices)
    phone = forms.CharField(label=_("电话"), max_length=20)
    guardian = forms.ChoiceField(label=_("监护关系"), choices=GuardianKind.choices, required=False)
    is_emergency = forms.BooleanField(label=_("紧急联系人"), required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)
