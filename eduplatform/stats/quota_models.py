"""Derived tables of the policy calculators: each school's staffing quota and funding inputs, and
their sums per county, kept by ``stats.calculator_tables`` in the same refresh as the roll-ups they
are computed from (``stats.rollup.recompute_schools``), rebuilt by ``rebuild_all`` and frozen with
every census snapshot (``FROZEN`` in ``stats.models``).

Why: a province's staffing or funding page computed every school from the per-school roll-ups at
request time (3.7 s and 1.8 s at province scale). A school's quota depends only on its own counts
(rounded up per school), so it is computed when those counts change; the funding rule is linear in
the counts per (stage, 乡村/城镇, 办学类型, 民办) except the rural minimum headcount, which the county
table answers from a small histogram (``headcount``). A province's or a city's page then sums about
122 county rows; a county's sums its schools' stored rows by town.

Imported at the end of ``stats.models`` (the app's models module), so Django registers them there.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields

# stats.models.COUNTY_PATH_LENGTH (repeated: this module is imported from the end of that one).
COUNTY_KEY_LENGTH = 15
# A rural school-stage with fewer pupils than this keeps its exact headcount in the county funding
# table, so any minimum headcount (乡村小规模学校按 N 人核定) up to it is answered from county rows; a
# rate line with a larger minimum is computed per school (``funding.allocation``).
SMALL_SCHOOL_HEADCOUNT_LIMIT = 200


class SchoolQuotaFigures(models.Model):
    """One school's 教职工编制 quota by the standards (``stats.calculators``), the staff in post by the
    one definition of 教职工 (``stats.definitions.STAFF``), and the arithmetic shown on the page."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage_mask = models.PositiveSmallIntegerField(_("学段"))
    quota = models.IntegerField(_("核定编制"), null=True)  # NULL: 不测算 (no standard applies)
    actual = models.IntegerField(_("在岗教职工"), default=0)
    steps = models.TextField(_("测算过程"), default="")  # one line per part, "\n"-separated

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage_mask")

    class Meta:
        abstract = True


class SchoolQuota(SchoolQuotaFigures):
    class Meta:
        verbose_name = _("学校编制测算")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="school_quota_path")]
        constraints = [models.UniqueConstraint(fields=["school_id"], name="one_quota_per_school")]


class SnapshotSchoolQuota(SchoolQuotaFigures):
    snapshot = models.ForeignKey("stats.Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("学校编制测算（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_quota_path")]


class QuotaCountyFigures(models.Model):
    """The assessed schools' quotas and staff in post summed per county key (a school shown as
    不测算 is in no sum). No stage dimension: a stage-limited scope reads the schools' roll-ups."""

    region_path = models.CharField(max_length=64)  # the first COUNTY_KEY_LENGTH characters
    schools = models.IntegerField(_("测算学校数"), default=0)
    quota = models.IntegerField(_("核定编制"), default=0)
    actual = models.IntegerField(_("在岗教职工"), default=0)

    SCOPE = ScopeFields(path="region_path", school="", stages=None, path_length=COUNTY_KEY_LENGTH)

    class Meta:
        abstract = True


class QuotaCountyRollup(QuotaCountyFigures):
    class Meta:
        verbose_name = _("编制测算（县级）")
        constraints = [models.UniqueConstraint(fields=["region_path"], name="one_quota_county_row")]


class SnapshotQuotaCounty(QuotaCountyFigures):
    snapshot = models.ForeignKey("stats.Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("编制测算（县级，快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_quota_county_path")]


class SchoolFundingFigures(models.Model):
    """One school's pupils of one stage as the 生均公用经费 rule counts them, with the school's 办学类型,
    举办者 and 城乡 (as the school roll-up holds them): the inputs of its allocation line."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage = models.PositiveSmallIntegerField(_("学段"))
    school_type_code = models.CharField(_("办学类型"), max_length=3, default="")
    sponsor_code = models.CharField(_("举办者"), max_length=3, default="")
    rural = models.BooleanField(_("乡村"), default=False)
    enrolled = models.IntegerField(_("在校生"), default=0)
    boarding = models.IntegerField(_("住宿生"), default=0)
    disabled = models.IntegerField(_("残疾学生"), default=0)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage")

    class Meta:
        abstract = True


class SchoolFundingRollup(SchoolFundingFigures):
    class Meta:
        verbose_name = _("学校经费测算基数")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="school_funding_path")]
        constraints = [models.UniqueConstraint(fields=["school_id", "region_path", "stage"],
                                               name="one_funding_row_per_school_stage")]


class SnapshotSchoolFunding(SchoolFundingFigures):
    snapshot = models.ForeignKey("stats.Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("学校经费测算基数（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_funding_path")]


class FundingCountyFigures(models.Model):
    """``SchoolFundingFigures`` summed per county key and what a rate line depends on: stage, 办学类型,
    民办 or not, 乡村 or not, and — for a rural school-stage under SMALL_SCHOOL_HEADCOUNT_LIMIT pupils —
    its exact headcount (0 otherwise), so the minimum-headcount top-up is Σ schools × minimum − pupils
    over the rows below the minimum."""

    region_path = models.CharField(max_length=64)  # the first COUNTY_KEY_LENGTH characters
    stage = models.PositiveSmallIntegerField(_("学段"))
    school_type_code = models.CharField(_("办学类型"), max_length=3, default="")
    private = models.BooleanField(_("民办"), default=False)
    rural = models.BooleanField(_("乡村"), default=False)
    headcount = models.IntegerField(_("小规模学校人数"), default=0)
    schools = models.IntegerField(_("学校数"), default=0)
    enrolled = models.IntegerField(_("在校生"), default=0)
    boarding = models.IntegerField(_("住宿生"), default=0)
    disabled = models.IntegerField(_("残疾学生"), default=0)

    SCOPE = ScopeFields(path="region_path", school="", stages="stage", path_length=COUNTY_KEY_LENGTH)

    class Meta:
        abstract = True


FUNDING_COUNTY_CELL = ("region_path", "stage", "school_type_code", "private", "rural", "headcount")


class FundingCountyRollup(FundingCountyFigures):
    class Meta:
        verbose_name = _("经费测算基数（县级）")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="funding_county_path")]
        constraints = [models.UniqueConstraint(fields=FUNDING_COUNTY_CELL, name="one_funding_county_cell")]


class SnapshotFundingCounty(FundingCountyFigures):
    snapshot = models.ForeignKey("stats.Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("经费测算基数（县级，快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_funding_county_path")]


# Each live table and its frozen copy (appended to stats.models.FROZEN).
CALCULATOR_FROZEN: tuple[tuple[type[models.Model], type[models.Model]], ...] = (
    (SchoolQuota, SnapshotSchoolQuota), (QuotaCountyRollup, SnapshotQuotaCounty),
    (SchoolFundingRollup, SnapshotSchoolFunding), (FundingCountyRollup, SnapshotFundingCounty),
)
