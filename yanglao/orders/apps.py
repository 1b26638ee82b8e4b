from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "yanglao.orders"
    label = "orders"
    verbose_name = _("服务工单")

    def ready(self) -> None:
        from yanglao.orders import wiring

        wiring.connect()
