"""Inputs of the policy calculators that the records do not hold: the per-student funding rates
(生均公用经费定额) set by the province, versioned by year, and the category of each higher-education
institution that its condition standards depend on (教发〔2004〕2号).

A rate set is never changed once written: a revision is a new version of the same year, so every
calculation can name the exact rates it used and an old result can be reproduced.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields
from eduplatform.orgs.models import Organization
from eduplatform.orgs.stages import STAGE_LABELS, Stage

MONEY = {"max_digits": 12, "decimal_places": 2}
PRIVATE_SPONSOR = "999"  # 举办者 999 民办 (sponsor_type.csv)


class FundingRateSet(models.Model):
    """One version of a year's per-student rates (生均公用经费基准定额 and its additions)."""

    year = models.PositiveSmallIntegerField(_("年度"))
    version = models.PositiveSmallIntegerField(_("版本"))
    basis = models.CharField(_("依据"), max_length=300)
    note = models.CharField(_("修订说明"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("生成时间"))
    created_by = models.CharField(_("生成人"), max_length=150)

    class Meta:
        verbose_name = _("生均公用经费定额")
        ordering = ["-year", "-version"]
        constraints = [models.UniqueConstraint(fields=["year", "version"], name="one_funding_rate_version")]

    def __str__(self) -> str:
        return gettext("%(year)s 年度生均公用经费定额（第 %(version)s 版）") % {"year": self.year, "version": self.version}


class FundingRate(models.Model):
    """A stage's line of a rate set (amounts in 元 per student per year)."""

    rate_set = models.ForeignKey(FundingRateSet, on_delete=models.PROTECT, related_name="rates")
    stage = models.PositiveSmallIntegerField(_("学段"))  # one orgs.stages.Stage bit
    per_student = models.DecimalField(_("生均定额（元/生·年）"), **MONEY)
    per_boarder = models.DecimalField(_("寄宿生增加（元/生·年）"), default=0, **MONEY)
    # Disabled pupils of the stage are funded at this rate instead of ``per_student`` (随班就读残疾学生).
    per_disabled = models.DecimalField(_("残疾学生定额（元/生·年）"), null=True, blank=True, **MONEY)
    # A rural (乡村) school with fewer pupils in the stage is funded as if it had this many.
    minimum_headcount = models.PositiveIntegerField(_("乡村小规模学校按人数核定"), default=0)
    # Which schools the line funds (stats.definitions: every rule states its 办学类型 and 举办者):
    # 办学类型 codes or code prefixes, space-separated ('' = every school teaching the stage), and
    # whether 民办 schools (举办者 999) are funded at this rate too — never unless the rule says so.
    school_types = models.CharField(_("适用办学类型"), max_length=200, blank=True, default="")
    covers_private = models.BooleanField(_("适用于民办学校"), default=False)
    source = models.CharField(_("来源"), max_length=300)

    class Meta:
        verbose_name = _("生均公用经费定额（学段）")
        ordering = ["rate_set", "stage"]
        constraints = [models.UniqueConstraint(fields=["rate_set", "stage"], name="one_funding_rate_per_stage")]

    @property
    def stage_label(self) -> str:
        return str(STAGE_LABELS.get(Stage(self.stage), self.stage))

    @property
    def school_type_prefixes(self) -> tuple[str, ...]:
        return tuple(self.school_types.split())

    @property
    def applies_to_label(self) -> str:
        """The schools the line funds, in words (the funding page shows it beside the rates)."""
        types = "、".join(self.school_type_prefixes) if self.school_types else gettext("该学段所有办学类型")
        sponsors = gettext("公办和民办学校") if self.covers_private else gettext("公办学校（不含民办）")
        return gettext("办学类型：{types}；举办者：{sponsors}").format(types=types, sponsors=sponsors)

    def applies_to(self, *, school_type_code: str, sponsor_code: str) -> str:
        """'' when this line funds a school of this 办学类型 and 举办者; otherwise why not."""
        if sponsor_code == PRIVATE_SPONSOR and not self.covers_private:
            return gettext("本定额不适用于民办学校")
        prefixes = self.school_type_prefixes
        if prefixes and not any(school_type_code.startswith(p) for p in prefixes):
            return gettext("本定额只适用于办学类型 %(types)s，该校为 %(school_type)s") % {
                "types": "、".join(prefixes), "school_type": school_type_code or gettext("未填")}
        return ""


class InstitutionCategory(models.TextChoices):
    """The institution types of the 教发〔2004〕2号 condition tables."""

    GENERAL = "general", _("综合、师范、民族院校")
    ENGINEERING = "engineering", _("工科、农、林院校")
    MEDICAL = "medical", _("医学院校")
    HUMANITIES = "humanities", _("语文、财经、政法院校")
    SPORTS = "sports", _("体育院校")
    ARTS = "arts", _("艺术院校")


class HigherEdProfile(models.Model):
    """The category of a higher-education institution (not in the national 办学类型 code, which only
    separates 本科 from 专科), set by whoever manages the institution's record."""

    school = models.OneToOneField(Organization, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("院校类别"), max_length=12, choices=InstitutionCategory.choices)
    updated_at = models.DateTimeField(_("更新时间"))
    updated_by = models.CharField(_("更新人"), max_length=150)

    SCOPE = ScopeFields(path="school__region_path", school="school_id", stages="school__stage_mask")

    class Meta:
        verbose_name = _("高校类别")
