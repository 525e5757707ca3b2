from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "eduplatform.web"
    label = "web"
