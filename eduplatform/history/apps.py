from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "eduplatform.history"
    label = "history"
