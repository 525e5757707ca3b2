"""A form's printed tables as the pages and the workbook lay them out: rows × columns with their
labels, codes and units, each cell with its value, what the records prefilled, whether it is
computed or disabled, and the rule results and return reasons that concern it.

Built from the version's JSON definition (the contract in ``docs``/REPORTING: tables → rows,
columns, cells; rules), so the entry page, the review page and the .xlsx download show one layout.
Nothing here reads the database except the code tables of code-typed columns (cached).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext, gettext_lazy

from eduplatform.standards import codebook

NUMERIC = ("integer", "decimal")
TYPE_LABELS = {"integer": gettext_lazy("整数"), "decimal": gettext_lazy("数值"), "text": gettext_lazy("文本"),
               "code": gettext_lazy("代码"), "date": gettext_lazy("日期")}


def dom_id(key: str) -> str:
    """A cell key ("T1.R2.C1") as an HTML id fragment ("T1-R2-C1"): codes never hold "-"."""
    return key.replace(".", "-")


def as_decimal(value: Any) -> Decimal | None:
    """A cell's value as a number ("1,234" too), or None for blank, text, a boolean or NaN/Infinity."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def shown_number(value: Decimal) -> str:
    """A number with thousands separators, no trailing zeros (12,345 / 3.5)."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


@dataclasses.dataclass
class Note:
    """A rule result (or a type error, or a reviewer's reason) beside a cell."""

    kind: str  # "hard" | "soft" | "type" | "return"
    code: str
    message: str


@dataclasses.dataclass
class Cell:
    key: str
    type: str
    value: str = ""
    computed: bool = False
    disabled: bool = False
    prefilled: bool = False
    prefill_value: str = ""
    explanation: str = ""  # why a prefilled value was changed
    choices: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    notes: list[Note] = dataclasses.field(default_factory=list)
    return_reason: str = ""
    decimals: int | None = None
    rules_here: list[RuleLine] = dataclasses.field(default_factory=list)  # soft rules explained beside this cell

    @property
    def id(self) -> str:
        return dom_id(self.key)

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC

    @property
    def editable(self) -> bool:
        return not (self.computed or self.disabled)

    @property
    def difference(self) -> Decimal | None:
        """The entered value minus the records' value, for a changed numeric prefilled cell."""
        if not self.prefilled:
            return None
        entered, recorded = as_decimal(self.value), as_decimal(self.prefill_value)
        if entered is None or recorded is None or entered == recorded:
            return None
        return entered - recorded

    @property
    def changed_from_records(self) -> bool:
        if not self.prefilled:
            return False
        if self.numeric:
            entered, recorded = as_decimal(self.value), as_decimal(self.prefill_value)
            if entered is None and recorded is None:
                return False
            return entered != recorded
        return str(self.value or "") != str(self.prefill_value or "")

    @property
    def difference_label(self) -> str:
        diff = self.difference
        if diff is None:
            return gettext("已修改") if self.changed_from_records else ""
        return ("+" if diff > 0 else "−") + shown_number(abs(diff))

    @property
    def shown(self) -> str:
        """The value as printed: numbers with separators, codes with their names."""
        if self.value in (None, ""):
            return ""
        if self.numeric:
            number = as_decimal(self.value)
            return shown_number(number) if number is not None else str(self.value)
        if self.type == "code":
            name = dict(self.choices).get(str(self.value))
            return f"{self.value} {name}" if name else str(self.value)
        return str(self.value)

    @property
    def shown_prefill(self) -> str:
        number = as_decimal(self.prefill_value) if self.numeric else None
        return shown_number(number) if number is not None else str(self.prefill_value or "")

    @property
    def hard(self) -> list[Note]:
        return [n for n in self.notes if n.kind in ("hard", "type")]

    @property
    def soft(self) -> list[Note]:
        return [n for n in self.notes if n.kind == "soft"]

    @property
    def state(self) -> str:
        """The cell's CSS state: error (hard or type), warning (soft), or ''."""
        if self.hard:
            return "error"
        if self.soft:
            return "warning"
        return ""


@dataclasses.dataclass
class Column:
    code: str
    label: str
    type: str
    unit: str = ""
    decimals: int | None = None
    code_table: str = ""

    @property
    def type_label(self) -> str:
        return str(TYPE_LABELS.get(self.type, self.type))


@dataclasses.dataclass
class Row:
    code: str
    label: str
    cells: list[Cell]


@dataclasses.dataclass
class Table:
    code: str
    title: str
    unit: str
    columns: list[Column]
    rows: list[Row]

    def cells(self) -> Iterable[Cell]:
        for row in self.rows:
            yield from row.cells


@dataclasses.dataclass
class RuleLine:
    """One rule with its last result, the school's explanation and the reviewer's verdict."""

    code: str
    kind: str
    message: str
    cells: list[str]
    passed: bool | None  # None: not checked yet
    explanation: str = ""
    verdict: Mapping[str, Any] | None = None

    @property
    def anchor(self) -> str:
        """The cell an explanation box sits beside: the rule's first cell."""
        return self.cells[0] if self.cells else ""

    @property
    def needs_explanation(self) -> bool:
        return self.kind == "soft" and self.passed is False

    @property
    def explained(self) -> bool:
        return bool(self.explanation.strip())


@dataclasses.dataclass
class Grid:
    code: str
    title: str
    description: str
    tables: list[Table]
    rules: list[RuleLine]
    cell_errors: dict[str, str]

    def cell(self, key: str) -> Cell | None:
        for table in self.tables:
            for cell in table.cells():
                if cell.key == key:
                    return cell
        return None

    def all_cells(self) -> Iterable[Cell]:
        for table in self.tables:
            yield from table.cells()

    @property
    def hard_failures(self) -> list[RuleLine]:
        return [r for r in self.rules if r.kind == "hard" and r.passed is False]

    @property
    def soft_failures(self) -> list[RuleLine]:
        return [r for r in self.rules if r.kind == "soft" and r.passed is False]

    @property
    def unexplained(self) -> list[RuleLine]:
        return [r for r in self.soft_failures if not r.explained]

    @property
    def changed_prefills(self) -> list[Cell]:
        return [c for c in self.all_cells() if c.changed_from_records]

    @property
    def checked(self) -> bool:
        return any(r.passed is not None for r in self.rules)

    def label_of(self, key: str) -> str:
        """"表 T1 第 R2 行（其中：女）第 C1 列（参加培训人数）" for a message or a sheet error."""
        table_code, _, rest = key.partition(".")
        row_code, _, col_code = rest.partition(".")
        for table in self.tables:
            if table.code != table_code:
                continue
            row = next((r.label for r in table.rows if r.code == row_code), "")
            col = next((c.label for c in table.columns if c.code == col_code), "")
            return f"{table.code}「{table.title}」{row}·{col}"
        return key


def _choices(code_table: str) -> list[tuple[str, str]]:
    if not code_table:
        return []
    try:
        return list(codebook.codes_of(code_table).items())
    except Exception:  # noqa: BLE001 — an unknown table name shows a free text field, never a 500
        return []


def build(
    definition: Mapping[str, Any],
    *,
    values: Mapping[str, Any] | None = None,
    prefill: Mapping[str, Any] | None = None,
    explanations: Mapping[str, str] | None = None,
    verdicts: Mapping[str, Mapping[str, Any]] | None = None,
    return_cells: Mapping[str, str] | None = None,
    results: Iterable[Any] | None = None,
    cell_errors: Mapping[str, str] | None = None,
) -> Grid:
    """The grid of ``definition`` filled with ``values``; ``results`` are the engine's RuleResults
    (code, kind, passed, message, cells) of the last check, or None when not checked."""
    values, prefill = values or {}, prefill or {}
    explanations, verdicts, return_cells = explanations or {}, verdicts or {}, return_cells or {}
    cell_errors = dict(cell_errors or {})
    choices_cache: dict[str, list[tuple[str, str]]] = {}
    tables: list[Table] = []
    by_key: dict[str, Cell] = {}
    for t in definition.get("tables", []):
        columns = [Column(code=c["code"], label=c.get("label", c["code"]), type=c.get("type", "integer"),
                          unit=c.get("unit", ""), decimals=c.get("decimals"), code_table=c.get("code_table", ""))
                   for c in t.get("columns", [])]
        specs = t.get("cells", {}) or {}
        rows = []
        for r in t.get("rows", []):
            cells = []
            for col in columns:
                local = f"{r['code']}.{col.code}"
                key = f"{t['code']}.{local}"
                spec = specs.get(local, {}) or {}
                if col.type == "code" and col.code_table not in choices_cache:
                    choices_cache[col.code_table] = _choices(col.code_table)
                raw = values.get(key, "")
                cell = Cell(
                    key=key, type=col.type, value="" if raw is None else str(raw),
                    computed=bool(spec.get("computed")), disabled=bool(spec.get("disabled")),
                    prefilled=bool(spec.get("prefill")), decimals=col.decimals,
                    prefill_value="" if prefill.get(key) is None else str(prefill.get(key)),
                    explanation=str(explanations.get(key, "")),
                    choices=choices_cache.get(col.code_table, []) if col.type == "code" else [],
                    return_reason=str(return_cells.get(key, "")),
                )
                if key in cell_errors:
                    cell.notes.append(Note("type", "", cell_errors[key]))
                cells.append(cell)
                by_key[key] = cell
            rows.append(Row(code=r["code"], label=r.get("label", r["code"]), cells=cells))
        tables.append(Table(code=t["code"], title=t.get("title", t["code"]), unit=t.get("unit", ""),
                            columns=columns, rows=rows))
    outcome = {r.code: r for r in results} if results is not None else {}
    rules = []
    for rule in definition.get("rules", []):
        result = outcome.get(rule["code"])
        cells = list(rule.get("cells") or (result.cells if result is not None else []) or [])
        line = RuleLine(code=rule["code"], kind=rule.get("kind", "hard"),
                        message=(result.message if result is not None and result.message else rule.get("message", "")),
                        cells=cells, passed=None if result is None else bool(result.passed),
                        explanation=str(explanations.get(rule["code"], "")), verdict=verdicts.get(rule["code"]))
        rules.append(line)
        if line.kind == "soft" and line.anchor in by_key:
            by_key[line.anchor].rules_here.append(line)
        if line.passed is False:
            for key in cells:
                if key in by_key:
                    by_key[key].notes.append(Note(line.kind, line.code, line.message))
    return Grid(code=definition.get("code", ""), title=definition.get("title", ""),
                description=definition.get("description", ""), tables=tables, rules=rules, cell_errors=cell_errors)


def posted_values(grid: Grid, data: Mapping[str, Any]) -> dict[str, str]:
    """The editable cells' values from a POST (field name = cell key), trimmed; others ignored."""
    return {cell.key: str(data.get(cell.key, "")).strip() for cell in grid.all_cells() if cell.editable}


def posted_explanations(grid: Grid, data: Mapping[str, Any]) -> dict[str, str]:
    """Explanations of soft rules (``explain:E1``) and of changed prefilled cells (``explain:T1.R2.C1``)."""
    out: dict[str, str] = {}
    for name, value in data.items():
        if name.startswith("explain:") and str(value).strip():
            out[name.removeprefix("explain:")] = str(value).strip()
    return out
