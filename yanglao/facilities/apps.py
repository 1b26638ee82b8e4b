from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitiesConfig(AppConfig):
    name = "yanglao.facilities"
    label = "facilities"
    verbose_name = _("养老服务设施")

    def ready(self) -> None:
        from yanglao.core.demo import add_step
        from yanglao.core.navigation import NavItem, register
        from yanglao.core.permissions import Perm

        register(NavItem(label=_("养老设施"), url_name="facilities:list", perm=Perm.DASHBOARD_VIEW, order=30))
        # After the population (20) and the assessments (30): the demo places facilities where elders live.
        add_step("facilities.demo", 40, lambda **kw: _demo(**kw))


def _demo(**kwargs):
    # Imported when the step runs: the demo reads the registry's community positions (numpy).
    from yanglao.facilities.demo import demo_facilities

    return demo_facilities(**kwargs)
