"""Form definitions (FormVersion.definition JSON) parsed into a typed, validated spec.

``parse_definition`` checks everything a definition can get wrong and reports all of it at once as
``DefinitionInvalid`` (a list of ``FieldProblem`` with Chinese messages naming the table, row,
column or rule): codes, unique row/column/table codes, cell types, code tables, every expression,
every reference, computed cells without cycles (their evaluation order is kept), rule kinds.
``to_json`` gives the definition back as plain JSON (``parse_definition(to_json(spec))`` equals
``spec``), which is what a form exports.

Problem ``field`` names: ``code``, ``title``, ``tables``, ``T1`` (a table), ``T1.rows`` / ``T1.R2``
(a row), ``T1.columns`` / ``T1.C1`` (a column), ``T1.R2.C1`` (a cell), ``rules`` / ``rules.V1`` (a
rule), ``other_forms``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext, gettext_lazy

from eduplatform.core.errors import FieldProblem
from eduplatform.reporting import expressions as ex

CELL_TYPES = {"integer": gettext_lazy("整数"), "decimal": gettext_lazy("小数"), "text": gettext_lazy("文本"),
              "code": gettext_lazy("代码"), "date": gettext_lazy("日期")}
NUMERIC_TYPES = ("integer", "decimal")
RULE_KINDS = {"hard": gettext_lazy("逻辑校验（必须满足）"), "soft": gettext_lazy("经验校验（不满足需说明）")}
MAX_TABLES, MAX_ROWS, MAX_COLUMNS, MAX_RULES = 20, 200, 60, 500
MAX_DECIMALS = 6
DEFAULT_DECIMALS = 2
MAX_LABEL = 200
MAX_TEXT = 2000


class DefinitionInvalid(Exception):
    """The definition has problems; nothing was accepted."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("；".join(p.message for p in problems))

    def by_field(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for problem in self.problems:
            out.setdefault(problem.field, []).append(problem.message)
        return out


@dataclass(frozen=True)
class RowSpec:
    code: str
    label: str


@dataclass(frozen=True)
class ColumnSpec:
    code: str
    label: str
    type: str
    unit: str = ""
    decimals: int | None = None  # decimal columns: digits after the point (default 2)
    code_table: str = ""  # code columns: the standards code table key
    allow_negative: bool = False  # numbers are counts and sizes unless the designer says otherwise


@dataclass(frozen=True)
class CellSpec:
    """What a definition says about one cell (cells it says nothing about are plain entry cells)."""

    prefill: str = ""
    computed: str = ""
    disabled: bool = False


@dataclass(frozen=True)
class TableSpec:
    code: str
    title: str
    unit: str
    rows: tuple[RowSpec, ...]
    columns: tuple[ColumnSpec, ...]
    cells: dict[str, CellSpec]  # "R2.C1" → spec, as the JSON has it (not hashable: never hash a table)


@dataclass(frozen=True)
class RuleSpec:
    code: str
    kind: str  # hard | soft
    expression: str
    message: str
    cells: tuple[str, ...]  # the cells the message is shown beside


@dataclass(frozen=True)
class Cell:
    """One cell of the grid, with its column's type, for the engine and the pages."""

    key: str  # "T1.R2.C1"
    table: str
    row: RowSpec
    column: ColumnSpec
    spec: CellSpec

    @property
    def type(self) -> str:
        return self.column.type

    @property
    def numeric(self) -> bool:
        return self.column.type in NUMERIC_TYPES

    @property
    def decimals(self) -> int:
        if self.column.type == "integer":
            return 0
        return DEFAULT_DECIMALS if self.column.decimals is None else self.column.decimals

    @property
    def label(self) -> str:
        return f"{self.table} {self.row.label}·{self.column.label}"


@dataclass
class FormDefinitionSpec:
    code: str
    title: str
    description: str
    tables: tuple[TableSpec, ...]
    rules: tuple[RuleSpec, ...]
    other_forms: tuple[str, ...] = ()  # forms of the same period this form's expressions may read
    # Derived (not part of the JSON):
    cells: dict[str, Cell] = field(default_factory=dict, compare=False, repr=False)
    parsed: dict[str, ex.Parsed] = field(default_factory=dict, compare=False, repr=False)  # "prefill:T1.R2.C1" …
    computed_order: tuple[str, ...] = field(default=(), compare=False)

    def expression(self, kind: str, key: str) -> ex.Parsed:
        """The parsed expression of ``kind`` (prefill, computed, rule) for a cell key or rule code."""
        return self.parsed[f"{kind}:{key}"]

    def table(self, code: str) -> TableSpec:
        return next(t for t in self.tables if t.code == code)

    @property
    def prefilled_cells(self) -> list[str]:
        return [key for key, cell in self.cells.items() if cell.spec.prefill]

    @property
    def computed_cells(self) -> list[str]:
        return list(self.computed_order)

    @property
    def entry_cells(self) -> list[str]:
        """Cells a person types into (prefilled cells too: a prefill can be changed with a reason)."""
        return [k for k, c in self.cells.items() if not c.spec.computed and not c.spec.disabled]

    def record_refs(self) -> list[ex.RecordRef]:
        out: dict[object, ex.RecordRef] = {}
        for parsed in self.parsed.values():
            for ref in ex.references(parsed).records:
                out.setdefault(ref.key, ref)
        return list(out.values())


# --------------------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[FieldProblem] = []

    def add(self, field_name: str, code: str, message: str, label: str = "") -> None:
        self.items.append(FieldProblem(field_name, code, message, label))


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _code_ok(value: Any) -> bool:
    return isinstance(value, str) and bool(ex.CODE_RE.match(value))


CODE_HELP = gettext_lazy("应为大写字母开头、由大写字母、数字或下划线组成，最多 16 位（如 T1、R2、C3）")


class _KnownTables:
    """The code table keys, read from the standards tables on first use (when not given)."""

    def __init__(self, keys: set[str] | None) -> None:
        self.keys = keys

    def __contains__(self, key: str) -> bool:
        if self.keys is None:
            from eduplatform.standards.models import CodeTable

            self.keys = set(CodeTable.objects.values_list("key", flat=True))
        return key in self.keys


def parse_definition(data: Any, *, code_tables: set[str] | None = None) -> FormDefinitionSpec:
    """Validate ``data`` (a form definition as JSON) and return its spec, or raise DefinitionInvalid
    with every problem found. ``code_tables`` (the known code table keys) is read from the
    standards tables when not given."""
    p = _Problems()
    if not isinstance(data, dict):
        p.add("definition", "definition.type", gettext("报表定义应为 JSON 对象（{...}）"))
        raise DefinitionInvalid(p.items)

    code = data.get("code")
    if not _code_ok(code):
        p.add("code", "code.invalid", gettext("表号「%(value)s」不合规：%(code_help)s") % {"value": str(code)[:30], "code_help": CODE_HELP}, gettext("表号"))
        code = str(code or "")
    title = _text(data.get("title"))
    if not title:
        p.add("title", "required", gettext("表名不能为空"), gettext("表名"))
    elif len(title) > 100:
        p.add("title", "too_long", gettext("表名最多 100 个字符"), gettext("表名"))
    description = _text(data.get("description"))
    if len(description) > MAX_TEXT:
        p.add("description", "too_long", gettext("说明最多 %(max_text)s 个字符") % {"max_text": MAX_TEXT}, gettext("说明"))

    other_forms_raw = data.get("other_forms", [])
    other_forms: list[str] = []
    if not isinstance(other_forms_raw, list):
        p.add("other_forms", "other_forms.type", gettext("引用的其他报表（other_forms）应为表号列表"), gettext("引用的其他报表"))
    else:
        for form_code in other_forms_raw:
            if not _code_ok(form_code):
                p.add("other_forms", "code.invalid", gettext("引用的其他报表表号「%(value)s」不合规：%(code_help)s") % {"value": str(form_code)[:30], "code_help": CODE_HELP},
                      gettext("引用的其他报表"))
            elif form_code == code:
                p.add("other_forms", "other_forms.self", gettext("报表不能把自己（%(code)s）列为其他报表") % {"code": code}, gettext("引用的其他报表"))
            elif form_code not in other_forms:
                other_forms.append(form_code)

    tables_raw = data.get("tables")
    tables: list[TableSpec] = []
    if not isinstance(tables_raw, list) or not tables_raw:
        p.add("tables", "required", gettext("报表至少要有一张表（tables）"), gettext("表"))
        tables_raw = []
    elif len(tables_raw) > MAX_TABLES:
        p.add("tables", "too_many", gettext("一张报表最多 %(max_tables)s 张表，这里有 %(count)s 张") % {"max_tables": MAX_TABLES, "count": len(tables_raw)}, gettext("表"))
        tables_raw = tables_raw[:MAX_TABLES]
    known_tables = _KnownTables(code_tables)
    seen_tables: set[str] = set()
    for index, raw in enumerate(tables_raw):
        table = _table(p, raw, index, seen_tables, known_tables)
        if table is not None:
            tables.append(table)

    cells: dict[str, Cell] = {}
    for table in tables:
        for row in table.rows:
            for column in table.columns:
                key = f"{table.code}.{row.code}.{column.code}"
                cells[key] = Cell(key, table.code, row, column, table.cells.get(f"{row.code}.{column.code}", CellSpec()))

    rules_raw = data.get("rules", [])
    rules: list[RuleSpec] = []
    if not isinstance(rules_raw, list):
        p.add("rules", "rules.type", gettext("校验规则（rules）应为列表"), gettext("校验规则"))
        rules_raw = []
    elif len(rules_raw) > MAX_RULES:
        p.add("rules", "too_many", gettext("最多 %(max_rules)s 条校验规则") % {"max_rules": MAX_RULES}, gettext("校验规则"))
        rules_raw = rules_raw[:MAX_RULES]
    seen_rules: set[str] = set()
    for index, raw in enumerate(rules_raw):
        rule = _rule(p, raw, index, seen_rules)
        if rule is not None:
            rules.append(rule)

    spec = FormDefinitionSpec(code, title, description, tuple(tables), tuple(rules), tuple(other_forms), cells)
    if tables:
        _expressions(p, spec)
    if p.items:
        raise DefinitionInvalid(p.items)
    return spec


def _table(p: _Problems, raw: Any, index: int, seen: set[str], code_tables: _KnownTables) -> TableSpec | None:
    where = gettext("第 %(value)s 张表") % {"value": index + 1}
    if not isinstance(raw, dict):
        p.add("tables", "table.type", gettext("%(where)s应为 JSON 对象") % {"where": where}, gettext("表"))
        return None
    code = raw.get("code")
    if not _code_ok(code):
        p.add("tables", "code.invalid", gettext("%(where)s的表代码「%(value)s」不合规：%(code_help)s") % {"where": where, "value": str(code)[:30], "code_help": CODE_HELP}, gettext("表代码"))
        return None
    if code in seen:
        p.add(code, "code.duplicate", gettext("表代码 %(code)s 重复") % {"code": code}, gettext("表代码"))
        return None
    seen.add(code)
    where = gettext("表 %(code)s ") % {"code": code}
    title = _text(raw.get("title"))
    if not title:
        p.add(code, "required", gettext("%(where)s缺少标题") % {"where": where}, gettext("表标题"))
    unit = _text(raw.get("unit"))

    rows: list[RowSpec] = []
    rows_raw = raw.get("rows")
    if not isinstance(rows_raw, list) or not rows_raw:
        p.add(f"{code}.rows", "required", gettext("%(where)s至少要有一行") % {"where": where}, gettext("行"))
        rows_raw = []
    elif len(rows_raw) > MAX_ROWS:
        p.add(f"{code}.rows", "too_many", gettext("%(where)s最多 %(max_rows)s 行") % {"where": where, "max_rows": MAX_ROWS}, gettext("行"))
        rows_raw = rows_raw[:MAX_ROWS]
    for n, row in enumerate(rows_raw):
        row_code = row.get("code") if isinstance(row, dict) else None
        if not _code_ok(row_code):
            p.add(f"{code}.rows", "code.invalid", gettext("%(where)s第 %(value)s 行的行代码「%(value2)s」不合规：%(code_help)s") % {"where": where, "value": n + 1, "value2": str(row_code)[:30], "code_help": CODE_HELP},
                  gettext("行代码"))
            continue
        if any(r.code == row_code for r in rows):
            p.add(f"{code}.{row_code}", "code.duplicate", gettext("%(where)s的行代码 %(row_code)s 重复") % {"where": where, "row_code": row_code}, gettext("行代码"))
            continue
        label = _text(row.get("label"))
        if not label:
            p.add(f"{code}.{row_code}", "required", gettext("%(where)s行 %(row_code)s 缺少名称") % {"where": where, "row_code": row_code}, gettext("行名称"))
        elif len(label) > MAX_LABEL:
            p.add(f"{code}.{row_code}", "too_long", gettext("%(where)s行 %(row_code)s 的名称最多 %(max_label)s 个字符") % {"where": where, "row_code": row_code, "max_label": MAX_LABEL}, gettext("行名称"))
        rows.append(RowSpec(row_code, label))

    columns: list[ColumnSpec] = []
    columns_raw = raw.get("columns")
    if not isinstance(columns_raw, list) or not columns_raw:
        p.add(f"{code}.columns", "required", gettext("%(where)s至少要有一列") % {"where": where}, gettext("列"))
        columns_raw = []
    elif len(columns_raw) > MAX_COLUMNS:
        p.add(f"{code}.columns", "too_many", gettext("%(where)s最多 %(max_columns)s 列") % {"where": where, "max_columns": MAX_COLUMNS}, gettext("列"))
        columns_raw = columns_raw[:MAX_COLUMNS]
    for n, col in enumerate(columns_raw):
        column = _column(p, col, n, where, code, columns, code_tables)
        if column is not None:
            columns.append(column)

    cells: dict[str, CellSpec] = {}
    cells_raw = raw.get("cells", {})
    if not isinstance(cells_raw, dict):
        p.add(f"{code}.cells", "cells.type", gettext("%(where)s的单元格设置（cells）应为对象") % {"where": where}, gettext("单元格"))
        cells_raw = {}
    row_codes, column_codes = {r.code for r in rows}, {c.code for c in columns}
    for cell_key, cell_raw in cells_raw.items():
        row_code, _, column_code = str(cell_key).partition(".")
        field_name = f"{code}.{cell_key}"
        if row_code not in row_codes or column_code not in column_codes:
            p.add(field_name, "cell.unknown", gettext("%(where)s没有单元格「%(value)s」：应写作 行代码.列代码，且行、列都已定义") % {"where": where, "value": str(cell_key)[:30]}, gettext("单元格"))
            continue
        if not isinstance(cell_raw, dict):
            p.add(field_name, "cell.type", gettext("单元格 %(field_name)s 的设置应为对象") % {"field_name": field_name}, gettext("单元格"))
            continue
        unknown = set(cell_raw) - {"prefill", "computed", "disabled"}
        if unknown:
            p.add(field_name, "cell.keys", gettext("单元格 %(field_name)s 有未知的设置：%(items)s；可用 prefill（预填）、computed（计算）、disabled（不填）") % {"field_name": field_name, "items": '、'.join(sorted(map(str, unknown)))}, gettext("单元格"))
        prefill, computed = cell_raw.get("prefill") or "", cell_raw.get("computed") or ""
        disabled = cell_raw.get("disabled", False)
        if not isinstance(prefill, str) or not isinstance(computed, str) or not isinstance(disabled, bool):
            p.add(field_name, "cell.type", gettext("单元格 %(field_name)s：prefill、computed 应为表达式文本，disabled 应为 true/false") % {"field_name": field_name},
                  gettext("单元格"))
            continue
        if prefill and computed:
            p.add(field_name, "cell.both", gettext("单元格 %(field_name)s 不能既预填又计算") % {"field_name": field_name}, gettext("单元格"))
        if disabled and (prefill or computed):
            p.add(field_name, "cell.disabled", gettext("单元格 %(field_name)s 已设为不填，不能再设预填或计算") % {"field_name": field_name}, gettext("单元格"))
        if prefill.strip() or computed.strip() or disabled:  # an empty setting is a plain entry cell
            cells[cell_key] = CellSpec(prefill.strip(), computed.strip(), disabled)
    return TableSpec(code, title, unit, tuple(rows), tuple(columns), cells)


def _column(p: _Problems, col: Any, n: int, where: str, table: str, columns: list[ColumnSpec],
            code_tables: _KnownTables) -> ColumnSpec | None:
    col_code = col.get("code") if isinstance(col, dict) else None
    if not _code_ok(col_code):
        p.add(f"{table}.columns", "code.invalid", gettext("%(where)s第 %(value)s 列的列代码「%(value2)s」不合规：%(code_help)s") % {"where": where, "value": n + 1, "value2": str(col_code)[:30], "code_help": CODE_HELP},
              gettext("列代码"))
        return None
    if any(c.code == col_code for c in columns):
        p.add(f"{table}.{col_code}", "code.duplicate", gettext("%(where)s的列代码 %(col_code)s 重复") % {"where": where, "col_code": col_code}, gettext("列代码"))
        return None
    name = f"{table}.{col_code}"
    label = _text(col.get("label"))
    if not label:
        p.add(name, "required", gettext("%(where)s列 %(col_code)s 缺少名称") % {"where": where, "col_code": col_code}, gettext("列名称"))
    elif len(label) > MAX_LABEL:
        p.add(name, "too_long", gettext("%(where)s列 %(col_code)s 的名称最多 %(max_label)s 个字符") % {"where": where, "col_code": col_code, "max_label": MAX_LABEL}, gettext("列名称"))
    cell_type = col.get("type", "integer")
    if not isinstance(cell_type, str) or cell_type not in CELL_TYPES:
        allowed = "、".join(f"{k}（{v}）" for k, v in CELL_TYPES.items())
        p.add(name, "type.invalid", gettext("%(where)s列 %(col_code)s 的类型「%(value)s」不存在；可用：%(allowed)s") % {"where": where, "col_code": col_code, "value": str(cell_type)[:20], "allowed": allowed}, gettext("类型"))
        return None
    decimals = col.get("decimals")
    if cell_type == "decimal":
        if decimals is not None and (not isinstance(decimals, int) or isinstance(decimals, bool)
                                     or not 0 <= decimals <= MAX_DECIMALS):
            p.add(name, "decimals.invalid", gettext("%(where)s列 %(col_code)s 的小数位数应为 0–%(max_decimals)s 的整数") % {"where": where, "col_code": col_code, "max_decimals": MAX_DECIMALS}, gettext("小数位数"))
            decimals = None
    elif decimals is not None:
        p.add(name, "decimals.type", gettext("%(where)s列 %(col_code)s 不是小数列，不能设小数位数") % {"where": where, "col_code": col_code}, gettext("小数位数"))
        decimals = None
    code_table = _text(col.get("code_table"))
    if cell_type == "code":
        if not code_table:
            p.add(name, "code_table.required", gettext("%(where)s列 %(col_code)s 是代码列，须指定代码表（code_table）") % {"where": where, "col_code": col_code}, gettext("代码表"))
        elif code_table not in code_tables:
            p.add(name, "code_table.unknown", gettext("%(where)s列 %(col_code)s 的代码表「%(value)s」不存在（见数据字典中的代码表标识）") % {"where": where, "col_code": col_code, "value": code_table[:40]},
                  gettext("代码表"))
    elif code_table:
        p.add(name, "code_table.type", gettext("%(where)s列 %(col_code)s 不是代码列，不能指定代码表") % {"where": where, "col_code": col_code}, gettext("代码表"))
        code_table = ""
    allow_negative = col.get("allow_negative", False)
    if not isinstance(allow_negative, bool):
        p.add(name, "allow_negative.type", gettext("%(where)s列 %(col_code)s 的 allow_negative 应为 true/false") % {"where": where, "col_code": col_code}, gettext("允许负数"))
        allow_negative = False
    return ColumnSpec(col_code, label, cell_type, _text(col.get("unit")), decimals, code_table, allow_negative)


def _rule(p: _Problems, raw: Any, index: int, seen: set[str]) -> RuleSpec | None:
    if not isinstance(raw, dict):
        p.add("rules", "rule.type", gettext("第 %(value)s 条校验规则应为 JSON 对象") % {"value": index + 1}, gettext("校验规则"))
        return None
    code = raw.get("code")
    if not _code_ok(code):
        p.add("rules", "code.invalid", gettext("第 %(value)s 条校验规则的代码「%(value2)s」不合规：%(code_help)s") % {"value": index + 1, "value2": str(code)[:30], "code_help": CODE_HELP}, gettext("规则代码"))
        return None
    name = f"rules.{code}"
    if code in seen:
        p.add(name, "code.duplicate", gettext("校验规则代码 %(code)s 重复") % {"code": code}, gettext("规则代码"))
        return None
    seen.add(code)
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in RULE_KINDS:
        p.add(name, "kind.invalid", gettext("校验规则 %(code)s 的类别「%(value)s」不存在；可用：hard（逻辑校验，必须满足）、soft（经验校验，不满足需说明）") % {"code": code, "value": str(kind)[:20]}, gettext("类别"))
    expression = raw.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        p.add(name, "required", gettext("校验规则 %(code)s 缺少表达式") % {"code": code}, gettext("表达式"))
        expression = ""
    message = _text(raw.get("message"))
    if not message:
        p.add(name, "required", gettext("校验规则 %(code)s 缺少提示信息（message）") % {"code": code}, gettext("提示信息"))
    elif len(message) > 500:
        p.add(name, "too_long", gettext("校验规则 %(code)s 的提示信息最多 500 个字符") % {"code": code}, gettext("提示信息"))
    cells = raw.get("cells", [])
    if not isinstance(cells, list) or not all(isinstance(c, str) for c in cells):
        p.add(name, "cells.type", gettext("校验规则 %(code)s 的 cells 应为单元格列表，如 [\"T1.R2.C1\"]") % {"code": code}, gettext("提示单元格"))
        cells = []
    return RuleSpec(code, kind if isinstance(kind, str) and kind in RULE_KINDS else "hard", expression.strip(), message, tuple(cells))


def _expressions(p: _Problems, spec: FormDefinitionSpec) -> None:
    """Parse every expression, check its references and kind, order computed cells."""
    cells = spec.cells

    def parse(kind: str, key: str, text: str, field_name: str, what: str) -> ex.Parsed | None:
        try:
            parsed = ex.parse(text)
        except ex.ExpressionError as error:
            p.add(field_name, "expression.invalid", gettext("%(what)s的表达式有误：%(error)s") % {"what": what, "error": error}, gettext("表达式"))
            return None
        spec.parsed[f"{kind}:{key}"] = parsed
        refs = ex.references(parsed)
        ok = True
        for ref in refs.cells:
            if ref not in cells:
                p.add(field_name, "reference.unknown", gettext("%(what)s引用的单元格 [%(ref)s] 不存在") % {"what": what, "ref": ref}, gettext("表达式"))
                ok = False
            elif cells[ref].spec.disabled:
                p.add(field_name, "reference.disabled", gettext("%(what)s引用的单元格 [%(ref)s] 已设为不填") % {"what": what, "ref": ref}, gettext("表达式"))
                ok = False
        for form_code, ref in refs.other_forms:
            if form_code == spec.code:
                p.add(field_name, "reference.self", gettext("%(what)s引用本表的单元格请写作 [%(ref)s]，不要加表号 %(form_code)s") % {"what": what, "ref": ref, "form_code": form_code}, gettext("表达式"))
                ok = False
            elif form_code not in spec.other_forms:
                p.add(field_name, "reference.form", gettext("%(what)s引用了报表 %(form_code)s，但它不在本表声明的其他报表（other_forms）中") % {"what": what, "form_code": form_code},
                      gettext("表达式"))
                ok = False
        return parsed if ok else None

    for key, cell in cells.items():
        where = gettext("单元格 %(key)s（%(label)s·%(label2)s）") % {"key": key, "label": cell.row.label, "label2": cell.column.label}
        if cell.spec.prefill:
            parsed = parse("prefill", key, cell.spec.prefill, key, gettext("%(where)s的预填") % {"where": where})
            if parsed is not None:
                if ex.references(parsed).cells:
                    p.add(key, "prefill.cells", gettext("%(where)s的预填只能读取学校数据（RECORD）或其他报表，不能引用本表单元格；需要由本表计算的请用 computed") % {"where": where}, gettext("预填"))
                _kind_fits(p, cell, parsed, key, gettext("%(where)s的预填") % {"where": where})
        if cell.spec.computed:
            if not cell.numeric:
                p.add(key, "computed.type", gettext("%(where)s是%(value)s列，只有整数、小数列可以计算") % {"where": where, "value": CELL_TYPES[cell.type]}, gettext("计算"))
                continue
            parsed = parse("computed", key, cell.spec.computed, key, gettext("%(where)s的计算公式") % {"where": where})
            if parsed is not None:
                refs = ex.references(parsed)
                if refs.records or refs.other_forms:
                    p.add(key, "computed.sources", gettext("%(where)s的计算公式只能引用本表单元格；学校数据和其他报表请用预填") % {"where": where}, gettext("计算"))
                for ref in refs.cells:
                    if ref in cells and not cells[ref].numeric:
                        p.add(key, "computed.operand", gettext("%(where)s的计算公式引用了%(value)s单元格 [%(ref)s]") % {"where": where, "value": CELL_TYPES[cells[ref].type], "ref": ref},
                              gettext("计算"))
                _kind_fits(p, cell, parsed, key, gettext("%(where)s的计算公式") % {"where": where})

    for rule in spec.rules:
        field_name, where = f"rules.{rule.code}", gettext("校验规则 %(code)s ") % {"code": rule.code}
        for ref in rule.cells:
            if ref not in cells:
                p.add(field_name, "cells.unknown", gettext("%(where)s的提示单元格 %(value)s 不存在") % {"where": where, "value": ref[:30]}, gettext("提示单元格"))
        if not rule.expression:
            continue
        parsed = parse("rule", rule.code, rule.expression, field_name, where)
        if parsed is not None and parsed.kind != ex.BOOL:
            p.add(field_name, "rule.kind", gettext("%(where)s的表达式应是一个条件（如 [T1.R1.C1] >= [T1.R2.C1]），而不是数值或文本") % {"where": where},
                  gettext("表达式"))

    spec.computed_order = _order(p, spec)


def _kind_fits(p: _Problems, cell: Cell, parsed: ex.Parsed, key: str, what: str) -> None:
    if parsed.kind == ex.BOOL or (cell.numeric and parsed.kind == ex.TEXT) or \
            (not cell.numeric and parsed.kind == ex.NUMBER and cell.type != "code"):
        p.add(key, "expression.kind", gettext("%(what)s的结果类型与%(value)s单元格不符") % {"what": what, "value": CELL_TYPES[cell.type]}, gettext("表达式"))


def _order(p: _Problems, spec: FormDefinitionSpec) -> tuple[str, ...]:
    """Computed cells in an order where each comes after the computed cells it reads (Kahn)."""
    deps: dict[str, set[str]] = {}
    for key, cell in spec.cells.items():
        if cell.spec.computed:
            parsed = spec.parsed.get(f"computed:{key}")
            refs = ex.references(parsed).cells if parsed else ()
            deps[key] = {r for r in refs if r in spec.cells and spec.cells[r].spec.computed}
    order: list[str] = []
    remaining = {k: set(v) for k, v in deps.items()}
    ready = [k for k in deps if not remaining[k]]
    while ready:
        key = ready.pop(0)
        order.append(key)
        for other, needs in remaining.items():
            if key in needs:
                needs.discard(key)
                if not needs and other not in order and other not in ready:
                    ready.append(other)
    cyclic = [k for k in deps if k not in order]
    if cyclic:
        p.add(cyclic[0], "computed.cycle", gettext("计算单元格循环引用：%(items)s（计算公式不能直接或间接引用自己）") % {"items": ' → '.join(cyclic[:10])},
              gettext("计算"))
    return tuple(order)


# --------------------------------------------------------------------------------------------


def to_json(spec: FormDefinitionSpec) -> dict[str, Any]:
    """The definition as plain JSON (what a form exports); parse_definition(to_json(s)) == s."""
    out: dict[str, Any] = {"code": spec.code, "title": spec.title}
    if spec.description:
        out["description"] = spec.description
    if spec.other_forms:
        out["other_forms"] = list(spec.other_forms)
    out["tables"] = []
    for table in spec.tables:
        columns = []
        for c in table.columns:
            col: dict[str, Any] = {"code": c.code, "label": c.label, "type": c.type}
            if c.unit:
                col["unit"] = c.unit
            if c.decimals is not None:
                col["decimals"] = c.decimals
            if c.code_table:
                col["code_table"] = c.code_table
            if c.allow_negative:
                col["allow_negative"] = True
            columns.append(col)
        cells: dict[str, Any] = {}
        for key, cell in table.cells.items():
            entry: dict[str, Any] = {}
            if cell.prefill:
                entry["prefill"] = cell.prefill
            if cell.computed:
                entry["computed"] = cell.computed
            if cell.disabled:
                entry["disabled"] = True
            if entry:
                cells[key] = entry
        t: dict[str, Any] = {"code": table.code, "title": table.title}
        if table.unit:
            t["unit"] = table.unit
        t["rows"] = [{"code": r.code, "label": r.label} for r in table.rows]
        t["columns"] = columns
        if cells:
            t["cells"] = cells
        out["tables"].append(t)
    out["rules"] = [{"code": r.code, "kind": r.kind, "expression": r.expression, "message": r.message,
                     "cells": list(r.cells)} for r in spec.rules]
    return out
