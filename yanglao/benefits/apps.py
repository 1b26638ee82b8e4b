from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenefitsConfig(AppConfig):
    name = "yanglao.benefits"
    label = "benefits"
    verbose_name = _("补贴津贴")

    def ready(self) -> None:
        from yanglao.benefits import receivers  # noqa: F401  (follows deaths and moves)
        from yanglao.benefits.views import elder_tab
        from yanglao.registry import tabs

        tabs.register(tabs.Tab(key="benefits", label=_("补贴津贴"), order=50, render=elder_tab))
        # After the population, levels, facilities and providers (20–41): the packs pay all of them.
        from yanglao.core.demo import add_step

        add_step("benefits.demo", 50, lambda **kw: _demo(**kw))
        _register_navigation()
        _register_import()


def _register_navigation() -> None:
    from yanglao.core.navigation import NavItem, register
    from yanglao.core.permissions import Perm

    register(
        NavItem(label=_("补贴津贴"), url_name="benefits:programmes", perm=Perm.BENEFITS_REVIEW, order=25)
    )


def _register_import() -> None:
    """The bank's payment results on the shared import page (registry.uploads)."""
    from yanglao.benefits import payments
    from yanglao.core import rowimport
    from yanglao.core.permissions import Perm
    from yanglao.registry import uploads

    uploads.register(
        uploads.ImportKind(
            code="bank_results",
            label="银行发放结果",
            perm=Perm.BENEFITS_APPROVE,
            run=lambda *, actor, path, job_id, errors_path: payments.bank_results_import(
                actor=actor, path=path, errors_path=errors_path
            ),
            template=lambda actor: rowimport.header_template(
                payments.RESULT_HEADERS,
                {"entitlement", "result"},
                sheet_name="发放结果",
                choices={"结果": "成功、失败"},
            ),
            template_name="银行发放结果模板.xlsx",
            headers=lambda: [(h, f in ("entitlement", "result")) for h, f in payments.RESULT_HEADERS.items()],
            notes=["明细编号为银行发放文件中的编号；失败的明细更正账户后可再次发放。"],
            order=30,
        )
    )


def _demo(**kwargs):
    from yanglao.benefits.demo import demo_benefits

    return demo_benefits(**kwargs)
