from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "yanglao.registry"
    label = "registry"
    verbose_name = _("老年人档案")

    def ready(self) -> None:
        from yanglao.core.navigation import NavItem, register
        from yanglao.core.permissions import Perm

        register(
            NavItem(label=_("老年人档案"), url_name="registry:elder_list", perm=Perm.ELDERS_VIEW, order=10)
        )
        register(NavItem(label=_("批量导入"), url_name="registry:import", perm=Perm.ELDERS_IMPORT, order=11))
