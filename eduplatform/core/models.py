"""Background jobs people watch: a spreadsheet import with its progress and its error report.

The job row is what the page polls; the work itself runs in a django-tasks worker. Keeping the
uploaded file in the row (not on a local disk) lets any worker on any machine pick it up. The file
is sealed with the field keys (``core.crypto.seal_file``: it holds ID numbers) and dropped when it
is no longer needed, or at the latest ``UPLOAD_RETENTION_HOURS`` after the job ends.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields


class ImportMode(models.TextChoices):
    DRY_RUN = "dry_run", _("仅校验（不写入）")
    ALL_OR_NOTHING = "all_or_nothing", _("全部导入：有任何错误则一行也不写入")
    ACCEPT_VALID = "accept_valid", _("只导入正确的行，错误行列入报告")


class WritePolicy(models.TextChoices):
    """Which rows of an import may write: new records, changes to existing ones, or both. A row the
    policy leaves out is reported (with what it would have done), never written."""

    CREATE_ONLY = "create_only", _("只新增：已有记录不修改")
    UPDATE_ONLY = "update_only", _("只更新已有记录：不新增")
    CREATE_AND_UPDATE = "create_and_update", _("新增并更新")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("处理中")
    DONE = "done", _("已完成")
    REJECTED = "rejected", _("有错误，未写入")
    FAILED = "failed", _("失败")


class ImportJob(models.Model):
    kind = models.CharField(_("导入内容"), max_length=32)  # "students", …
    file_name = models.CharField(_("文件名"), max_length=200)
    content = models.BinaryField(_("文件"))  # sealed (AES-GCM); b"" once dropped
    file_kept = models.BooleanField(_("保留文件"), default=True)
    mode = models.CharField(_("导入方式"), max_length=16, choices=ImportMode.choices)
    status = models.CharField(_("状态"), max_length=10, choices=JobStatus.choices, default="queued")
    phase = models.CharField(_("阶段"), max_length=50, blank=True)
    total_rows = models.PositiveIntegerField(_("总行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理"), default=0)
    error_rows = models.PositiveIntegerField(_("错误行数"), default=0)
    written_rows = models.PositiveIntegerField(_("已写入"), default=0)
    # Create versus update: what the user allowed, and per row what the import did (or, for a dry
    # run, would do). Jobs before this choice existed wrote both, hence the column default.
    write_policy = models.CharField(_("新增或更新"), max_length=20, choices=WritePolicy.choices,
                                    default=WritePolicy.CREATE_AND_UPDATE)
    created_rows = models.PositiveIntegerField(_("新增"), default=0)
    updated_rows = models.PositiveIntegerField(_("修改"), default=0)
    unchanged_rows = models.PositiveIntegerField(_("无变化"), default=0)
    # {"create": [row, …], "unchanged": [row, …], "update": [{"row", "record", "changes": [[label, old, new]]}]}
    row_actions = models.JSONField(_("逐行操作"), default=dict, blank=True)
    # [{"row": 7, "column": "身份证件号", "value": "…", "message": "…"}], in file order.
    problems = models.JSONField(_("错误报告"), default=list, blank=True)
    failure = models.TextField(_("失败原因"), blank=True)
    # What was read of the file before any row was checked (core.imports.read_table's mapping report):
    # the sheet, the header rows, each column's letter, header and field, the columns not imported,
    # the required fields missing and the rows skipped as titles, examples or signatures.
    mapping = models.JSONField(_("列对应"), default=dict, blank=True)
    # Where the rows go and who asked, so the job page is read through the same scope as the data.
    school_id = models.BigIntegerField(null=True, blank=True)
    region_path = models.CharField(max_length=64, db_index=True)
    target_label = models.CharField(_("导入到"), max_length=200)
    requested_by_id = models.BigIntegerField(null=True)
    requested_by = models.CharField(_("提交人"), max_length=150)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker at every phase and progress step: a running job whose heartbeat stopped
    # belongs to a worker that died (killed, out of memory) and is marked failed.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    SCOPE = ScopeFields(path="region_path", school="school_id")

    class Meta:
        verbose_name = _("导入任务")
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int:
        if self.status in (JobStatus.DONE, JobStatus.REJECTED):
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(100 * self.processed_rows / self.total_rows))

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.REJECTED, JobStatus.FAILED)


class Submission(models.Model):
    """A form submission claimed once (``core/once.py``): the unique key is what makes a double click,
    or the same form posted twice at the same moment, take effect once."""

    key = models.CharField(max_length=100, unique=True)  # the form's one-time token, or a derived key
    action = models.CharField(max_length=60)  # e.g. "students.promotion_execute", for the record
    submitted_by = models.CharField(max_length=150)
    submitted_at = models.DateTimeField(default=timezone.now)
    result_url = models.CharField(max_length=300, blank=True)  # where a repeat is sent

    class Meta:
        verbose_name = _("表单提交")


class ExportJob(models.Model):
    """A list export too large to build inside a request: the worker replays the list page's request
    (same path, filters, user and region focus) and keeps the workbook, sealed, for its requester."""

    file_name = models.CharField(_("文件名"), max_length=200, blank=True)
    label = models.CharField(_("导出内容"), max_length=200)
    path = models.CharField(max_length=500)
    query = models.TextField(blank=True)
    focus_path = models.CharField(max_length=64, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=JobStatus.choices, default="queued")
    written_rows = models.PositiveBigIntegerField(_("已写出"), default=0)
    sheets = models.PositiveIntegerField(_("工作表数"), default=0)
    content = models.BinaryField(_("文件"), default=b"")  # sealed (AES-GCM) once done
    file_kept = models.BooleanField(default=False)
    failure = models.TextField(_("失败原因"), blank=True)
    # The requester's place: the job is read through the same scope, and only by its requester.
    region_path = models.CharField(max_length=64, db_index=True)
    school_id = models.BigIntegerField(null=True, blank=True)
    requested_by_id = models.BigIntegerField()
    requested_by = models.CharField(_("提交人"), max_length=150)
    created_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    SCOPE = ScopeFields(path="region_path", school="school_id")

    class Meta:
        verbose_name = _("导出任务")
        ordering = ["-created_at", "-id"]

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
