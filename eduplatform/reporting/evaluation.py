"""The reporting engine: prefill a form from one school's records, compute its computed cells, check
entered values (cell types, then computed cells, then hard and soft rules).

What workflow and the pages call (docs/reporting-forms.md describes the language)::

    spec = parse_definition(version.definition)
    prefill = prefill_values(spec, school=school, snapshot=task.snapshot)
    values = compute_values(spec, entered)
    report = check_values(spec, values, school=school)
    report.hard_failures, report.soft_failures, report.cell_errors

Blank semantics (REPORTING.md): a blank cell is 0 in arithmetic; a rule whose cells of this form are
all blank (and whose other forms' cells are blank too) passes as not applicable — unless it asks
ISBLANK(...) itself, which is how a form says "must be filled in"; so does a rule that
divides by zero, or that needs the school's records or another form's values when they are not given.
A rule reading a cell that has a type error is not evaluated (the cell error is reported instead).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext

from eduplatform.reporting import expressions as ex
from eduplatform.reporting.formdef import (  # noqa: F401 - re-exported: the engine API
    Cell,
    DefinitionInvalid,
    FormDefinitionSpec,
    parse_definition,
    to_json,
)

INTEGER_RE = re.compile(r"^[+-]?\d+$")
DECIMAL_RE = re.compile(r"^[+-]?\d+(?:\.(\d+))?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_TEXT = 2000
MAX_NUMBER_DIGITS = 18


@dataclass(frozen=True)
class RuleResult:
    code: str
    kind: str  # hard | soft
    passed: bool
    message: str
    cells: list[str]
    detail: str = ""  # the two sides of a failed comparison, or why the rule was not evaluated
    applicable: bool = True  # False: passed because it could not apply (blank cells, no records …)


@dataclass
class CheckReport:
    results: list[RuleResult] = field(default_factory=list)
    cell_errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)  # the values checked, computed cells filled

    @property
    def hard_failures(self) -> list[RuleResult]:
        return [r for r in self.results if r.kind == "hard" and not r.passed]

    @property
    def soft_failures(self) -> list[RuleResult]:
        return [r for r in self.results if r.kind == "soft" and not r.passed]

    @property
    def ok(self) -> bool:
        """No cell errors and no failed hard rule (soft failures need explanations, not fixes)."""
        return not self.cell_errors and not self.hard_failures

    def by_cell(self) -> dict[str, list[RuleResult]]:
        """Failed rules per cell they are shown beside."""
        out: dict[str, list[RuleResult]] = {}
        for result in self.results:
            if not result.passed:
                for key in result.cells:
                    out.setdefault(key, []).append(result)
        return out


def numeric_cells(spec: FormDefinitionSpec) -> list[str]:
    """Cells that aggregate up the region tree (integer and decimal cells that are filled)."""
    return [key for key, cell in spec.cells.items() if cell.numeric and not cell.spec.disabled]


# --------------------------------------------------------------------------------------------
# Cell values


def _raw_text(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return str(raw)
    if isinstance(raw, (int, decimal.Decimal)):
        return format(raw, "f")
    if isinstance(raw, float):
        return repr(raw)
    return str(raw).strip()


def convert(cell: Cell, raw: object) -> tuple[ex.Value, str | None]:
    """(typed value, None) or (BLANK, Chinese error) for what was entered in ``cell``."""
    text = _raw_text(raw)
    if text == "":
        return ex.BLANK, None
    where = f"{cell.key}（{cell.row.label}·{cell.column.label}）"
    if cell.type == "integer":
        plain = text.replace(",", "")
        if not INTEGER_RE.match(plain) or len(plain.lstrip("+-")) > MAX_NUMBER_DIGITS:
            return ex.BLANK, gettext("%(where)s应填整数，「%(value)s」不是整数") % {"where": where, "value": text[:30]}
        value = decimal.Decimal(plain)
        if value < 0 and not cell.column.allow_negative:
            return ex.BLANK, gettext("%(where)s不能为负数（填了 %(value)s）") % {"where": where, "value": text[:30]}
        return value, None
    if cell.type == "decimal":
        plain = text.replace(",", "")
        match = DECIMAL_RE.match(plain)
        if not match or len(plain.lstrip("+-").replace(".", "")) > MAX_NUMBER_DIGITS:
            return ex.BLANK, gettext("%(where)s应填数字，「%(value)s」不是数字") % {"where": where, "value": text[:30]}
        places = len(match.group(1) or "")
        if places > cell.decimals:
            return ex.BLANK, gettext("%(where)s最多 %(decimals)s 位小数（填了「%(value)s」）") % {"where": where, "decimals": cell.decimals, "value": text[:30]}
        value = decimal.Decimal(plain)
        if value < 0 and not cell.column.allow_negative:
            return ex.BLANK, gettext("%(where)s不能为负数（填了 %(value)s）") % {"where": where, "value": text[:30]}
        return value, None
    if cell.type == "code":
        from eduplatform.standards import codebook

        allowed = codebook.codes_of(cell.column.code_table)
        if text not in allowed:
            sample = "、".join(f"{c} {n}" for c, n in list(allowed.items())[:8])
            more = gettext(" 等") if len(allowed) > 8 else ""
            return ex.BLANK, gettext("%(where)s的代码「%(value)s」不在代码表中；允许的值如：%(sample)s%(more)s") % {"where": where, "value": text[:30], "sample": sample, "more": more}
        return text, None
    if cell.type == "date":
        try:
            if not DATE_RE.match(text):
                raise ValueError
            dt.date.fromisoformat(text)
        except ValueError:
            return ex.BLANK, gettext("%(where)s应填日期，格式为 YYYY-MM-DD（如 2026-09-01），「%(value)s」不是有效日期") % {"where": where, "value": text[:30]}
        return text, None
    if len(text) > MAX_TEXT:
        return ex.BLANK, gettext("%(where)s最多 %(max_text)s 个字符") % {"where": where, "max_text": MAX_TEXT}
    return text, None


def format_value(cell: Cell, value: ex.Value) -> str:
    """How a cell's value is stored in Submission.values: numbers rounded to the column's decimals."""
    if value is None or value is ex.BLANK:
        return ""
    if isinstance(value, bool):
        return ""
    if isinstance(value, decimal.Decimal):
        if value.is_zero():
            value = abs(value)  # "-0" is stored as "0"
        if cell.numeric:
            return format(_quantize(cell, value), "f")
        return ex._plain(value)
    return str(value)


_PLACES = [decimal.Decimal(1).scaleb(-n) for n in range(10)]


def _quantize(cell: Cell, value: decimal.Decimal) -> decimal.Decimal:
    return value.quantize(_PLACES[cell.decimals], rounding=decimal.ROUND_HALF_UP, context=ex.CONTEXT)


def _typed(spec: FormDefinitionSpec, values: Mapping[str, object]) -> tuple[dict[str, ex.Value], dict[str, str]]:
    typed: dict[str, ex.Value] = {}
    errors: dict[str, str] = {}
    for key, raw in values.items():
        cell = spec.cells.get(key)
        if cell is None:
            if _raw_text(raw):
                errors[key] = gettext("报表 %(code)s 没有单元格 %(value)s") % {"code": spec.code, "value": str(key)[:30]}
            continue
        if cell.spec.computed:
            continue  # always recomputed from the cells it reads, whatever was sent
        value, error = convert(cell, raw)
        if error:
            errors[key] = error
        elif cell.spec.disabled and value is not ex.BLANK:
            errors[key] = gettext("%(key)s（%(label)s·%(label2)s）不需填报，请留空") % {"key": key, "label": cell.row.label, "label2": cell.column.label}
        else:
            typed[key] = value
    return typed, errors


def _other_values(other_forms: Mapping[str, Mapping[str, object]] | None) -> dict[str, dict[str, ex.Value]]:
    """Other forms' values, numbers read as numbers (their own definitions are not at hand)."""
    out: dict[str, dict[str, ex.Value]] = {}
    for form, values in (other_forms or {}).items():
        converted: dict[str, ex.Value] = {}
        for key, raw in (values or {}).items():
            text = _raw_text(raw).replace(",", "")
            if text == "":
                continue
            converted[key] = decimal.Decimal(text) if DECIMAL_RE.match(text) else text
        out[form] = converted
    return out


