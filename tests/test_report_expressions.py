"""The reporting expression language (reporting.expressions): what it computes, what it refuses.

The hostile-input test is the acceptance test of issue 14 ("rejects anything but arithmetic,
comparisons, cell and record references and a few named functions"); the hypothesis tests check that
no text whatever makes the parser or the evaluator raise anything but ExpressionError.
"""

from __future__ import annotations

import builtins
import contextlib
import decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eduplatform.reporting import expressions as ex
from eduplatform.reporting.expressions import BLANK, Environment, ExpressionError

D = decimal.Decimal


def run(text: str, cells: dict | None = None, *, other: dict | None = None, record=None) -> object:
    cells = cells or {}
    env = Environment(
        cell=lambda k: cells.get(k, BLANK),
        other=(lambda form, k: (other or {}).get(form, {}).get(k, BLANK)),
        record=record,
    )
    return ex.evaluate(ex.parse(text), env)


# --------------------------------------------------------------------------------------------
# What it computes


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", D(7)),
    ("(1 + 2) * 3", D(9)),
    ("10 / 4", D("2.5")),
    ("0.1 + 0.2", D("0.3")),  # exact decimal arithmetic, not binary floats
    ("-3 + +5", D(2)),
    ("- - 4", D(4)),
    ("2 - 3 - 4", D(-5)),  # left-associative
    ("24 / 4 / 2", D(3)),
    ("SUM(1, 2, 3.5)", D("6.5")),
    ("MIN(4, -2, 7)", D(-2)),
    ("MAX(4, -2, 7)", D(7)),
    ("ABS(-3.25)", D("3.25")),
    ("ROUND(2.5)", D(3)),  # 四舍五入, not banker's rounding
    ("ROUND(1.245, 2)", D("1.25")),
    ("ROUND(-1.5)", D(-2)),
    ("IF(2 > 1, 10, 20)", D(10)),
    ("if(2 < 1, 10, 20)", D(20)),
    ("1 < 2 AND 2 < 3", True),
    ("1 < 2 and not 2 < 3", False),
    ("1 > 2 OR 3 >= 3", True),
    ("NOT (1 = 1)", False),
    ("'a' = 'a'", True),
    ("'a' != \"b\"", True),
    ("1 <> 2", True),
    ("1 == 1", True),
    ("TRUE AND NOT FALSE", True),
])
def test_arithmetic_functions_and_logic(text, expected):
    assert run(text) == expected


def test_blank_cells_count_as_zero_and_division_by_zero_is_not_applicable():
    cells = {"T1.R1.C1": D(5)}
    assert run("[T1.R1.C1] + [T1.R2.C1]", cells) == D(5)
    assert run("[T1.R2.C1] * 3", cells) == D(0)
    assert run("ISBLANK([T1.R2.C1])", cells) is True
    assert run("ISBLANK([T1.R1.C1])", cells) is False
    assert run("COALESCE([T1.R2.C1], [T1.R1.C1])", cells) == D(5)
    assert run("COALESCE([T1.R2.C1], 7)", cells) == D(7)
    assert run("[T1.R1.C1] / [T1.R2.C1]", cells) is None
    assert run("[T1.R1.C1] / [T1.R2.C1] > 1", cells) is None  # a comparison with nothing: not applicable
    assert run("1 > 2 AND [T1.R1.C1] / 0 > 1", cells) is False  # AND with one false side is false
    assert run("[T1.R2.C1] = ''", cells) is True  # a blank compared with text is ""


def test_text_cells_compare_with_strings_and_refuse_arithmetic():
    cells = {"T1.R1.C3": "01", "T1.R1.C1": D(3)}
    assert run("[T1.R1.C3] = '01'", cells) is True
    assert run("[T1.R1.C1] = '3'", cells) is True  # a number compared with text compares as its text
    with pytest.raises(ex.EvaluationError) as error:
        run("[T1.R1.C3] + 1", cells)
    assert "文本" in error.value.message and error.value.position == 0


def test_cross_form_and_record_references_are_read_through_the_environment():
    seen = []

    def record(ref):
        seen.append(ref.key)
        return D(40)

    text = "[JC442:T1.R1.C2] + RECORD('staff.staff', post_category='1', gender='2') + [T1.R1.C1]"
    assert run(text, {"T1.R1.C1": D(1)}, other={"JC442": {"T1.R1.C2": D(2)}}, record=record) == D(43)
    assert seen == [("staff.staff", (("gender", "2"), ("post_category", "1")))]
    with pytest.raises(ex.EvaluationError):  # no school given: RECORD cannot be read
        run("RECORD('measure:teachers') > 1")


