from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "yanglao.analytics"
    label = "analytics"
    verbose_name = "统计分析"

    def ready(self) -> None:
        from yanglao.core.navigation import NavItem, register
        from yanglao.core.permissions import Perm

        register(NavItem(label=_("首页"), url_name="analytics:home", perm=Perm.DASHBOARD_VIEW, order=0))
        register(NavItem(label=_("服务地图"), url_name="analytics:map", perm=Perm.DASHBOARD_VIEW, order=35))
