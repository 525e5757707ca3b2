from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PortalConfig(AppConfig):
    name = "eduplatform.portal"
    label = "portal"
    verbose_name = gettext_lazy("统计公开")
