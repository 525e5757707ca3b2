from django.apps import AppConfig


class StandardsConfig(AppConfig):
    name = "eduplatform.standards"
    label = "standards"
