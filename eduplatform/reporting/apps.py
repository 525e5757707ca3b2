from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "eduplatform.reporting"
    label = "reporting"
    verbose_name = "报表与审核"