def test_references_lists_cells_other_forms_and_record_figures():
    parsed = ex.parse("SUM([T1.R1.C1], [T1.R2.C1], [T1.R1.C1]) <= [JC442:T2.R1.C1] + RECORD('measure:teachers')"
                      " + RECORD('students.migrant', stage='2') + RECORD('measure:teachers')")
    refs = ex.references(parsed)
    assert refs.cells == ("T1.R1.C1", "T1.R2.C1")
    assert refs.other_forms == (("JC442", "T2.R1.C1"),)
    assert refs.forms == ("JC442",)
    assert [r.source for r in refs.records] == ["measure:teachers", "students.migrant"]
    assert refs.records[1].dims == (("stage", "2"),)
    assert ex.references(parsed.ast) == refs


def test_parser_infers_kinds_and_refuses_mixing_them():
    assert ex.parse("[T1.R1.C1] >= 1").kind == ex.BOOL
    assert ex.parse("[T1.R1.C1] + 1").kind == ex.NUMBER
    assert ex.parse("[T1.R1.C1]").kind == ex.ANY
    assert ex.parse("IF([T1.R1.C1] > 0, 'a', 'b')").kind == ex.TEXT
    for text, fragment in [("1 + 'a'", "文本"), ("1 AND 2", "条件"), ("'a' < 'b'", "文本只能比较相等"),
                           ("(1 < 2) < 3", "条件"), ("1 = 'a'", "数值不能与文本比较"),
                           ("IF(1, 2, 3)", "IF 的第一个参数"), ("IF(1 > 2, 1, 'a')", "同一类型"),
                           ("SUM()", "至少 1"), ("ABS(1, 2)", "ABS 需要 1"), ("ROUND(1, 2.5)", "0–10 的整数"),
                           ("ROUND(1, [T1.R1.C1])", "0–10 的整数"), ("ISBLANK(1)", "单元格引用")]:
        with pytest.raises(ExpressionError) as error:
            ex.parse(text)
        assert fragment in error.value.message, (text, error.value.message)


def test_unparse_gives_an_expression_with_the_same_meaning():
    cells = {"T1.R1.C1": D(3), "T1.R2.C1": D(4), "T1.R3.C1": "x"}
    for text in ["1 - (2 - 3) * -[T1.R1.C1]", "NOT [T1.R1.C1] > 2 OR [T1.R2.C1] = 4 AND TRUE",
                 "ROUND([T1.R2.C1] / 3, 2)", "IF(ISBLANK([T1.R9.C1]), 'a', \"it's\")", "[T1.R3.C1] = 'x'"]:
        again = ex.parse(ex.unparse(ex.parse(text).ast))
        assert run(ex.unparse(again.ast), cells) == run(text, cells)


# --------------------------------------------------------------------------------------------
# What it refuses


