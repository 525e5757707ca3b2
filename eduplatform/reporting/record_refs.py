"""RECORD(...) in form expressions: one school's figures from the roll-ups, through a whitelist.

Two kinds of source:

* ``RECORD('measure:<key>')`` — a named measure of ``stats.measures.MEASURES`` (在校生, 专任教师 …),
  summed by the figure's own definition (``definitions.Figure``: Σ measure over the rows its
  condition selects, × weight, per part), so a prefilled cell equals what every statistics page shows.
* ``RECORD('<rollup>.<field>', dim='value', ...)`` — Σ a numeric field of one roll-up
  (``students`` → StudentRollup, ``staff`` → StaffRollup, ``classes`` → ClassRollup, ``buildings`` →
  BuildingRollup, ``assets`` → AssetRollup) over the rows whose grouping columns match: a value
  ending in ``*`` is a prefix (``education_level='1*'``), ``|`` separates alternatives
  (``post_category='1|2'``).

The whitelist is derived from the models: numeric measure fields (IntegerField, DecimalField) are
what may be summed, the grouping columns (text and small positive integers, less the school and its
path) what may be filtered. Nothing of the expression text reaches SQL except as a bound parameter
of an ORM filter on a whitelisted column.

With a snapshot, the frozen copies (``stats.models.SNAPSHOT_OF``) are read instead of the live rows.
``resolve`` answers all the record references of a form with at most one query per roll-up model.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.db import models
from django.db.models import Q, Sum
from django.utils.translation import gettext

from eduplatform.reporting.expressions import RecordRef, RecordRefProblem

MEASURE_PREFIX = "measure:"
EXCLUDED_FIELDS = {"id", "school_id", "region_path", "snapshot"}
DIM_VALUE_RE = re.compile(r"^[0-9A-Za-z_\-\u4e00-\u9fff（）·≤≥]{1,64}$")  # codes, names, size bands (≤25, ≥66)


def _rollup_models() -> dict[str, type[models.Model]]:
    from eduplatform.stats.models import (
        AssetRollup,
        BuildingRollup,
        ClassRollup,
        StaffRollup,
        StudentRollup,
    )

    return {"students": StudentRollup, "staff": StaffRollup, "classes": ClassRollup, "buildings": BuildingRollup,
            "assets": AssetRollup}


@dataclass(frozen=True)
class Rollup:
    name: str  # "students"
    model: type[models.Model]
    label: str
    measures: dict[str, str]  # field → Chinese label (what may be summed)
    dims: dict[str, str]  # field → Chinese label (what may be filtered)
    integer_dims: frozenset[str]


def _is_dimension(f: models.Field) -> bool:
    return isinstance(f, (models.CharField, models.PositiveSmallIntegerField))


def _is_measure(f: models.Field) -> bool:
    return isinstance(f, (models.IntegerField, models.DecimalField)) and not isinstance(
        f, (models.PositiveSmallIntegerField, models.BigIntegerField))


@lru_cache(maxsize=1)
def rollups() -> dict[str, Rollup]:
    """The whitelist, read from the roll-up models' fields."""
    out: dict[str, Rollup] = {}
    for name, model in _rollup_models().items():
        fields = [f for f in model._meta.concrete_fields if f.name not in EXCLUDED_FIELDS and not f.primary_key]
        out[name] = Rollup(
            name, model, str(model._meta.verbose_name),
            {f.name: str(f.verbose_name) for f in fields if _is_measure(f)},
            {f.name: str(f.verbose_name) for f in fields if _is_dimension(f)},
            frozenset(f.name for f in fields if isinstance(f, models.PositiveSmallIntegerField)),
        )
    return out


def measures() -> dict[str, str]:
    """key → label of the named measures RECORD('measure:<key>') may read."""
    from eduplatform.stats.measures import MEASURES

    return {key: figure.label for key, figure in MEASURES.items()}


def check(source: str, dims: Iterable[tuple[str, str]]) -> None:
    """Raise ``RecordRefProblem`` unless ``source`` and ``dims`` are on the whitelist."""
    dims = list(dims)
    if source.startswith(MEASURE_PREFIX):
        key = source[len(MEASURE_PREFIX):]
        known = measures()
        if key not in known:
            sample = "、".join(list(known)[:12])
            raise RecordRefProblem(gettext("未知的指标项「%(key)s」；可用的如：%(sample)s 等") % {"key": key[:40], "sample": sample})
        if dims:
            raise RecordRefProblem(gettext("指标项（measure:）不能再加维度条件"), 0)
        return
    table, dot, field = source.partition(".")
    known_rollups = rollups()
    if not dot or table not in known_rollups:
        raise RecordRefProblem(
            gettext("RECORD 的来源「%(source)s」不合规：应为 measure:指标项，或 汇总表.字段，汇总表可为 %(tables)s") % {
                "source": source[:40], "tables": "、".join(known_rollups)})
    rollup = known_rollups[table]
    if field not in rollup.measures:
        raise RecordRefProblem(
            gettext("%(table)s没有可求和的字段「%(field)s」；可用的字段：%(fields)s") % {
                "table": rollup.label, "field": field[:40], "fields": "、".join(rollup.measures)})
    for index, (dim, value) in enumerate(dims):
        if dim not in rollup.dims:
            raise RecordRefProblem(
                gettext("%(table)s不能按「%(dim)s」筛选；可用的维度：%(dims)s") % {
                    "table": rollup.label, "dim": dim[:40], "dims": "、".join(rollup.dims)}, index)
        for alternative in value.split("|"):
            bare = alternative[:-1] if alternative.endswith("*") else alternative
            if dim in rollup.integer_dims:
                if not bare.isascii() or not bare.isdigit() or len(bare) > 5 or alternative.endswith("*"):
                    raise RecordRefProblem(gettext("维度 %(dim)s（%(label)s）的值「%(value)s」应为整数（不能用 * 前缀）") % {
                        "dim": dim, "label": rollup.dims[dim], "value": value[:40]}, index)
            elif not DIM_VALUE_RE.match(bare):
                raise RecordRefProblem(
                    gettext("维度 %(dim)s（%(label)s）的值「%(value)s」不合规：只能是代码或名称"
                            "（字母、数字、汉字），末尾的 * 表示前缀，| 分隔多个值") % {
                        "dim": dim, "label": rollup.dims[dim], "value": value[:40]}, index)


