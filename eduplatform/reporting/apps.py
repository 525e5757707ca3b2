from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class ReportingConfig(AppConfig):
    name = "eduplatform.reporting"
    label = "reporting"
    verbose_name = gettext_lazy("报表与审核")