HOSTILE = [
    # (text, position of the error, a fragment of its Chinese message)
    ("__import__('os')", 0, "未知的函数"),
    ("__import__('os').system('rm -rf /')", 16, "不允许的字符「.」"),
    ("os.system('ls')", 2, "不允许的字符「.」"),
    ("[T1.R1.C1].__class__", 10, "不允许的字符「.」"),
    ("().__class__.__bases__[0].__subclasses__()", 2, "不允许的字符「.」"),
    ("__builtins__", 0, "未知的名称"),
    ("x", 0, "未知的名称"),
    ("teachers + 1", 0, "未知的名称"),
    ("lambda: 1", 6, "不允许的字符「:」"),
    ("lambda x: x", 8, "不允许的字符「:」"),
    ("eval('1+1')", 0, "未知的函数"),
    ("exec('import os')", 0, "未知的函数"),
    ("open('/etc/passwd')", 0, "未知的函数"),
    ("getattr(1, 'real')", 0, "未知的函数"),
    ("len('abc')", 0, "未知的函数"),
    ("sum([1, 2])", 4, "单元格引用"),  # a Python list is not a cell reference
    ("f'{1+1}'", 0, "未知的名称"),
    ("1; 2", 1, "不允许的字符「;」"),
    ("1 + 1 # comment", 6, "不允许的字符「#」"),
    ("2 ** 10", 2, "乘方"),
    ("7 // 2", 2, "整除"),
    ("1 if 1 else 2", 2, "多余的内容「if」"),
    ("[T1.R1.C1] @ 2", 11, "不允许的字符「@」"),
    ("{'a': 1}", 0, "不允许的字符「{」"),
    ("'abc", 0, "缺少结束引号"),
    ("'abc\" + 1", 0, "缺少结束引号"),
    ("\"a\nb\"", 0, "控制字符"),
    ("[T1.R1.C1", 0, "缺少「]」"),
    ("[t1.r1.c1]", 0, "[表.行.列]"),
    ("[T1.R1]", 0, "[表.行.列]"),
    ("[os:T1.R1.C1]", 0, "表号"),
    ("[T1.R1.C1; DROP TABLE x]", 0, "[表.行.列]"),
    ("1 +", 3, "结尾缺少运算对象"),
    ("(1 + 2", 6, "「)」"),
    ("1 + 2)", 5, "多余的内容"),
    ("1 2", 2, "多余的内容"),
    ("1 < 2 < 3", 6, "不能连写"),
    ("", 0, "表达式为空"),
    ("   ", 0, "表达式为空"),
    ("1.", 2, "小数点后缺少数字"),
    ("1e10", 1, "数字后不能紧跟"),
    ("0x1F", 1, "数字后不能紧跟"),
    ("1" * 31, 0, "数字过长"),
    ("!1", 0, "取反请用 NOT"),
    ("SUM(x=1)", 4, "命名参数"),
    ("FOO(1)", 0, "未知的函数"),
    ("AND 1", 0, "缺少运算对象"),
    ("（1 + 2）", 0, "全角"),
    ("RECORD(measure)", 7, "带引号的文本"),
    ("RECORD('measure:nope')", 7, "未知的指标项"),
    ("RECORD('measure:teachers', gender='2')", 27, "不能再加维度"),
    ("RECORD('pupils.enrolled')", 7, "汇总表可为"),
    ("RECORD('students')", 7, "汇总表可为"),
    ("RECORD('students.id')", 7, "没有可求和的字段"),
    ("RECORD('students.school_id')", 7, "没有可求和的字段"),
    ("RECORD('students.grade')", 7, "没有可求和的字段"),  # a dimension is not a measure
    ("RECORD('staff.staff', school_id='1')", 22, "不能按「school_id」筛选"),
    ("RECORD('staff.staff', region_path='44*')", 22, "不能按「region_path」筛选"),
    ("RECORD('staff.staff', id='1')", 22, "不能按「id」筛选"),
    ("RECORD('staff.staff', gender__in='1')", 22, "不能按「gender__in」筛选"),
    ("RECORD('staff.staff', gender='2'' OR ''1''=''1')", 32, "RECORD 的「,」或「)」"),
    ("RECORD('staff.staff', gender=\"2' OR '1'='1\")", 22, "不合规"),
    ("RECORD('staff.staff', gender='2; DROP TABLE stats_staffrollup; --')", 22, "不合规"),
    ("RECORD('staff.staff', gender='%')", 22, "不合规"),
    ("RECORD('students.enrolled', stage='2*')", 28, "应为整数"),
    ("RECORD('students.enrolled', stage='two')", 28, "应为整数"),
    ("RECORD('staff.staff', gender='1', gender='2')", 34, "重复"),
    ("RECORD('staff.staff', gender=[T1.R1.C1])", 29, "文本或整数"),
    ("RECORD('staff.staff', 'gender')", 22, "维度='值'"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), HOSTILE)
def test_hostile_input_is_rejected_with_a_chinese_message_and_its_position(text, position, fragment):
    with pytest.raises(ExpressionError) as error:
        ex.parse(text)
    assert fragment in error.value.message, error.value.message
    assert error.value.position == position, (error.value.position, error.value.message)
    assert f"第 {position + 1} 个字符" in str(error.value)


