"""Forms of the provider screens. They only shape input; the services validate it and their errors are
put back beside the fields (ServiceErrorsMixin), so the page and the API say the same thing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.utils.translation import gettext_lazy as _

from yanglao.providers.enums import CertificateGrade, LegalForm, ProviderStatus, Unit, WorkerStatus
from yanglao.registry.forms import ServiceErrorsMixin

BLANK = [("", "—")]


class _BootstrapBoundField(BoundField):
    """Marks a field with errors `is-invalid`, so Bootstrap draws it red beside its message."""

    def build_widget_attrs(self, attrs: dict[str, Any], widget: Any = None) -> dict[str, Any]:
        attrs = super().build_widget_attrs(attrs, widget)
        if self.errors:
            base = (widget or self.field.widget).attrs.get("class", "")
            attrs["class"] = f"{base} is-invalid".strip()
        return attrs


class StyledForm(ServiceErrorsMixin, forms.Form):
    bound_field_class = _BootstrapBoundField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.CheckboxSelectMultiple):
                css = ""
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            if css:
                widget.attrs.setdefault("class", css)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class ProviderForm(StyledForm):
    name = forms.CharField(label=_("机构名称"), max_length=200)
    credit_code = forms.CharField(
        label=_("统一社会信用代码"), max_length=25, help_text=_("18位，按 GB 32100-2015 校验")
    )
    region = forms.ChoiceField(label=_("所在区域"), help_text=_("机构登记注册所在的区或街道"))
    legal_form = forms.ChoiceField(label=_("机构性质"), choices=BLANK + LegalForm.choices)
    legal_representative = forms.CharField(label=_("法定代表人"), max_length=50)
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    latitude = forms.FloatField(label=_("纬度"), required=False)
    longitude = forms.FloatField(label=_("经度"), required=False)
    daily_capacity = forms.IntegerField(
        label=_("日服务能力（单）"), min_value=0, initial=0, help_text=_("每天最多可承接的订单数，派单时参考")
    )
    service_areas = forms.MultipleChoiceField(
        label=_("服务区域"),
        required=False,
        help_text=_("可多选（按住 Ctrl 或 ⌘）；选择整个区即覆盖区内所有街道和社区"),
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )

    def __init__(self, *args: Any, regions: list, with_areas: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = BLANK + regions
        if with_areas:
            self.fields["service_areas"].choices = regions
        else:
            del self.fields["service_areas"]


class AreasForm(StyledForm):
    service_areas = forms.MultipleChoiceField(
        label=_("服务区域"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 14}),
        help_text=_("可多选（按住 Ctrl 或 ⌘）；选择整个区即覆盖区内所有街道和社区"),
    )

    def __init__(self, *args: Any, regions: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_areas"].choices = regions


class ProviderStatusForm(StyledForm):
    status = forms.ChoiceField(label=_("合作状态"), choices=ProviderStatus.choices)
    reason = forms.CharField(
        label=_("状态说明"), max_length=300, required=False, help_text=_("暂停或终止时必填")
    )

    def add_service_error(self, error: Any) -> None:
        if error.field == "status_reason":
            error.field = "reason"
            for detail in error.details or []:
                if detail.get("field") == "status_reason":
                    detail["field"] = "reason"
        super().add_service_error(error)


class OfferForm(StyledForm):
    item = forms.ChoiceField(label=_("服务项目"))
    price = forms.DecimalField(label=_("价格（元）"), max_digits=10, decimal_places=2)

    def __init__(self, *args: Any, items: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = BLANK + items


class ContractForm(StyledForm):
    number = forms.CharField(label=_("合同编号"), max_length=60)
    title = forms.CharField(label=_("合同名称"), max_length=200)
    region = forms.ChoiceField(label=_("采购方所在区域"))
    start_on = forms.DateField(label=_("开始日期"), widget=DateInput())
    end_on = forms.DateField(label=_("结束日期"), widget=DateInput())
    budget = forms.DecimalField(label=_("合同金额（元）"), max_digits=14, decimal_places=2)
    signed_on = forms.DateField(label=_("签订日期"), required=False, widget=DateInput())
    items = forms.MultipleChoiceField(
        label=_("服务项目"), required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(label=_("备注"), max_length=300, required=False)

    def __init__(self, *args: Any, regions: list, items: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = BLANK + regions
        self.fields["items"].choices = items


class WorkerForm(StyledForm):
    organisation = forms.TypedChoiceField(label=_("所属机构"), coerce=int)
    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(
        label=_("身份证号码"), max_length=25, help_text=_("18位；旧版15位号码将自动转换")
    )
    phone = forms.CharField(label=_("手机号码"), max_length=20, required=False)
    hired_on = forms.DateField(label=_("入职日期"), required=False, widget=DateInput())
    health_certificate_expires = forms.DateField(
        label=_("健康证有效期至"), required=False, widget=DateInput()
    )
    username = forms.CharField(
        label=_("登录账号"), max_length=150, required=False, help_text=_("护理员本人的登录用户名（可不填）")
    )
    note = forms.CharField(label=_("备注"), max_length=300, required=False)

    def __init__(self, *args: Any, organisations: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].choices = (BLANK if len(organisations) != 1 else []) + organisations


class WorkerStatusForm(ProviderStatusForm):
    status = forms.ChoiceField(label=_("状态"), choices=WorkerStatus.choices)
    reason = forms.CharField(
        label=_("状态说明"), max_length=300, required=False, help_text=_("停岗或离职时必填")
    )


class CertificateForm(StyledForm):
    grade = forms.ChoiceField(label=_("等级"), choices=CertificateGrade.choices)
    number = forms.CharField(label=_("证书编号"), max_length=60)
    issued_on = forms.DateField(label=_("发证日期"), widget=DateInput())
    expires_on = forms.DateField(
        label=_("有效期至"), required=False, widget=DateInput(), help_text=_("长期有效可不填")
    )


class TrainingForm(StyledForm):
    topic = forms.CharField(label=_("培训内容"), max_length=200)
    hours = forms.DecimalField(label=_("学时"), max_digits=5, decimal_places=1)
    on = forms.DateField(label=_("培训日期"), widget=DateInput())


class CatalogueItemForm(StyledForm):
    code = forms.CharField(
        label=_("项目代码"), max_length=32, help_text=_("小写英文字母、数字或下划线，如 bathing")
    )
    name = forms.CharField(label=_("项目名称"), max_length=50)
    unit = forms.ChoiceField(label=_("计量单位"), choices=Unit.choices)
    standard_minutes = forms.IntegerField(label=_("标准时长（分钟）"))
    reference_price = forms.DecimalField(label=_("参考价格（元）"), max_digits=10, decimal_places=2)
    order = forms.IntegerField(label=_("排序"), initial=100)
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    account_payable = forms.BooleanField(label=_("可用服务账户支付"), required=False, initial=True)
    description = forms.CharField(
        label=_("服务内容"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, creating: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["code"]
