from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "eduplatform.staff"
    label = "staff"
    verbose_name = "教职工与教育管理干部"
