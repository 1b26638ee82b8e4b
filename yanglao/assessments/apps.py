from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "yanglao.assessments"
    label = "assessments"
    verbose_name = _("能力评估")

    def ready(self) -> None:
        from django.db.models import Q

        from yanglao.assessments import checks, receivers  # noqa: F401  (registers the check, connects signals)
        from yanglao.assessments.models import Assessment
        from yanglao.assessments.views import elder_tab
        from yanglao.core.demo import add_step
        from yanglao.core.navigation import NavItem, register
        from yanglao.core.permissions import Perm
        from yanglao.registry import selectors as registry_selectors
        from yanglao.registry import tabs

        # An assessor organisation sees the elders it has been assigned to assess.
        registry_selectors.register_organisation_link(
            "assessments",
            lambda organisation_id: Q(
                pk__in=Assessment.objects.filter(organisation_id=organisation_id).values("elder_id")
            ),
        )
        tabs.register(tabs.Tab(key="assessments", label=_("能力评估"), order=40, render=elder_tab))
        register(NavItem(label=_("能力评估"), url_name="assessments:list", perm=Perm.ELDERS_VIEW, order=20))
        register(
            NavItem(
                label=_("评估统计"), url_name="assessments:statistics", perm=Perm.ASSESSMENTS_REVIEW, order=21
            )
        )
        add_step("assessments.levels", 30, lambda **kw: _demo(**kw))


def _demo(**kwargs):
    from yanglao.assessments.demo import demo_assessments

    return demo_assessments(**kwargs)
