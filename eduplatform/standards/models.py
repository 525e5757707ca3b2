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


class CodeSynonym(models.Model):
    """Another way people write a code: an official short name (中共党员), a superseded name (中学高级教师)
    or a common spelling (钢混, 饭堂). Read from ``data/reference/code_synonyms.csv``.

    ``table_key`` is the key of a code table, or of a list the platform keeps in code (our staff titles,
    nationality subset …), which is why it is not a foreign key.
    """

    table_key = models.CharField(_("代码表标识"), max_length=64)
    code = models.CharField(_("代码"), max_length=16)
    synonym = models.CharField(_("写法"), max_length=100)
    source = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("代码的其他写法")
        ordering = ["table_key", "code", "synonym"]
        constraints = [
            models.UniqueConstraint(fields=["table_key", "synonym"], name="code_synonym_unique_in_table"),
        ]

    def __str__(self) -> str:
        return f"{self.synonym} → {self.table_key}:{self.code}"
