from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ExchangeConfig(AppConfig):
    name = "eduplatform.exchange"
    label = "exchange"
    verbose_name = gettext_lazy("开放接口")

    def ready(self) -> None:
        # The API's resources register themselves (record kinds, code tables, statistics).
        from eduplatform.exchange import record_resources  # noqa: F401
        # Then the read-only ones (code tables, statistics), after the records in the standard's order.
        import_module("eduplatform.exchange.api_reference")