# --------------------------------------------------------------------------------------------
# Compute


def _compute(spec: FormDefinitionSpec, typed: dict[str, ex.Value], errors: Mapping[str, str],
             overflow: set[str] | None = None) -> dict[str, ex.Value]:
    """Fill the computed cells of ``typed`` in dependency order (in place); returns it. A result of
    more than 18 integer digits is left blank and its key added to ``overflow``."""
    overflow = set() if overflow is None else overflow
    for key in spec.computed_order:
        parsed = spec.expression("computed", key)
        refs = ex.references(parsed).cells
        if any(ref in errors for ref in refs) or all(typed.get(ref, ex.BLANK) is ex.BLANK for ref in refs):
            typed[key] = ex.BLANK
            continue
        env = ex.Environment(cell=lambda k: typed.get(k, ex.BLANK))
        try:
            value = ex.evaluate(parsed, env)
        except ex.EvaluationError:
            value = None
        typed[key] = ex.BLANK
        if isinstance(value, decimal.Decimal):
            try:
                rounded = _quantize(spec.cells[key], value)
            except decimal.DecimalException:
                rounded = None
            if rounded is None or rounded.adjusted() >= MAX_NUMBER_DIGITS:
                overflow.add(key)
            else:
                typed[key] = rounded
    return typed


