from django.apps import AppConfig


class CoreConfig(AppConfig):
    verbose_name = "平台机制"
    name = "eduplatform.core"
    label = "core"