def _condition(rollup: Rollup, dims: tuple[tuple[str, str], ...]) -> Q:
    condition = Q()
    for dim, value in dims:
        either = Q()
        for alternative in value.split("|"):
            if dim in rollup.integer_dims:
                either |= Q(**{dim: int(alternative)})
            elif alternative.endswith("*"):
                either |= Q(**{f"{dim}__startswith": alternative[:-1]})
            else:
                either |= Q(**{dim: alternative})
        condition &= either
    return condition


@dataclass(frozen=True)
class _Term:
    model: type[models.Model]
    measure: str
    condition: Q
    weight: decimal.Decimal


def _terms(ref: RecordRef) -> list[_Term]:
    if ref.source.startswith(MEASURE_PREFIX):
        from eduplatform.stats.measures import MEASURES

        figure = MEASURES[ref.source[len(MEASURE_PREFIX):]]
        return [_Term(p.model, p.measure, p.condition, decimal.Decimal(p.weight)) for p in figure.parts]
    table, _, field = ref.source.partition(".")
    rollup = rollups()[table]
    return [_Term(rollup.model, field, _condition(rollup, ref.dims), decimal.Decimal(1))]


def _plan(refs: Iterable[RecordRef]) -> tuple[list[tuple], dict[type[models.Model], list[tuple[tuple, _Term]]]]:
    """The distinct reference keys, and per roll-up model the (key, term) pairs it sums."""
    by_model: dict[type[models.Model], list[tuple[tuple, _Term]]] = {}
    keys: dict[tuple, None] = {}
    for ref in refs:
        check(ref.source, ref.dims)  # a stored definition is checked again before it is read
        if ref.key in keys:
            continue
        keys[ref.key] = None
        for term in _terms(ref):
            by_model.setdefault(term.model, []).append((ref.key, term))
    return list(keys), by_model


def _rows(model: type[models.Model], snapshot: object | None) -> models.QuerySet:
    from eduplatform.stats.models import SNAPSHOT_OF

    if snapshot is not None:
        return SNAPSHOT_OF[model].objects.filter(snapshot=snapshot)
    return model.objects.all()


def _aggregates(terms: list[tuple[tuple, _Term]]) -> dict[str, Sum]:
    return {f"t{i}": Sum(term.measure, filter=term.condition if term.condition else None)
            for i, (_, term) in enumerate(terms)}


def resolve(refs: Iterable[RecordRef], *, school: object, snapshot: object | None = None
            ) -> dict[tuple, decimal.Decimal]:
    """Each reference's value for one school (``RecordRef.key`` → Decimal), one query per roll-up
    model at most: every term of that model is a filtered SUM of the same aggregate query."""
    school_id = getattr(school, "pk", school)
    keys, by_model = _plan(refs)
    out: dict[tuple, decimal.Decimal] = {key: decimal.Decimal(0) for key in keys}
    for model, terms in by_model.items():
        row = _rows(model, snapshot).filter(school_id=school_id).aggregate(**_aggregates(terms))
        for i, (key, term) in enumerate(terms):
            out[key] += decimal.Decimal(row[f"t{i}"] or 0) * term.weight
    return out


def resolve_many(refs: Iterable[RecordRef], *, school_ids: Iterable[int], snapshot: object | None = None,
                 chunk: int = 2000) -> dict[int, dict[tuple, decimal.Decimal]]:
    """``resolve`` for many schools at once (a task sent to a whole city or province): one grouped
    query per roll-up model per ``chunk`` schools, instead of one per school."""
    keys, by_model = _plan(refs)
    ids = list(dict.fromkeys(int(getattr(s, "pk", s)) for s in school_ids))
    out = {school_id: {key: decimal.Decimal(0) for key in keys} for school_id in ids}
    for model, terms in by_model.items():
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            qs = (_rows(model, snapshot).filter(school_id__in=part).order_by().values("school_id")
                  .annotate(**_aggregates(terms)))
            for row in qs:
                values = out[row["school_id"]]
                for i, (key, term) in enumerate(terms):
                    values[key] += decimal.Decimal(row[f"t{i}"] or 0) * term.weight
    return out


def catalogue() -> dict[str, object]:
    """What a form designer may use in RECORD(...): measures, roll-ups with their fields and dims."""
    return {
        "measures": measures(),
        "rollups": {name: {"label": r.label, "fields": r.measures, "dims": r.dims} for name, r in rollups().items()},
    }
