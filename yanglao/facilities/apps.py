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
        _register_import()


def _register_import() -> None:
    """Facilities on the shared import page (registry.uploads), with the registry's error workbook."""
    from yanglao.core.permissions import Perm
    from yanglao.facilities import importing
    from yanglao.registry import uploads

    uploads.register(
        uploads.ImportKind(
            code="facilities",
            label="养老服务设施",
            perm=Perm.FACILITIES_MANAGE,
            run=lambda *, actor, path, job_id, errors_path: importing.facilities_import(
                actor=actor,
                path=path,
                errors_path=errors_path,
                progress=uploads.progress_for(job_id, "养老设施导入", actor),
            ),
            template=lambda actor: importing.template_workbook(),
            template_name="养老设施导入模板.xlsx",
            headers=lambda: [(h, f in importing.REQUIRED) for h, f in importing.HEADERS.items()],
            notes=[
                "按所在区域代码和设施名称新增或更新；空白单元格不改动原有信息。",
                "运营机构须先登记，填写其统一社会信用代码。",
            ],
            order=20,
        )
    )


def _demo(**kwargs):
    # Imported when the step runs: the demo reads the registry's community positions (numpy).
    from yanglao.facilities.demo import demo_facilities

    return demo_facilities(**kwargs)
