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
        _register_import()


def _register_import() -> None:
    """Care workers on the shared import page (registry.uploads), with the registry's error workbook."""
    from yanglao.core.permissions import Perm
    from yanglao.providers import importing
    from yanglao.registry import uploads

    uploads.register(
        uploads.ImportKind(
            code="workers",
            label="护理员",
            perm=Perm.PROVIDERS_MANAGE,
            run=lambda *, actor, path, job_id, errors_path: importing.workers_import(
                actor=actor,
                path=path,
                errors_path=errors_path,
                progress=uploads.progress_for(job_id, "护理员导入", actor),
            ),
            template=lambda actor: importing.template_workbook(),
            template_name="护理员导入模板.xlsx",
            headers=lambda: [(h, f in importing.REQUIRED) for h, f in importing.HEADERS.items()],
            notes=["按身份证号码新增或更新；填写证书等级、证书编号和发证日期时同时登记职业技能证书。"],
            order=21,
            allowed=importing.may_import,
        )
    )
