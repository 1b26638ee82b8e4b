"""Forms of the order screens. They only shape input; the services validate it and their errors are put
back beside the fields (ServiceErrorsMixin), so the page and the API say the same thing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yanglao.orders.enums import Channel
from yanglao.providers.forms import StyledForm

BLANK = [("", "—")]
# The channels a member of staff takes an order through; the portal, devices and care plans have their
# own ways in.
STAFF_CHANNELS = [
    (Channel.PHONE.value, Channel.PHONE.label),
    (Channel.COMMUNITY.value, Channel.COMMUNITY.label),
]


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's own date-and-time picker (value like 2026-11-05T09:30)."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def window_field(label: str | Promise, *, required: str | Promise) -> forms.DateTimeField:
    """One end of the service window the elder asks for (both ends read and say the same)."""
    return forms.DateTimeField(
        label=label,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        error_messages={"required": required, "invalid": _("请按“年-月-日 时:分”填写时间")},
    )


class OrderForm(StyledForm):
    elder = forms.IntegerField(
        label=_("老年人"), widget=forms.HiddenInput, error_messages={"required": _("请先查找并选择老年人")}
    )
    item = forms.ChoiceField(label=_("服务项目"))
    channel = forms.ChoiceField(label=_("下单渠道"), choices=STAFF_CHANNELS)
    window_start = window_field(_("期望服务开始"), required=_("请填写期望服务开始时间"))
    window_end = window_field(_("期望服务结束"), required=_("请填写期望服务结束时间"))
    note = forms.CharField(
        label=_("备注"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("如：需要带洗浴椅、老人听力不好请大声敲门"),
    )

    def __init__(self, *args: Any, items: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = BLANK + items
        self.fields["item"].error_messages["required"] = _("请选择服务项目")
