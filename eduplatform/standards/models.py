"""Code tables of the national standards (GB/T, JY/T): the descriptors every record field uses."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CodeTable(models.Model):
    key = models.SlugField(_("代码表标识"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    standard = models.CharField(_("依据标准"), max_length=200, blank=True)
    source_file = models.CharField(_("来源文件"), max_length=100)

    class Meta:
        verbose_name = _("代码表")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name}（{self.key}）"


class Code(models.Model):
    table = models.ForeignKey(CodeTable, on_delete=models.CASCADE, related_name="codes")
    # Codes are text: leading zeros ("01") and letters ("A", "Z") are significant.
    code = models.CharField(_("代码"), max_length=16, blank=True)
    name = models.CharField(_("名称"), max_length=200)
    parent_code = models.CharField(_("上级代码"), max_length=16, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    # The rest of the CSV row (note, kind, depth, stages, applies_to …), kept as the source has it.
    extra = models.JSONField(default=dict, blank=True)
    # A few sources give names without codes (e.g. 中小学教师职称); such rows are keyed by name.
    natural_key = models.CharField(max_length=200)

    class Meta:
        verbose_name = _("代码")
        ordering = ["table", "sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["table", "natural_key"], name="code_unique_in_table"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}" if self.code else self.name
