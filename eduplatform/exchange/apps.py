from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "eduplatform.exchange"
    label = "exchange"
    verbose_name = "开放接口"

    def ready(self) -> None:
        # The API's resources register themselves (record kinds, code tables, statistics).
        from eduplatform.exchange import record_resources  # noqa: F401
