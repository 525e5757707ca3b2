"""Background refresh of roll-ups: what a commit dirtied in too many schools to refresh inline, and
the retry of any refresh that failed after its commit."""

from __future__ import annotations

from django_tasks import task

from eduplatform.stats.rollup import drain_dirty


@task()
def refresh_rollups() -> None:
    drain_dirty()
