from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvidersConfig(AppConfig):
    name = "yanglao.providers"
    label = "providers"
    verbose_name = _("服务机构与护理员")

    def ready(self) -> None:
        from django.utils.module_loading import import_string

        from yanglao.core.demo import add_step
        from yanglao.core.navigation import NavItem, register
        from yanglao.core.permissions import Perm
        from yanglao.providers import selectors  # noqa: F401  (declares the policy value it reads)

        register(
            NavItem(
                label=_("服务机构"), url_name="providers:provider_list", perm=Perm.DASHBOARD_VIEW, order=31
            )
        )
        register(
            NavItem(label=_("护理员"), url_name="providers:worker_list", perm=Perm.DASHBOARD_VIEW, order=32)
        )
        register(
            NavItem(label=_("服务目录"), url_name="providers:catalogue", perm=Perm.DASHBOARD_VIEW, order=33)
        )
        # After the accounts step (10), which creates the demo provider organisation and its users.
        add_step(
            "providers.demo", 41, lambda **kw: import_string("yanglao.providers.demo.demo_providers")(**kw)
        )