def compute_values(spec: FormDefinitionSpec, values: Mapping[str, object]) -> dict[str, str]:
    """``values`` as they are stored, with every computed cell filled in (blank when its inputs are
    all blank or it divides by zero). Valid values come back in canonical text (numbers without
    separators, decimals with the column's places); values with a type error are kept as entered
    and count as blank."""
    typed, errors = _typed(spec, values)
    _compute(spec, typed, errors)
    return _stored(spec, values, typed)


def _stored(spec: FormDefinitionSpec, values: Mapping[str, object], typed: Mapping[str, ex.Value]) -> dict[str, str]:
    """What to store: valid values in their canonical text ("1,234" → "1234", "９" → "9", a decimal
    with the column's places), values with an error as entered (the school sees what it typed beside
    the message), computed cells as computed."""
    out = {str(k): _raw_text(v) for k, v in values.items()}
    for key, value in typed.items():
        out[key] = format_value(spec.cells[key], value)
    return out


# --------------------------------------------------------------------------------------------
# Prefill


def prefill_values(spec: FormDefinitionSpec, *, school: object, snapshot: object | None = None,
                   other_forms: Mapping[str, Mapping[str, object]] | None = None) -> dict[str, decimal.Decimal | str]:
    """Each prefilled cell's value for ``school`` (numbers as Decimal rounded to the column, codes
    and text as str); a cell whose prefill reads another form that is not given is left out."""
    from eduplatform.reporting import record_refs

    refs = _prefill_refs(spec)
    records = record_refs.resolve(refs, school=school, snapshot=snapshot) if refs else {}
    return _prefill(spec, records, _other_values(other_forms))


