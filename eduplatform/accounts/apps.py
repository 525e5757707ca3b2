from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AccountsConfig(AppConfig):
    name = "eduplatform.accounts"
    label = "accounts"
    verbose_name = gettext_lazy("账号与权限")

    def ready(self) -> None:
        from eduplatform.accounts import signals  # noqa: F401  (connects the audit receivers)
