"""Background refresh of roll-ups when a commit dirtied too many schools to do it inline."""

from __future__ import annotations

from django_tasks import task

from eduplatform.stats.rollup import process_dirty


@task()
def refresh_rollups() -> None:
    process_dirty()
