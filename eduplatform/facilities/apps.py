from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class FacilitiesConfig(AppConfig):
    name = "eduplatform.facilities"
    label = "facilities"
    verbose_name = gettext_lazy("土地与校舍")

    def ready(self) -> None:
        from eduplatform.facilities import importing
        from eduplatform.imports import registry

        registry.register(importing.BUILDINGS)
        registry.register(importing.LAND)
