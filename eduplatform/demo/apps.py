from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "eduplatform.demo"
    label = "demo"
