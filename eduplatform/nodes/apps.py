from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class NodesConfig(AppConfig):
    name = "eduplatform.nodes"
    label = "nodes"
    verbose_name = gettext_lazy("市级节点")
