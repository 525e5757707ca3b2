from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ImportsConfig(AppConfig):
    name = "eduplatform.imports"
    label = "imports"
    verbose_name = gettext_lazy("数据导入")
