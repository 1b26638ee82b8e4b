from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "yanglao.registry"
    label = "registry"
    verbose_name = _("老年人档案")

    def ready(self) -> None:
        from django.utils.module_loading import import_string

        from yanglao.core.demo import add_step
        from yanglao.core.navigation import NavItem, register
        from yanglao.core.permissions import Perm

        # Imported when the step runs: numpy is not needed to serve pages.
        add_step(
            "registry.population",
            20,
            lambda **kw: import_string("yanglao.registry.generator.demo_population")(**kw),
        )

        register(
            NavItem(label=_("老年人档案"), url_name="registry:elder_list", perm=Perm.ELDERS_VIEW, order=10)
        )
        register(NavItem(label=_("批量导入"), url_name="registry:import", perm=Perm.ELDERS_IMPORT, order=11))