def test_limits_on_length_nesting_and_references():
    assert ex.parse("(" * 49 + "1" + ")" * 49)
    with pytest.raises(ExpressionError, match="嵌套过深"):
        ex.parse("(" * 50 + "1" + ")" * 50)
    with pytest.raises(ExpressionError, match="嵌套过深"):
        ex.parse("ABS(" * 60 + "1" + ")" * 60)
    with pytest.raises(ExpressionError, match="嵌套过深"):
        ex.parse("-" * 100 + "1")
    with pytest.raises(ExpressionError, match="嵌套过深"):
        ex.parse("NOT " * 80 + "TRUE")
    with pytest.raises(ExpressionError, match="过长") as error:
        ex.parse("1 + " * 500 + "1")
    assert error.value.position == ex.MAX_LENGTH
    with pytest.raises(ExpressionError, match="过长"):  # a huge text is refused before it is scanned
        ex.parse("(" * 10**6)
    with pytest.raises(ExpressionError, match="引用过多") as error:
        ex.parse("+".join(["[A.B.C]"] * (ex.MAX_REFERENCES + 1)))
    assert error.value.position == 8 * ex.MAX_REFERENCES
    assert len(ex.references(ex.parse("+".join(["[A.B.C]"] * ex.MAX_REFERENCES))).cells) == 1


def test_long_chains_evaluate_without_deep_recursion():
    text = "+".join(["[A.B.C]"] * 200) + "-" + "-".join(["1"] * 199)  # 399 operators, 1,997 characters
    assert len(text) <= ex.MAX_LENGTH

    def nested(depth: int):  # evaluate as if deep inside a request's call stack
        return nested(depth - 1) if depth else run(text, {"A.B.C": D(2)})

    assert nested(700) == D(2 * 200 - 199)


def test_non_text_input_is_an_expression_error():
    for value in (None, 42, b"1+1", ["1"]):
        with pytest.raises(ExpressionError):
            ex.parse(value)  # type: ignore[arg-type]


def test_nothing_is_handed_to_pythons_eval_or_compile(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/compile/exec must never be called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "compile", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert run("ROUND(SUM([T1.R1.C1], 2) / 3, 2) > 1 AND NOT ISBLANK([T1.R1.C1])", {"T1.R1.C1": D(4)}) is True


# --------------------------------------------------------------------------------------------
# Fuzzing: the parser and the evaluator raise nothing but ExpressionError

LANGUAGE = st.sampled_from([
    "1", "0", "2.5", " ", "+", "-", "*", "/", "(", ")", ",", "=", "!=", "<", "<=", ">", ">=", "'a'", "\"b\"",
    "[T1.R1.C1]", "[T1.R2.C1]", "[JC442:T1.R1.C1]", "[T1.R3.C1]", "AND", "OR", "NOT", "TRUE", "false", "SUM",
    "MIN", "MAX", "ABS", "ROUND", "IF", "ISBLANK", "COALESCE", "RECORD", "'measure:teachers'", "'staff.staff'",
    "gender=", "'2'", "stage=", "'1*'", "x", "__import__", ".", ";", "[", "]", "'", "**", "0", "1000000000000",
])


def _fuzz_env() -> Environment:
    values = {"T1.R1.C1": D(3), "T1.R2.C1": BLANK, "T1.R3.C1": "text"}
    return Environment(cell=lambda k: values.get(k, BLANK), other=lambda f, k: D(0), record=lambda ref: D(7))


def _parse_and_run(text: str) -> None:
    try:
        parsed = ex.parse(text)
    except ExpressionError as error:
        assert 0 <= error.position <= max(len(text), ex.MAX_LENGTH)
        assert error.message
        return
    with contextlib.suppress(ExpressionError):
        ex.evaluate(parsed, _fuzz_env())
    ex.references(parsed)
    ex.unparse(parsed.ast)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_fuzz_arbitrary_text(text):
    _parse_and_run(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LANGUAGE, max_size=40).map("".join))
def test_fuzz_language_like_text(text):
    _parse_and_run(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LANGUAGE, min_size=200, max_size=600).map(" ".join))
def test_fuzz_long_language_like_text(text):
    _parse_and_run(text)


def test_every_record_example_in_the_designers_reference_parses():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "reporting-forms.md").read_text(encoding="utf-8")
    examples = re.findall(r"RECORD\('[^)]*\)", doc)
    assert len(examples) >= 10
    for example in examples:
        if "<" in example:  # the placeholders of the syntax line
            continue
        assert ex.parse(example).kind == ex.NUMBER, example
    measures_named = re.findall(r"`([a-z_]+)` [\u4e00-\u9fff]", doc.split("**Named measures**")[1].split("**A roll-up")[0])
    from eduplatform.stats.measures import MEASURES

    assert measures_named and set(measures_named) <= set(MEASURES)
