from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class QualityConfig(AppConfig):
    name = "eduplatform.quality"
    label = "quality"
    verbose_name = gettext_lazy("数据质量与建库进度")

    def ready(self) -> None:
        # The rules register themselves (identity, plausibility, consistency, completeness), and the
        # issues waiting on a school or a county join the platform's one inbox.
        import_module("eduplatform.quality.checks")
        import_module("eduplatform.quality.inbox_sources")
