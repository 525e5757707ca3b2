"""Forms of the funding pages: the rates of a year (one row per stage) and an institution's category."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from eduplatform.funding.models import FundingRateSet, InstitutionCategory
from eduplatform.funding.services import FUNDED_STAGES, RATE_FIELDS, RATE_LABELS
from eduplatform.orgs.forms import style_fields
from eduplatform.orgs.stages import STAGE_LABELS


class RateSetForm(forms.Form):
    """Plain text fields: the service validates and says what is wrong in Chinese."""

    year = forms.CharField(label=gettext_lazy("年度 *"), max_length=4)
    basis = forms.CharField(label=gettext_lazy("依据 *"), max_length=300, help_text=gettext_lazy("文件名称与文号"))
    note = forms.CharField(label=gettext_lazy("修订说明"), max_length=300, required=False, help_text=gettext_lazy("修订已有年度的定额时必填"))

    def __init__(self, *args: Any, start: FundingRateSet | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lines = {r.stage: r for r in start.rates.all()} if start else {}
        if start is not None:
            self.initial.setdefault("year", str(start.year))
            self.initial.setdefault("basis", start.basis)
        for stage in FUNDED_STAGES:
            line = lines.get(int(stage))
            for name in RATE_FIELDS:
                value = getattr(line, name) if line is not None else ""
                label = gettext("%(stage)s · %(rate)s") % {"stage": STAGE_LABELS[stage], "rate": gettext(RATE_LABELS[name])}
                if name == "covers_private":  # 民办 schools at this rate: only when ticked
                    self.fields[f"{int(stage)}.{name}"] = forms.BooleanField(
                        label=label, required=False, widget=forms.CheckboxInput(attrs={"aria-label": label}))
                    self.initial.setdefault(f"{int(stage)}.{name}", bool(value))
                    continue
                self.fields[f"{int(stage)}.{name}"] = forms.CharField(
                    label=label, required=False, max_length=300, widget=forms.TextInput(attrs={"aria-label": label}))
                self.initial.setdefault(f"{int(stage)}.{name}", "" if value is None else value)
        style_fields(self)

    def stage_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(STAGE_LABELS[stage], [self[f"{int(stage)}.{name}"] for name in RATE_FIELDS]) for stage in FUNDED_STAGES]

    def rate_lines(self) -> list[dict[str, str]]:
        """The stages whose 生均定额 is filled in (an empty row: the stage is not funded)."""
        data = self.cleaned_data
        lines = []
        for stage in FUNDED_STAGES:
            line = {name: (data.get(f"{int(stage)}.{name}") or "").strip() for name in RATE_FIELDS
                    if name != "covers_private"}
            if any(line.values()):
                line["covers_private"] = bool(data.get(f"{int(stage)}.covers_private"))
                lines.append({"stage": str(int(stage)), **line})
        return lines


class CategoryForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("院校类别 *"), choices=[("", "—")] + list(InstitutionCategory.choices),
                                 required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_fields(self)
