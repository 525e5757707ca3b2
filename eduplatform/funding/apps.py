from django.apps import AppConfig


class FundingConfig(AppConfig):
    name = "eduplatform.funding"
    label = "funding"
    verbose_name = "经费测算与办学条件"
