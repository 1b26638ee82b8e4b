from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "yanglao.monitoring"
    label = "monitoring"
    verbose_name = _("智慧监测与告警")

    def ready(self) -> None:
        from yanglao.monitoring import wiring

        wiring.connect()
