from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class StatsConfig(AppConfig):
    name = "eduplatform.stats"
    label = "stats"
    verbose_name = gettext_lazy("统计")

    def ready(self) -> None:
        from eduplatform.history.services import AFTER_COMMIT_REFRESHERS
        from eduplatform.stats.rollup import refresh_dirty_schools

        if refresh_dirty_schools not in AFTER_COMMIT_REFRESHERS:
            AFTER_COMMIT_REFRESHERS.append(refresh_dirty_schools)
