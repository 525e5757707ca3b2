"""Data-quality issues found by the rules (``rules.py``), the scans that find them, and the quality
scores kept over time.

An issue belongs to one record (or, for a school-level rule, to the school itself) and to the school
that must act on it. Its ``fingerprint`` names the finding (rule, object, what was found): a rescan
finds the same fingerprint again and updates the live issue instead of opening another, and closes
the live issues of the scanned rules and scope whose fingerprint it did not find (cause gone). Only
one live issue per fingerprint may exist (a partial unique constraint); a closed one stays as history.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields


class Severity(models.TextChoices):
    ERROR = "error", _("错误")
    WARNING = "warning", _("警告")


class Database(models.TextChoices):
    """The base database a rule concerns (what the progress and the scores are broken down by)."""

    SCHOOLS = "schools", _("学校")
    STUDENTS = "students", _("学生")
    STAFF = "staff", _("教职工")
    FACILITIES = "facilities", _("校舍与土地")
    ASSETS = "assets", _("资产与设备")


class IssueStatus(models.TextChoices):
    OPEN = "open", _("待整改")
    EXPLAINED = "explained", _("已说明，待确认")
    CORRECTED = "corrected", _("已修正，待确认")
    DELETED = "deleted", _("已删除，待确认")
    CONFIRMED = "confirmed", _("已确认")
    RESOLVED = "resolved", _("已消除")  # the cause is gone (a rescan or the record's next write)


# Issues a rescan may still find: every status but RESOLVED. A CONFIRMED issue (an explanation the
# county accepted) stays live while its cause exists, so a rescan never opens it again.
LIVE_STATUSES = tuple(s for s in IssueStatus.values if s != IssueStatus.RESOLVED)
# Waiting on the school / on the county.
SCHOOL_STATUSES = (IssueStatus.OPEN,)
COUNTY_STATUSES = (IssueStatus.EXPLAINED, IssueStatus.CORRECTED, IssueStatus.DELETED)


class QualityIssue(models.Model):
    rule = models.CharField(_("规则"), max_length=40, db_index=True)
    severity = models.CharField(_("严重程度"), max_length=8, choices=Severity.choices)
    database = models.CharField(_("基础库"), max_length=12, choices=Database.choices)
    status = models.CharField(_("状态"), max_length=10, choices=IssueStatus.choices, default=IssueStatus.OPEN)

    school = models.ForeignKey("orgs.Organization", verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="quality_issues")
    region_path = models.CharField(max_length=64)  # the school's, for scope
    stage_mask = models.PositiveSmallIntegerField(_("学段"), default=0)  # the school's

    object_type = models.CharField(_("记录类型"), max_length=60)  # "students.student", "orgs.organization" …
    object_id = models.BigIntegerField(_("记录"), null=True, blank=True)
    object_label = models.CharField(_("记录"), max_length=200, blank=True)
    fingerprint = models.CharField(max_length=200)
    # The same finding seen from several schools (one person active in two schools): one issue per
    # school, all with the same group key, resolved together by the county.
    group_key = models.CharField(max_length=200, blank=True, db_index=True)

    message = models.TextField(_("问题说明"))
    fields = models.JSONField(_("涉及字段"), default=list, blank=True)
    evidence = models.JSONField(_("发现时的取值"), default=dict, blank=True)  # masked personal data only

    explanation = models.TextField(_("学校说明"), blank=True)
    attachment = models.FileField(_("佐证材料"), upload_to="quality/evidence/%Y/%m/", blank=True)
    review_note = models.TextField(_("审核意见"), blank=True)

    found_at = models.DateTimeField(_("发现时间"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("最近检出"), default=timezone.now)
    status_changed_at = models.DateTimeField(_("状态变更时间"), default=timezone.now)
    resolved_at = models.DateTimeField(_("消除时间"), null=True, blank=True)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage_mask")

    class Meta:
        verbose_name = _("数据质量问题")
        indexes = [
            models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="quality_issue_path"),
            models.Index(fields=["school", "status"], name="quality_issue_school_status"),
            models.Index(fields=["object_type", "object_id"], name="quality_issue_object"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["fingerprint"], condition=~Q(status="resolved"),
                                    name="one_live_issue_per_fingerprint"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.object_label}"


class IssueAction(models.TextChoices):
    FOUND = "found", _("检出")
    EXPLAINED = "explained", _("说明")
    CORRECTED = "corrected", _("修正")
    DELETED = "deleted", _("删除记录")
    CONFIRMED = "confirmed", _("确认")
    REOPENED = "reopened", _("退回重新整改")
    RESOLVED = "resolved", _("问题消除")
    KEPT = "kept", _("县级确认保留")  # a duplicate person: the county chose which school keeps them


class QualityIssueAction(models.Model):
    """The history of one issue: who did what, when, and why."""

    issue = models.ForeignKey(QualityIssue, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(_("操作"), max_length=10, choices=IssueAction.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_name = models.CharField(_("操作人"), max_length=100, blank=True)  # "系统（规则扫描）" for a scan
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("数据质量问题处理记录")
        ordering = ["at", "id"]


class ScanStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("运行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class QualityScan(models.Model):
    """One run of rules over a region (a background job, resumable from ``cursor``)."""

    region_path = models.CharField(_("范围"), max_length=64)
    rules = models.JSONField(_("规则"), default=list, blank=True)  # codes; empty: every rule
    status = models.CharField(_("状态"), max_length=8, choices=ScanStatus.choices, default=ScanStatus.QUEUED)
    total = models.IntegerField(_("步骤总数"), default=0)
    done = models.IntegerField(_("已完成步骤"), default=0)
    cursor = models.JSONField(default=dict, blank=True)  # where a resumed scan starts again
    found = models.IntegerField(_("检出"), default=0)
    opened = models.IntegerField(_("新增问题"), default=0)
    closed = models.IntegerField(_("消除问题"), default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    SCOPE = ScopeFields(path="region_path", school="")

    class Meta:
        verbose_name = _("质量扫描")
        ordering = ["-requested_at"]


class QualityScore(models.Model):
    """A day's quality score of one school (``school_id`` its id) or one region (``school_id`` 0, the
    region's own path), per base database: the share of records without an open error."""

    day = models.DateField(_("日期"))
    region_path = models.CharField(max_length=64)
    school_id = models.BigIntegerField(_("学校"), default=0)  # 0: the region's own row
    database = models.CharField(_("基础库"), max_length=12, choices=Database.choices)
    records = models.IntegerField(_("记录数"), default=0)
    records_with_errors = models.IntegerField(_("有错误的记录"), default=0)
    score = models.DecimalField(_("质量得分"), max_digits=5, decimal_places=2, default=100)

    SCOPE = ScopeFields(path="region_path", school="school_id")

    class Meta:
        verbose_name = _("数据质量得分")
        indexes = [models.Index(fields=["day", "region_path"], opclasses=["date_ops", "varchar_pattern_ops"],
                                name="quality_score_day_path")]
        constraints = [
            models.UniqueConstraint(fields=["day", "region_path", "school_id", "database"],
                                    name="one_quality_score_per_day"),
        ]
