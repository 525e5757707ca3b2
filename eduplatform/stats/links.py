"""From a statistics figure to the records behind it.

A pivot cell is a sum over roll-up rows that match its dimension values; the same values, as query
parameters of the student or staff list, select the records those rows were counted from. The lists
accept a few parameters only a figure sets (region, stage, birth cohort or years, and flags such as
少数民族); this module names them and describes them on the list page, so the user sees why the list
holds what it holds and keeps the filter while paging, narrowing or exporting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import Http404, QueryDict
from django.utils.translation import gettext, gettext_lazy

from eduplatform.orgs.models import Region
from eduplatform.orgs.scope import Actor
from eduplatform.orgs.selectors import scope_root
from eduplatform.orgs.stages import STAGE_LABELS, Stage
from eduplatform.stats.definitions import NAMED_BANDS
from eduplatform.stats.rollup import SIZE_BANDS

# Parameters a figure adds to a record list beyond the list's own form fields.
FIGURE_PARAMS = ("region", "stage", "cohort", "born_from", "born_to", "establishment", "teaching_stage",
                 "title_grade", "education_level", "subject", "level")
BLANK = "_"  # a dimension value that was not recorded ("" in the roll-up), e.g. 未定职级


def region_from_param(actor: Actor, code: str) -> Region | None:
    """The region a figure link names, which must lie inside the actor's jurisdiction."""
    code = (code or "").strip()
    if not code:
        return None
    root = scope_root(actor)
    region = Region.objects.filter(code=code).first()
    if region is None or root is None or not region.path.startswith(root.path):
        raise Http404(gettext("该区划不存在或不在您的管辖范围内"))
    return region


def param_value(value: str) -> str:
    """A dimension value as the list filters on it: ``BLANK`` stands for "not recorded"."""
    return "" if value == BLANK else value


def size_band_range(label: str) -> tuple[int, int | None] | None:
    """The class sizes of a 基础基211–213 band label ("≤25", "56-60", "≥66") or of a labelled band
    (``definitions.NAMED_BANDS``: "大班额" 56–65, "超大班额" ≥ 66, "56人以上"); None for no band.
    A figure counts classes with at least one pupil, so the lowest band starts at 1."""
    lows = [low for _label, low in SIZE_BANDS]
    ranges = {}
    for i, (band, low) in enumerate(SIZE_BANDS):
        ranges[band] = (max(low, 1), (lows[i + 1] - 1 if i + 1 < len(lows) else None))
    if label in NAMED_BANDS:
        bands = NAMED_BANDS[label]
        return ranges[bands[0]][0], ranges[bands[-1]][1]
    return ranges.get(label)


@dataclass(frozen=True)
class FigureFilter:
    label: str  # e.g. "区划：天河区；学段：小学；出生学年：2019"
    hidden: tuple[tuple[str, str], ...]  # to resubmit with the list's own filter form


def figure_filter(params: QueryDict, region: Region | None, flag_labels: Mapping[str, str],
                  shown_flags: Mapping[str, str], value_labels: Mapping[str, Mapping[str, str]] | None = None,
                  extra: Mapping[str, str] | None = None) -> FigureFilter | None:
    """What a figure link asked the list for, or None when the list was opened normally.

    ``shown_flags`` are the flags the list's form offers as checkboxes (kept by the form itself);
    the other flags in ``flag_labels`` only come from figures and travel as hidden fields.
    ``extra`` names further parameters (name → label) that this list has no form field for.
    """
    value_labels = value_labels or {}
    labels = {**_PARAM_LABELS, **(extra or {})}
    parts: list[str] = []
    hidden: list[tuple[str, str]] = []
    for name in (*FIGURE_PARAMS, *(extra or {})):
        value = params.get(name, "")
        if not value:
            continue
        hidden.append((name, value))
        if name == "region":
            parts.append(gettext("区划：%(region)s") % {"region": region.name if region else value})
        elif name == "stage":
            stage = int(value) if value.isdigit() else 0
            parts.append(gettext("学段：%(stage)s") % {
                "stage": STAGE_LABELS.get(Stage(stage), value) if stage in _STAGE_BITS else value})
        elif name == "cohort":
            parts.append(gettext("出生学年：%(start)s 年 9 月至 %(end)s 年 8 月出生") % {"start": int(value) - 1, "end": value}
                         if value.isdigit() else value)
        elif name in ("born_from", "born_to"):
            parts.append((gettext("出生年份不早于 %(year)s") if name == "born_from" else gettext("出生年份不晚于 %(year)s"))
                         % {"year": value})
        else:
            names = value_labels.get(name, {})
            parts.append(gettext("%(label)s：%(value)s") % {
                "label": labels[name], "value": gettext("未填报") if value == BLANK else names.get(value, value)})
    for flag in params.getlist("flag"):
        if flag in flag_labels and flag not in shown_flags:
            hidden.append(("flag", flag))
            parts.append(flag_labels[flag])
    if not hidden:
        return None
    return FigureFilter(gettext("；").join(str(p) for p in parts), tuple(hidden))


_STAGE_BITS = {int(s) for s in STAGE_LABELS}
_PARAM_LABELS = {"establishment": gettext_lazy("编制情况"), "teaching_stage": gettext_lazy("任课学段"),
                 "title_grade": gettext_lazy("职称等级"), "education_level": gettext_lazy("最高学历"),
                 "subject": gettext_lazy("主要任教学科"), "level": gettext_lazy("培养层次")}
