from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "eduplatform.portal"
    label = "portal"
    verbose_name = "统计公开"
