from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "yanglao.accounts"
    label = "accounts"
    verbose_name = _("账户与权限")

    def ready(self) -> None:
        from django.contrib import admin
        from django.core.management import call_command

        from yanglao.accounts.demo import logins_banner
        from yanglao.accounts.forms import AdminLoginForm
        from yanglao.core.demo import add_step
        from yanglao.core.navigation import NavItem, register
        from yanglao.core.permissions import Perm
        from yanglao.core.startup import add_banner

        add_banner(logins_banner)
        add_step("accounts.seed", 10, lambda **kw: call_command("seed_demo", stdout=kw.get("stdout")))
        admin.site.login_form = AdminLoginForm
        admin.site.site_header = _("养老服务平台管理")
        admin.site.site_title = _("养老服务平台管理")
        register(
            NavItem(
                label=_("用户与令牌"),
                url_name="admin:index",
                perm=Perm.USERS_MANAGE,
                order=900,
                staff_only=True,
            )
        )
        register(
            NavItem(
                label=_("审计日志"),
                url_name="admin:core_auditlog_changelist",
                perm=Perm.AUDIT_VIEW,
                order=910,
                staff_only=True,
            )
        )
        register(NavItem(label=_("API 文档"), url_name="api:openapi-view", perm=Perm.API_USE, order=950))
