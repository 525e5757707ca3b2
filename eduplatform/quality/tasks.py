"""Background jobs of data quality: a scan of a region, and the scan of a school after an import."""

from __future__ import annotations

from django_tasks import task


@task()
def run_quality_scan(scan_id: int) -> None:
    from eduplatform.quality.scans import run_scan

    run_scan(scan_id)
