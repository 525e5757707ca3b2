from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "eduplatform.imports"
    label = "imports"
    verbose_name = "数据导入"
