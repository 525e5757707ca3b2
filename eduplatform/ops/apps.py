from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class OpsConfig(AppConfig):
    """Operations: health and readiness probes, Prometheus metrics, structured logs, the scheduler."""

    name = "eduplatform.ops"
    label = "ops"
    verbose_name = gettext_lazy("运维")

    def ready(self) -> None:
        from eduplatform.ops import logs

        logs.connect_signals()
