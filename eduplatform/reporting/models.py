"""Supplementary statistical forms (补充统计报表), collection tasks, submissions and the review chain.

Forms are data, as DHIS2 keeps data sets: a ``FormVersion`` holds the whole definition (tables, rows,
columns, prefill and computed cells, hard and soft rules) as JSON, validated by
``reporting.formdef``; a published version never changes, a change is a new version. A
``CollectionTask`` sends one version (or, for the census sign-off, one snapshot) to the schools of its
targets for a period; each target school has one ``Submission``. Review goes up the region tree
(school → town where configured → county → city → province): a school's submission is approved by the
first review level above it, a region node by its own level once everything below it is approved
(``RegionApproval``). Every action is kept in ``ReviewAction``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields


class FormDefinition(models.Model):
    """A form across its versions, known by its code (e.g. 基础基442 → "JC442")."""

    code = models.CharField(_("表号"), max_length=16, unique=True)
    title = models.CharField(_("表名"), max_length=100)
    owner_path = models.CharField(_("设计单位区划路径"), max_length=64, default="")
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    created_by = models.CharField(_("创建人"), max_length=150, blank=True)

    SCOPE = ScopeFields(path="owner_path", school="")  # what the actor manages; targets see tasks via submissions

    class Meta:
        verbose_name = _("报表")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class FormVersionStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class FormVersion(models.Model):
    """One version of a form's definition. Published versions are immutable (tasks point at them)."""

    form = models.ForeignKey(FormDefinition, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveSmallIntegerField(_("版本"))
    definition = models.JSONField(_("定义"), default=dict)
    status = models.CharField(_("状态"), max_length=12, choices=FormVersionStatus.choices,
                              default=FormVersionStatus.DRAFT)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    created_by = models.CharField(_("创建人"), max_length=150, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.CharField(_("发布人"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("报表版本")
        ordering = ["form__code", "-version"]
        constraints = [models.UniqueConstraint(fields=["form", "version"], name="one_form_version")]

    def __str__(self) -> str:
        return gettext("%(code)s 第 %(version)s 版") % {"code": self.form.code, "version": self.version}


class TaskKind(models.TextChoices):
    FORM = "form", _("统计报表")
    CENSUS = "census", _("统计时点数据确认")


class TaskStatus(models.TextChoices):
    DRAFT = "draft", _("未下发")
    OPEN = "open", _("填报中")
    CLOSED = "closed", _("已截止")


class ReviewLevel(models.TextChoices):
    TOWN = "town", _("乡镇")
    COUNTY = "county", _("县（区）")
    CITY = "city", _("地级市")
    PROVINCE = "province", _("省")


class CollectionTask(models.Model):
    """A form version (or a census snapshot) sent to the target schools for one period."""

    kind = models.CharField(_("类别"), max_length=10, choices=TaskKind.choices, default=TaskKind.FORM)
    title = models.CharField(_("任务名称"), max_length=150)
    form_version = models.ForeignKey(FormVersion, verbose_name=_("报表版本"), on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="tasks")
    snapshot = models.ForeignKey("stats.Snapshot", verbose_name=_("统计快照"), on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="signoff_tasks")
    period = models.CharField(_("统计期"), max_length=20)
    deadline = models.DateField(_("截止日期"))
    remind_days = models.PositiveSmallIntegerField(_("截止前提醒天数"), default=3)
    status = models.CharField(_("状态"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.DRAFT)
    # Which schools: {"regions": [paths], "school_types": [codes], "stage_mask": int}; empty = all in scope.
    targets = models.JSONField(_("填报范围"), default=dict)
    # Review levels above the school, bottom-up, e.g. ["county", "city", "province"] or with "town".
    review_levels = models.JSONField(_("审核层级"), default=list)
    # The creating unit's region path: the task is visible to that subtree.
    owner_path = models.CharField(_("下发单位区划路径"), max_length=64)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    created_by = models.CharField(_("创建人"), max_length=150, blank=True)
    opened_at = models.DateTimeField(_("下发时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("截止时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)

    SCOPE = ScopeFields(path="owner_path", school="")  # what the actor manages; targets see tasks via submissions

    class Meta:
        verbose_name = _("填报任务")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="form") & Q(form_version__isnull=False))
                | (Q(kind="census") & Q(snapshot__isnull=False)),
                name="task_has_form_or_snapshot",
            )
        ]

    def __str__(self) -> str:
        return self.title


class SubmissionStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("未填报")
    DRAFT = "draft", _("填报中")
    SUBMITTED = "submitted", _("已上报")
    RETURNED = "returned", _("已退回")
    APPROVED = "approved", _("已审核")


class Submission(models.Model):
    """One school's return for one task (for a census task: its confirmation of the census figures)."""

    task = models.ForeignKey(CollectionTask, on_delete=models.CASCADE, related_name="submissions")
    school = models.ForeignKey("orgs.Organization", verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="report_submissions")
    region_path = models.CharField(_("区划路径"), max_length=64)
    status = models.CharField(_("状态"), max_length=12, choices=SubmissionStatus.choices,
                              default=SubmissionStatus.NOT_STARTED)
    zero_report = models.BooleanField(_("零上报"), default=False)
    values = models.JSONField(_("填报数据"), default=dict)  # cell key → value as entered
    prefill = models.JSONField(_("预填数据"), default=dict)  # cell key → value from the records
    explanations = models.JSONField(_("核实说明"), default=dict)  # rule code (or cell key) → text
    verdicts = models.JSONField(_("说明审核"), default=dict)  # rule code → {"accepted": bool, "reason": str}
    return_reason = models.CharField(_("退回原因"), max_length=500, blank=True)
    return_cells = models.JSONField(_("退回单元格"), default=dict)  # cell key → reason
    reopened = models.BooleanField(_("已重新开放"), default=False)
    lock_version = models.PositiveIntegerField(_("版本号"), default=0)  # optimistic concurrency of auto-save
    saved_at = models.DateTimeField(_("保存时间"), null=True, blank=True)
    saved_by = models.CharField(_("保存人"), max_length=150, blank=True)
    submitted_at = models.DateTimeField(_("上报时间"), null=True, blank=True)
    submitted_by = models.CharField(_("上报人"), max_length=150, blank=True)
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    reviewed_by = models.CharField(_("审核人"), max_length=150, blank=True)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="school__stage_mask")

    class Meta:
        verbose_name = _("报表填报")
        ordering = ["region_path", "school_id"]
        constraints = [models.UniqueConstraint(fields=["task", "school"], name="one_submission_per_school")]
        indexes = [models.Index(fields=["task", "region_path"]), models.Index(fields=["task", "status"])]

    def __str__(self) -> str:
        return f"{self.task} · {self.school}"


class RegionApproval(models.Model):
    """A region node approved at its level for one task; unapproving deletes the row (kept in history)."""

    task = models.ForeignKey(CollectionTask, on_delete=models.CASCADE, related_name="approvals")
    region_path = models.CharField(_("区划路径"), max_length=64)
    level = models.CharField(_("层级"), max_length=10, choices=ReviewLevel.choices)
    approved_at = models.DateTimeField(_("审核时间"), default=timezone.now)
    approved_by = models.CharField(_("审核人"), max_length=150)
    note = models.CharField(_("审核意见"), max_length=500, blank=True)

    SCOPE = ScopeFields(path="region_path", school="")

    class Meta:
        verbose_name = _("逐级审核")
        ordering = ["task_id", "region_path"]
        constraints = [models.UniqueConstraint(fields=["task", "region_path"], name="one_approval_per_region")]

    def __str__(self) -> str:
        return f"{self.task} · {self.region_path} · {self.get_level_display()}"


class ReviewActionKind(models.TextChoices):
    OPEN = "open", _("下发")
    REMIND = "remind", _("提醒")
    CLOSE = "close", _("截止")
    REOPEN = "reopen", _("重新开放")
    SAVE = "save", _("保存")
    SUBMIT = "submit", _("上报")
    ZERO = "zero", _("零上报")
    APPROVE = "approve", _("审核通过")
    RETURN = "return", _("退回")
    UNAPPROVE = "unapprove", _("撤销审核")
    VERDICT = "verdict", _("审核说明")


class ReviewAction(models.Model):
    """Every step of a task's life, in order: who did what to which submission or region, and why."""

    task = models.ForeignKey(CollectionTask, on_delete=models.CASCADE, related_name="actions")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="actions")
    region_path = models.CharField(_("区划路径"), max_length=64)
    action = models.CharField(_("操作"), max_length=12, choices=ReviewActionKind.choices)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    by = models.CharField(_("操作人"), max_length=150)
    organization_name = models.CharField(_("操作单位"), max_length=200, blank=True)
    reason = models.CharField(_("原因"), max_length=500, blank=True)
    detail = models.JSONField(_("详情"), default=dict)  # per-cell reasons, verdicts, changed cells

    SCOPE = ScopeFields(path="region_path", school="submission__school_id")

    class Meta:
        verbose_name = _("审核记录")
        ordering = ["task_id", "at", "id"]
        indexes = [models.Index(fields=["task", "region_path"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.by}"
