"""Form definitions (reporting.formdef): the shipped forms are valid and round-trip; every kind of
mistake a designer can make is reported, all at once, with the table/row/column/rule it is in."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eduplatform.reporting import formdef
from eduplatform.reporting.formdef import DefinitionInvalid, parse_definition, to_json

FORMS = Path(__file__).resolve().parent.parent / "data" / "forms"
SHIPPED = sorted(FORMS.glob("*.json"))


def minimal(**changes) -> dict:
    data = {
        "code": "JC442", "title": "教师培训情况",
        "tables": [{
            "code": "T1", "title": "专任教师培训情况", "unit": "人",
            "rows": [{"code": "R1", "label": "合计"}, {"code": "R2", "label": "其中：女"},
                     {"code": "R3", "label": "其中：男"}],
            "columns": [{"code": "C1", "label": "参加培训人数", "type": "integer", "unit": "人"},
                        {"code": "C2", "label": "培训学时", "type": "decimal", "decimals": 1},
                        {"code": "C3", "label": "岗位类别", "type": "code", "code_table": "staff_category_k12"},
                        {"code": "C4", "label": "备注", "type": "text"},
                        {"code": "C5", "label": "日期", "type": "date"}],
            "cells": {"R1.C1": {"computed": "[T1.R2.C1] + [T1.R3.C1]"},
                      "R2.C1": {"prefill": "RECORD('staff.staff', post_category='1', gender='2')"},
                      "R3.C4": {"disabled": True}},
        }],
        "rules": [{"code": "V1", "kind": "hard", "expression": "[T1.R1.C1] >= [T1.R2.C1]",
                   "message": "女教师参加培训人数不能大于合计", "cells": ["T1.R2.C1"]}],
    }
    data.update(changes)
    return data


def problems(data: dict) -> list:
    with pytest.raises(DefinitionInvalid) as error:
        parse_definition(data)
    return error.value.problems


def fields_and_codes(data: dict) -> set[tuple[str, str]]:
    return {(p.field, p.code) for p in problems(data)}


@pytest.mark.django_db
@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_forms_are_valid_and_round_trip(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    spec = parse_definition(data)
    assert to_json(spec) == data  # the files are written in the canonical export form
    again = parse_definition(to_json(spec))
    assert again == spec and again.computed_order == spec.computed_order
    assert spec.prefilled_cells and spec.computed_cells
    kinds = {r.kind for r in spec.rules}
    assert kinds == {"hard", "soft"}
    assert any(ref for ref in spec.record_refs())  # prefill from the records
    rule_tables = [{key.split(".")[0] for key in ref_cells(spec, r.code)} for r in spec.rules]
    assert any(len(tables) > 1 for tables in rule_tables), "a rule across tables"
    assert any(spec.expression("rule", r.code).ast and r.expression.count("RECORD(") for r in spec.rules), \
        "a rule against the records"


def ref_cells(spec, code):
    from eduplatform.reporting.expressions import references

    return references(spec.expression("rule", code)).cells


def test_shipped_forms_directory_has_a_readme_naming_each_form_and_its_source():
    readme = (FORMS / "README.md").read_text(encoding="utf-8")
    assert len(SHIPPED) >= 2
    for path in SHIPPED:
        assert f"`{path.name}`" in readme and "Source:" in readme.split(f"`{path.name}`")[1].split("\n- ")[0]


@pytest.mark.django_db
def test_a_valid_definition_gives_a_typed_spec():
    spec = parse_definition(minimal())
    assert [t.code for t in spec.tables] == ["T1"]
    assert len(spec.cells) == 15
    cell = spec.cells["T1.R2.C2"]
    assert (cell.type, cell.decimals, cell.numeric) == ("decimal", 1, True)
    assert spec.cells["T1.R1.C1"].decimals == 0
    assert spec.cells["T1.R1.C3"].column.code_table == "staff_category_k12"
    assert spec.cells["T1.R3.C4"].spec.disabled
    assert spec.prefilled_cells == ["T1.R2.C1"]
    assert spec.computed_order == ("T1.R1.C1",)
    assert spec.entry_cells.count("T1.R1.C1") == 0 and "T1.R3.C4" not in spec.entry_cells
    assert [r.source for r in spec.record_refs()] == ["staff.staff"]
    assert to_json(spec) == minimal() | {"tables": [minimal()["tables"][0] | {"cells": {
        "R1.C1": {"computed": "[T1.R2.C1] + [T1.R3.C1]"},
        "R2.C1": {"prefill": "RECORD('staff.staff', post_category='1', gender='2')"},
        "R3.C4": {"disabled": True}}}]}


def test_code_tables_can_be_given_instead_of_read():
    spec = parse_definition(minimal(), code_tables={"staff_category_k12"})
    assert spec.code == "JC442"
    with pytest.raises(DefinitionInvalid) as error:
        parse_definition(minimal(), code_tables=set())
    assert [p.code for p in error.value.problems] == ["code_table.unknown"]


@pytest.mark.django_db
def test_computed_cells_are_ordered_after_the_computed_cells_they_read():
    data = minimal()
    table = data["tables"][0]
    table["rows"].append({"code": "R4", "label": "总计"})
    table["cells"] = {
        "R4.C1": {"computed": "[T1.R1.C1] * 2"},  # reads a computed cell defined after it
        "R1.C1": {"computed": "[T1.R2.C1] + [T1.R3.C1]"},
        "R4.C2": {"computed": "[T1.R4.C1] / 4"},
    }
    spec = parse_definition(data)
    order = spec.computed_order
    assert order.index("T1.R1.C1") < order.index("T1.R4.C1") < order.index("T1.R4.C2")


@pytest.mark.django_db
def test_cycles_among_computed_cells_are_refused():
    data = minimal()
    data["tables"][0]["cells"] = {"R1.C1": {"computed": "[T1.R2.C1] + 1"}, "R2.C1": {"computed": "[T1.R3.C1]"},
                                  "R3.C1": {"computed": "[T1.R1.C1] - 1"}}
    found = problems(data)
    assert [p.code for p in found] == ["computed.cycle"]
    assert "循环引用" in found[0].message and "T1.R1.C1" in found[0].message
    data["tables"][0]["cells"] = {"R1.C1": {"computed": "[T1.R1.C1] + 1"}}
    assert [p.code for p in problems(data)] == ["computed.cycle"]


@pytest.mark.django_db
def test_every_problem_is_reported_at_once_naming_where_it_is():
    data = minimal(code="jc-442", title="")
    table = data["tables"][0]
    table["rows"].append({"code": "R2", "label": "重复"})
    table["columns"].append({"code": "C6", "label": "金额", "type": "money"})
    table["columns"].append({"code": "C7", "label": "代码", "type": "code", "code_table": "no_such_table"})
    table["columns"].append({"code": "C8", "label": "", "type": "decimal", "decimals": 9})
    table["cells"]["R9.C1"] = {"prefill": "1"}
    table["cells"]["R3.C2"] = {"computed": "[T1.R9.C1] + 1"}
    table["cells"]["R3.C5"] = {"computed": "[T1.R1.C1]"}
    table["cells"]["R1.C2"] = {"prefill": "[T1.R2.C2]"}
    table["cells"]["R2.C2"] = {"prefill": "1", "computed": "2"}
    table["cells"]["R3.C1"] = {"disabled": True, "computed": "1"}
    data["tables"].append({"code": "T1", "title": "又一个", "rows": [{"code": "R1", "label": "a"}],
                           "columns": [{"code": "C1", "label": "b"}]})
    data["rules"] += [
        {"code": "V1", "kind": "hard", "expression": "1 > 0", "message": "重复的代码"},
        {"code": "V2", "kind": "must", "expression": "[T1.R1.C1] >", "message": "坏表达式"},
        {"code": "V3", "kind": "soft", "expression": "[T1.R1.C1] + 1", "message": "不是条件"},
        {"code": "V4", "kind": "soft", "expression": "[JC999:T1.R1.C1] > 0", "message": "未声明的其他报表"},
        {"code": "V5", "kind": "soft", "expression": "[T1.R3.C4] = 'x'", "message": "引用不填的单元格",
         "cells": ["T1.R7.C1"]},
        {"code": "V6", "kind": "hard", "expression": "RECORD('staff.salary') > 0", "message": "未知字段"},
        {"code": "V7", "kind": "hard", "expression": "COALESCE([T1.R1.C1], [T1.R2.C1])", "message": "不是条件"},
    ]
    found = {(p.field, p.code) for p in problems(data)}
    assert {
        ("code", "code.invalid"), ("title", "required"), ("T1.R2", "code.duplicate"), ("T1.C6", "type.invalid"),
        ("T1.C7", "code_table.unknown"), ("T1.C8", "required"), ("T1.C8", "decimals.invalid"),
        ("T1.R9.C1", "cell.unknown"), ("T1.R3.C2", "reference.unknown"),
        ("T1.R3.C5", "computed.type"), ("T1.R1.C2", "prefill.cells"), ("T1.R2.C2", "cell.both"),
        ("T1.R3.C1", "cell.disabled"), ("T1", "code.duplicate"), ("rules.V1", "code.duplicate"),
        ("rules.V2", "kind.invalid"), ("rules.V2", "expression.invalid"), ("rules.V3", "rule.kind"),
        ("rules.V4", "reference.form"), ("rules.V5", "reference.disabled"), ("rules.V5", "cells.unknown"),
        ("rules.V6", "expression.invalid"), ("rules.V7", "rule.kind"),
    } <= found
    by_field = DefinitionInvalid(problems(data)).by_field()
    assert any("第 13 个字符" in m for m in by_field["rules.V2"])  # the position inside the expression
    assert any("「salary」" in m for m in by_field["rules.V6"])
    assert any("T1.R9.C1" in m for m in by_field["T1.R3.C2"])
    assert any("列 C7" in m and "no_such_table" in m for m in by_field["T1.C7"])


@pytest.mark.parametrize(("data", "field", "code"), [
    ("not a dict", "definition", "definition.type"),
    ({"code": "A", "title": "x"}, "tables", "required"),
    ({"code": "A", "title": "x", "tables": "T1"}, "tables", "required"),
    ({"code": "A", "title": "x", "tables": [{"code": "T1", "title": "t", "rows": [], "columns": [
        {"code": "C1", "label": "c"}]}]}, "T1.rows", "required"),
    ({"code": "A", "title": "x", "tables": [{"code": "T1", "title": "t", "rows": [{"code": "R1", "label": "r"}],
                                             "columns": []}]}, "T1.columns", "required"),
    ({"code": "A", "title": "x", "tables": [{"code": "t1", "title": "t"}]}, "tables", "code.invalid"),
    ({"code": "A", "title": "x", "tables": [{"code": "T1", "title": "t", "rows": [{"code": "R 1", "label": "r"}],
                                             "columns": [{"code": "C1", "label": "c"}]}]}, "T1.rows", "code.invalid"),
    ({"code": "A", "title": "x", "other_forms": ["A"], "tables": [{"code": "T1", "title": "t", "rows": [
        {"code": "R1", "label": "r"}], "columns": [{"code": "C1", "label": "c"}]}]}, "other_forms", "other_forms.self"),
    ({"code": "A", "title": "x", "rules": {}, "tables": [{"code": "T1", "title": "t", "rows": [
        {"code": "R1", "label": "r"}], "columns": [{"code": "C1", "label": "c"}]}]}, "rules", "rules.type"),
    ({"code": "A", "title": "x", "tables": [{"code": "T1", "title": "t", "rows": [{"code": "R1", "label": "r"}],
                                             "columns": [{"code": "C1", "label": "c", "type": "integer",
                                                          "decimals": 2}]}]}, "T1.C1", "decimals.type"),
    ({"code": "A", "title": "x", "tables": [{"code": "T1", "title": "t", "rows": [{"code": "R1", "label": "r"}],
                                             "columns": [{"code": "C1", "label": "c", "type": "code"}]}]},
     "T1.C1", "code_table.required"),
    ({"code": "A", "title": "x", "tables": [{"code": "T1", "title": "t", "rows": [{"code": "R1", "label": "r"}],
                                             "columns": [{"code": "C1", "label": "c"}],
                                             "cells": {"R1.C1": {"formula": "1"}}}]}, "T1.R1.C1", "cell.keys"),
])
def test_malformed_definitions(data, field, code):
    assert (field, code) in fields_and_codes(data)


@pytest.mark.django_db
def test_cross_form_references_need_the_form_declared():
    data = minimal()
    data["rules"].append({"code": "X1", "kind": "soft", "expression": "[T1.R1.C1] <= [SV01:T1.R1.C2]",
                          "message": "跨表"})
    assert ("rules.X1", "reference.form") in fields_and_codes(copy.deepcopy(data))
    data["other_forms"] = ["SV01"]
    spec = parse_definition(data)
    assert spec.other_forms == ("SV01",)
    assert parse_definition(to_json(spec)) == spec
    data["rules"].append({"code": "X2", "kind": "soft", "expression": "[JC442:T1.R1.C1] > 0", "message": "自己"})
    assert ("rules.X2", "reference.self") in fields_and_codes(data)


@pytest.mark.django_db
def test_computed_cells_read_only_this_forms_numbers_and_prefill_no_cells():
    data = minimal(other_forms=["SV01"])
    data["tables"][0]["cells"] = {
        "R1.C1": {"computed": "RECORD('measure:teachers')"},
        "R2.C1": {"computed": "[SV01:T1.R1.C1]"},
        "R3.C1": {"computed": "[T1.R1.C4] + 1"},
        "R1.C2": {"prefill": "[T1.R2.C2] + RECORD('measure:teachers')"},
        "R2.C2": {"prefill": "'abc'"},
        "R1.C4": {"prefill": "'沿用上年'"},
        "R2.C5": {"prefill": "[T1.R1.C1] > 1"},
    }
    found = fields_and_codes(data)
    assert {("T1.R1.C1", "computed.sources"), ("T1.R2.C1", "computed.sources"), ("T1.R3.C1", "computed.operand"),
            ("T1.R1.C2", "prefill.cells"), ("T1.R2.C2", "expression.kind"), ("T1.R2.C5", "expression.kind")} <= found
    assert not any(f == "T1.R1.C4" for f, _ in found)


def test_problems_are_field_problems_with_chinese_messages():
    from eduplatform.core.errors import FieldProblem

    found = problems(minimal(tables=[{"code": "T1", "title": "", "rows": [{"code": "R1", "label": "合计"}],
                                      "columns": [{"code": "C1", "label": "人数", "type": "integer"}]}],
                             rules=[{"code": "V1", "kind": "hard", "expression": "[T1.R1.C1] >= [T1.R2.C1]",
                                     "message": "x"}]))
    assert all(isinstance(p, FieldProblem) and p.label for p in found)
    assert {p.field: p.message for p in found} == {
        "T1": "表 T1 缺少标题",
        "rules.V1": "校验规则 V1 引用的单元格 [T1.R2.C1] 不存在",
    }
    assert formdef.CELL_TYPES["integer"] == "整数"


# --------------------------------------------------------------------------------------------
# Fuzzing: whatever JSON is imported, the answer is a spec or DefinitionInvalid — never a crash.


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "T1", "R1", "C1", "integer", "code", "hard", "[T1.R1.C1]", "1 +", "RECORD('x')"])
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _mutate(data, path, value, delete):
    if not path:
        return value
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_definitions_give_a_spec_or_definition_invalid(data):
    original = json.loads(SHIPPED[data.draw(st.integers(0, len(SHIPPED) - 1))].read_text(encoding="utf-8"))
    mutated = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(mutated))
        path = data.draw(st.sampled_from(paths))
        mutated = _mutate(mutated, path, data.draw(JSON), data.draw(st.booleans()))
    try:
        spec = parse_definition(mutated, code_tables={"staff_category_k12"})
    except DefinitionInvalid as error:
        assert error.problems and all(p.message and p.field for p in error.problems)
    else:
        assert parse_definition(to_json(spec), code_tables={"staff_category_k12"}) == spec


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_fuzz_arbitrary_json_gives_definition_invalid(value):
    with pytest.raises(DefinitionInvalid):
        parse_definition(value, code_tables=set())
