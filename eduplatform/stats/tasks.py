"""Background jobs of the statistics: the refresh of roll-ups (what a commit dirtied in too many
schools to refresh inline, and the retry of any refresh that failed after its commit), and the base
tables stored with a new snapshot."""

from __future__ import annotations

from django_tasks import task

from eduplatform.stats.rollup import drain_dirty


@task()
def refresh_rollups() -> None:
    drain_dirty()


@task()
def store_base_tables(snapshot_id: int) -> None:
    from eduplatform.stats.basetables import stored

    stored.run_queued(snapshot_id)
