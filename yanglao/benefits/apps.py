from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenefitsConfig(AppConfig):
    name = "yanglao.benefits"
    label = "benefits"
    verbose_name = _("补贴津贴")

    def ready(self) -> None:
        from yanglao.benefits.views import elder_tab
        from yanglao.registry import tabs

        tabs.register(tabs.Tab(key="benefits", label=_("补贴津贴"), order=50, render=elder_tab))
