"""Start-up check: every instrument definition loads, so a broken provincial file stops the platform
with its problem named instead of failing when an assessor opens the form."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register


@register()
def instruments_load(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from yanglao.assessments import instruments

    instruments.all_instruments.cache_clear()
    try:
        instruments.all_instruments()
    except instruments.DefinitionError as error:
        return [Error(f"评估工具定义有误：{error}", id="assessments.E001")]
    return []