def prefill_many(spec: FormDefinitionSpec, *, schools: Iterable[object], snapshot: object | None = None
                 ) -> dict[int, dict[str, decimal.Decimal | str]]:
    """``prefill_values`` for many schools (school or id → its prefill, keyed by id), reading the
    roll-ups with one grouped query per model per 2,000 schools: what opening a task for a whole
    province uses. Prefills that read other forms are left out (those forms are not filled yet)."""
    from eduplatform.reporting import record_refs

    ids = [int(getattr(s, "pk", s)) for s in schools]
    refs = _prefill_refs(spec)
    if not refs:
        one = _prefill(spec, {}, {})
        return {school_id: dict(one) for school_id in ids}
    records = record_refs.resolve_many(refs, school_ids=ids, snapshot=snapshot)
    plan = _prefill_plan(spec)
    return {school_id: _prefill(spec, records[school_id], {}, plan) for school_id in ids}


def _prefill_refs(spec: FormDefinitionSpec) -> list[ex.RecordRef]:
    refs = {r.key: r for key in spec.prefilled_cells for r in ex.references(spec.expression("prefill", key)).records}
    return list(refs.values())


def _prefill_plan(spec: FormDefinitionSpec) -> list[tuple[Cell, ex.Parsed, tuple[str, ...]]]:
    """(cell, its prefill, the other forms it reads) of every prefilled cell: worked out once per
    form, not once per school."""
    plan = []
    for key in spec.prefilled_cells:
        parsed = spec.expression("prefill", key)
        plan.append((spec.cells[key], parsed, ex.references(parsed).forms))
    return plan


def _prefill(spec: FormDefinitionSpec, records: Mapping[tuple, decimal.Decimal],
             others: Mapping[str, Mapping[str, ex.Value]],
             plan: list[tuple[Cell, ex.Parsed, tuple[str, ...]]] | None = None) -> dict[str, decimal.Decimal | str]:
    out: dict[str, decimal.Decimal | str] = {}
    env = ex.Environment(
        cell=lambda k: ex.BLANK,
        other=lambda form, k: others[form].get(k, ex.BLANK),
        record=lambda ref: records[ref.key],
    )
    for cell, parsed, forms in plan if plan is not None else _prefill_plan(spec):
        if any(f not in others for f in forms):
            continue
        if isinstance(parsed.ast, ex.RecordRef):
            value: ex.Value = records[parsed.ast.key]  # the usual prefill: one figure as it is
        else:
            try:
                value = ex.evaluate(parsed, env)
            except ex.EvaluationError:
                continue  # e.g. another form's text where a number is needed: no prefill, nothing invented
        if isinstance(value, decimal.Decimal):
            out[cell.key] = _quantize(cell, value) if cell.numeric else ex._plain(value)
        elif isinstance(value, str) and not cell.numeric:
            out[cell.key] = value
    return out


# --------------------------------------------------------------------------------------------
# Check


