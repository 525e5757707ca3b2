from django.apps import AppConfig


class NodesConfig(AppConfig):
    name = "eduplatform.nodes"
    label = "nodes"
    verbose_name = "市级节点"
