"""Base tables (基表) kept with their snapshot: every region's and every school's tables of each series,
folded once after the snapshot is taken (``stats.basetables.stored``), so opening or exporting one is a
read. A snapshot never changes, so neither do these rows; they are derived, and can be made again at
any time from the snapshot's frozen roll-ups (``manage.py store_base_tables``).

Imported at the end of ``stats.models`` (one line), so the models belong to the ``stats`` app.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields


class StoredBaseTables(models.Model):
    """One series' tables of a region (``school_id`` null: every school under ``region_path``) or of
    one school, with their validation findings, as JSON (``basetables.stored.encode``).

    A region's row is correct only for a reader whose scope covers the whole region with every stage:
    ``basetables.stored.read`` serves it to no one else (a stage-limited or narrower reader gets the
    tables computed through the scoped selectors)."""

    snapshot = models.ForeignKey("stats.Snapshot", on_delete=models.CASCADE, related_name="+")
    series = models.CharField(_("系列"), max_length=12)
    region_path = models.CharField(max_length=64)  # the region's path, or the school's place
    school_id = models.BigIntegerField(null=True, blank=True)
    content = models.TextField()  # {"tables": [...], "findings": [...]}

    SCOPE = ScopeFields(path="region_path", school="school_id")

    class Meta:
        verbose_name = _("基表（随快照生成）")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "series", "region_path"], condition=Q(school_id__isnull=True),
                                    name="one_stored_region_table"),
            models.UniqueConstraint(fields=["snapshot", "series", "school_id"], condition=Q(school_id__isnull=False),
                                    name="one_stored_school_table"),
        ]


class BaseTableRun(models.Model):
    """The generation of a snapshot's stored tables: queued when the snapshot is taken, run by the
    worker (``stats.tasks.store_base_tables``) outside the snapshot's transaction, with progress."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

    snapshot = models.OneToOneField("stats.Snapshot", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8, default=QUEUED)
    done = models.PositiveIntegerField(default=0)  # steps (one per series and city) finished
    total = models.PositiveIntegerField(default=0)
    subjects = models.PositiveIntegerField(default=0)  # regions and schools stored
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("基表生成")