def check_values(spec: FormDefinitionSpec, values: Mapping[str, object], *, school: object | None = None,
                 snapshot: object | None = None,
                 other_forms: Mapping[str, Mapping[str, object]] | None = None) -> CheckReport:
    """Type-check every cell, compute the computed cells, evaluate every rule."""
    from eduplatform.reporting import record_refs

    typed, errors = _typed(spec, values)
    overflow: set[str] = set()
    _compute(spec, typed, errors, overflow)
    for key in overflow:
        cell = spec.cells[key]
        errors[key] = gettext("%(key)s（%(label)s·%(label2)s）的计算结果超过 %(max_number_digits)s 位整数，请核对所填数值") % {"key": key, "label": cell.row.label, "label2": cell.column.label, "max_number_digits": MAX_NUMBER_DIGITS}
    others = _other_values(other_forms)

    rule_parsed = {rule.code: spec.expression("rule", rule.code) for rule in spec.rules}
    records: dict[tuple, decimal.Decimal] = {}
    if school is not None:
        refs = {r.key: r for p in rule_parsed.values() for r in ex.references(p).records}
        if refs:
            records = record_refs.resolve(refs.values(), school=school, snapshot=snapshot)

    env = ex.Environment(
        cell=lambda k: typed.get(k, ex.BLANK),
        other=lambda form, k: others[form].get(k, ex.BLANK),
        record=lambda ref: records[ref.key],
    )
    results: list[RuleResult] = []
    for rule in spec.rules:
        parsed = rule_parsed[rule.code]
        refs = ex.references(parsed)
        cells = list(rule.cells) or list(refs.cells)

        def skip(why: str, rule=rule, cells=cells) -> RuleResult:
            return RuleResult(rule.code, rule.kind, True, rule.message, cells, why, applicable=False)

        bad = [ref for ref in refs.cells if ref in errors]
        if bad:
            results.append(skip(gettext("单元格 %(items)s 填写有误，本规则暂不校验") % {"items": '、'.join(bad)}))
            continue
        missing_forms = [f for f in refs.forms if f not in others]
        if missing_forms:
            results.append(skip(gettext("未取得报表 %(items)s 的数据，本规则暂不校验") % {"items": '、'.join(missing_forms)}))
            continue
        if refs.records and school is None:
            results.append(skip(gettext("未指定学校，对照学校数据的规则暂不校验")))
            continue
        entered = [typed.get(ref, ex.BLANK) for ref in refs.cells]
        entered += [others[f].get(k, ex.BLANK) for f, k in refs.other_forms]
        asks_blank = any(isinstance(n, ex.Call) and n.name == "ISBLANK" for n in ex.walk(parsed.ast))
        if (refs.cells or refs.other_forms) and not asks_blank and all(v is ex.BLANK for v in entered):
            results.append(skip(gettext("所涉单元格均未填写，不适用")))
            continue
        try:
            outcome = ex.evaluate(parsed, env)
        except ex.EvaluationError as error:
            results.append(RuleResult(rule.code, rule.kind, False, rule.message, cells, gettext("无法计算：%(error)s") % {"error": error}))
            continue
        if outcome is None:
            results.append(skip(gettext("计算中出现除以零，不适用")))
            continue
        if not isinstance(outcome, bool):
            results.append(RuleResult(rule.code, rule.kind, False, rule.message, cells, gettext("规则的结果不是条件（真/假）")))
            continue
        passed = outcome
        detail = "" if passed else _sides(parsed, env)
        results.append(RuleResult(rule.code, rule.kind, passed, rule.message, cells, detail))

    return CheckReport(results, errors, _stored(spec, values, typed))


def changed_prefills(spec: FormDefinitionSpec, values: Mapping[str, object],
                     prefill: Mapping[str, object]) -> dict[str, tuple[str, str]]:
    """Prefilled cells whose entered value differs from the prefill: key → (prefilled, entered), as
    stored text. What needs an explanation and shows the difference from the records; a blank entry
    of a prefilled cell differs too (unless the prefill is 0 or blank)."""
    out: dict[str, tuple[str, str]] = {}
    for key, original in prefill.items():
        cell = spec.cells.get(key)
        if cell is None:
            continue
        before, _ = convert(cell, original)
        after, error = convert(cell, values.get(key))
        was, now = format_value(cell, before), _raw_text(values.get(key))
        if error is None:
            now = format_value(cell, after)
        if cell.numeric and error is None:
            same = (before if before is not ex.BLANK else 0) == (after if after is not ex.BLANK else 0)
        else:
            same = was == now
        if not same:
            out[key] = (was, now)
    return out


def _sides(parsed: ex.Parsed, env: ex.Environment) -> str:
    """"左边 12，右边 15" for a failed comparison (what the school sees beside the message)."""
    node = parsed.ast
    if not isinstance(node, ex.Compare):
        return ""
    try:
        left, right = ex.evaluate(node.left, env), ex.evaluate(node.right, env)
    except ex.EvaluationError:
        return ""

    def show(value: ex.Value) -> str:
        if value is ex.BLANK or value is None:
            return gettext("空")
        if isinstance(value, decimal.Decimal):
            return ex._plain(value)
        return str(value)

    return gettext("左边 %(show)s，右边 %(show2)s") % {"show": show(left), "show2": show(right)}
