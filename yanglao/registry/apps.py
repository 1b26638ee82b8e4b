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
        _register_imports()


def _register_imports() -> None:
    """The registry's two kinds on the shared import page (registry.uploads)."""
    from yanglao.core import rowimport
    from yanglao.core.permissions import Perm
    from yanglao.registry import importing, uploads, validation

    uploads.register(
        uploads.ImportKind(
            code="elders",
            label="老年人信息",
            perm=Perm.ELDERS_IMPORT,
            run=importing.elders_import,
            template=importing.template_workbook,
            template_name=importing.TEMPLATE_FILE_NAME,
            headers=lambda: [(c.header, c.required) for c in validation.COLUMNS],
            notes=[
                "按身份证号码新增或更新：空白单元格不改动原有信息，同一文件导入两次不会重复登记。",
                "只能导入您管辖范围内的老年人。",
            ],
            order=10,
        )
    )
    uploads.register(
        uploads.ImportKind(
            code="events",
            label="生活事件（部门数据文件）",
            perm=Perm.ELDERS_IMPORT,
            run=importing.events_import,
            template=lambda actor: rowimport.header_template(
                importing.EVENT_HEADERS,
                importing.EVENT_REQUIRED,
                sheet_name="生活事件",
                choices={"事件类型": "、".join(str(k.label) for k in importing.IMPORTABLE_EVENTS)},
            ),
            template_name="生活事件导入模板.xlsx",
            headers=lambda: [(h, f in importing.EVENT_REQUIRED) for h, f in importing.EVENT_HEADERS.items()],
            notes=["死亡、住院、入住机构、迁居等部门数据文件，按身份证号码找到老人并登记事件。"],
            order=11,
        )
    )
