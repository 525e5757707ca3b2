from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "eduplatform.assets"
    label = "assets"
    verbose_name = "资产与仪器设备"
