from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "eduplatform.accounts"
    label = "accounts"
    verbose_name = "账号与权限"

    def ready(self) -> None:
        from eduplatform.accounts import signals  # noqa: F401  (connects the audit receivers)
