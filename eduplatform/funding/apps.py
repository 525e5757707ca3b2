from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class FundingConfig(AppConfig):
    name = "eduplatform.funding"
    label = "funding"
    verbose_name = gettext_lazy("经费测算与办学条件")
