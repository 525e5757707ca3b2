from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class CoreConfig(AppConfig):
    verbose_name = gettext_lazy("平台机制")
    name = "eduplatform.core"
    label = "core"
