from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class StaffConfig(AppConfig):
    name = "eduplatform.staff"
    label = "staff"
    verbose_name = gettext_lazy("教职工与教育管理干部")

    def ready(self) -> None:
        from eduplatform.staff.importing import register_kinds

        register_kinds()
