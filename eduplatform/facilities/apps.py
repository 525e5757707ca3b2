from django.apps import AppConfig


class FacilitiesConfig(AppConfig):
    name = "eduplatform.facilities"
    label = "facilities"
    verbose_name = "土地与校舍"
