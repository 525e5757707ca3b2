"""The small safe expression language of report forms (prefill, computed cells, rules).

A hand-written tokenizer and recursive-descent parser turn the text into frozen AST dataclasses; an
evaluator walks them over ``Decimal``. Nothing here calls ``eval``, ``compile`` or Python's ``ast``:
the only things an expression can do are arithmetic, comparisons, AND/OR/NOT, cell references
(``[T1.R2.C1]``, ``[JC442:T1.R2.C1]``), a fixed list of functions and ``RECORD(...)`` reads of one
school's roll-ups through the whitelist of ``reporting.record_refs``.

Grammar (lowest precedence first)::

    expr       := or
    or         := and (OR and)*
    and        := not (AND not)*
    not        := NOT not | comparison
    comparison := additive [(= | == | != | <> | < | <= | > | >=) additive]
    additive   := term ((+ | -) term)*
    term       := unary ((* | /) unary)*
    unary      := (- | +) unary | primary
    primary    := NUMBER | STRING | TRUE | FALSE | CELL | FUNC '(' args ')' | '(' expr ')'

Every error is an ``ExpressionError`` with a Chinese message and the 0-based character position.
Blank cells (``BLANK``) are 0 in arithmetic and comparisons with numbers; ``x / 0`` is blank; a
comparison with a blank result (from a division by zero) is "not applicable" (``None``).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext

MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_TOKENS = 1000
MAX_REFERENCES = 200  # 200 cell references fill 1,600 of the 2,000 characters
MAX_NUMBER_DIGITS = 30
MAX_STRING_LENGTH = 200

CODE_PATTERN = r"[A-Z][A-Z0-9_]{0,15}"
CODE_RE = re.compile(rf"^{CODE_PATTERN}$")
CELL_KEY_RE = re.compile(rf"^({CODE_PATTERN})\.({CODE_PATTERN})\.({CODE_PATTERN})$")

FUNCTIONS = ("SUM", "MIN", "MAX", "ABS", "ROUND", "IF", "ISBLANK", "COALESCE", "RECORD")
KEYWORDS = {"AND", "OR", "NOT", "TRUE", "FALSE"}
COMPARISONS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
WHITESPACE = " \t\r\n\u3000"

# Kinds the parser infers for each node (a cell's kind is known only to the form: "any").
NUMBER, TEXT, BOOL, ANY = "number", "text", "bool", "any"


class ExpressionError(ValueError):
    """An expression could not be parsed or evaluated. ``position`` is 0-based."""

    def __init__(self, message: str, position: int = 0) -> None:
        self.message = message
        self.position = position
        super().__init__(gettext("%(message)s（第 %(value)s 个字符）") % {"message": message, "value": position + 1})


class EvaluationError(ExpressionError):
    """A well-formed expression failed on the values it was given (e.g. text in arithmetic)."""


class _Blank:
    """A cell nobody filled in: 0 in arithmetic, "" compared with text, ISBLANK is true."""

    _instance: _Blank | None = None

    def __new__(cls) -> _Blank:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "BLANK"

    def __bool__(self) -> bool:
        return False


BLANK = _Blank()
Value = decimal.Decimal | str | bool | _Blank | None


# --------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class Number:
    value: decimal.Decimal
    pos: int


@dataclass(frozen=True)
class String:
    value: str
    pos: int


@dataclass(frozen=True)
class Bool:
    value: bool
    pos: int


@dataclass(frozen=True)
class CellRef:
    key: str  # "T1.R2.C1"
    form: str | None  # another form's code for [JC442:T1.R2.C1], else None
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "+"
    operand: Node
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str  # + - * /
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str  # = != < <= > >=
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Logical:
    op: str  # AND, OR
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Node
    pos: int


@dataclass(frozen=True)
class Call:
    name: str  # one of FUNCTIONS except RECORD
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class RecordRef:
    """RECORD('measure:teachers') or RECORD('staff.staff', post_category='1', gender='2')."""

    source: str
    dims: tuple[tuple[str, str], ...]  # (dimension, value) in the order written
    pos: int

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """What identifies the figure (order of dims does not matter)."""
        return (self.source, tuple(sorted(self.dims)))


Node = Number | String | Bool | CellRef | Unary | Binary | Compare | Logical | Not | Call | RecordRef


# --------------------------------------------------------------------------------------------
# Tokenizer


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, cell, name, op, lparen, rparen, comma, end
    text: str
    pos: int
    value: object = None


def _describe(ch: str) -> str:
    return f"「{ch}」" if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def tokenize(text: str) -> list[Token]:
    if not isinstance(text, str):
        raise ExpressionError(gettext("表达式必须是文本"), 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(gettext("表达式过长：%(count)s 个字符，最多 %(max_length)s 个") % {"count": len(text), "max_length": MAX_LENGTH}, MAX_LENGTH)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in WHITESPACE:
            i += 1
            continue
        if len(tokens) >= MAX_TOKENS:
            raise ExpressionError(gettext("表达式过于复杂：超过 %(max_tokens)s 个记号") % {"max_tokens": MAX_TOKENS}, i)
        start = i
        if ch.isascii() and ch.isdigit():
            while i < n and text[i].isascii() and text[i].isdigit():
                i += 1
            if i < n and text[i] == ".":
                i += 1
                if not (i < n and text[i].isascii() and text[i].isdigit()):
                    raise ExpressionError(gettext("小数点后缺少数字"), i)
                while i < n and text[i].isascii() and text[i].isdigit():
                    i += 1
            raw = text[start:i]
            if len(raw.replace(".", "")) > MAX_NUMBER_DIGITS:
                raise ExpressionError(gettext("数字过长：最多 %(max_number_digits)s 位") % {"max_number_digits": MAX_NUMBER_DIGITS}, start)
            if i < n and (text[i].isalpha() or text[i] == "_"):
                raise ExpressionError(gettext("数字后不能紧跟%(describe)s") % {"describe": _describe(text[i])}, i)
            tokens.append(Token("number", raw, start, decimal.Decimal(raw)))
        elif ch in "'\"":
            end = text.find(ch, i + 1)
            if end < 0:
                raise ExpressionError(gettext("文本缺少结束引号"), start)
            value = text[i + 1:end]
            if len(value) > MAX_STRING_LENGTH:
                raise ExpressionError(gettext("文本过长：最多 %(max_string_length)s 个字符") % {"max_string_length": MAX_STRING_LENGTH}, start)
            if any(not c.isprintable() for c in value):
                raise ExpressionError(gettext("文本中不能有控制字符或换行"), start)
            tokens.append(Token("string", text[start:end + 1], start, value))
            i = end + 1
        elif ch == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise ExpressionError(gettext("单元格引用缺少「]」"), start)
            tokens.append(_cell_token(text[i + 1:end], start))
            i = end + 1
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            while i < n and text[i].isascii() and (text[i].isalnum() or text[i] == "_"):
                i += 1
            tokens.append(Token("name", text[start:i], start))
        elif ch in "(":
            tokens.append(Token("lparen", ch, start))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, start))
            i += 1
        elif ch == ",":
            tokens.append(Token("comma", ch, start))
            i += 1
        elif ch in "+-*/":
            if ch == "*" and i + 1 < n and text[i + 1] == "*":
                raise ExpressionError(gettext("不支持乘方运算「**」"), start)
            if ch == "/" and i + 1 < n and text[i + 1] == "/":
                raise ExpressionError(gettext("不支持整除运算「//」"), start)
            tokens.append(Token("op", ch, start))
            i += 1
        elif ch in "=!<>":
            two = text[i:i + 2]
            if two in COMPARISONS:
                tokens.append(Token("op", two, start))
                i += 2
            elif ch in COMPARISONS:
                tokens.append(Token("op", ch, start))
                i += 1
            else:
                raise ExpressionError(gettext("「!」只能用在「!=」中；取反请用 NOT"), start)
        elif ch in "（）［］，＋－＊／＝＜＞":
            raise ExpressionError(gettext("不能使用全角符号%(describe)s，请改用半角符号") % {"describe": _describe(ch)}, start)
        else:
            raise ExpressionError(gettext("不允许的字符%(describe)s") % {"describe": _describe(ch)}, start)
    tokens.append(Token("end", "", n))
    return tokens


def _cell_token(inner: str, pos: int) -> Token:
    body = inner.strip()
    form: str | None = None
    if ":" in body:
        form, _, body = body.partition(":")
        form, body = form.strip(), body.strip()
        if not CODE_RE.match(form):
            raise ExpressionError(gettext("单元格引用中的表号「%(value)s」不合规：应为大写字母开头的字母、数字或下划线，最多 16 位") % {"value": form[:20]}, pos)
    if not CELL_KEY_RE.match(body):
        raise ExpressionError(
            gettext("单元格引用「[%(value)s]」不合规：应写作 [表.行.列]，如 [T1.R2.C1]，或跨表 [JC442:T1.R2.C1]") % {"value": inner[:40]}, pos)
    return Token("cell", f"[{inner}]", pos, (form, body))


# --------------------------------------------------------------------------------------------
# Parser


@dataclass
class Parsed:
    """A parsed expression: its text, AST and inferred kind (number, text, bool or any)."""

    text: str
    ast: Node
    kind: str


class _Parser:
    def __init__(self, text: str, tokens: list[Token], check_record: Callable | None) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.references = 0
        self.check_record = check_record
        self.kinds: dict[int, str] = {}

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def word(self, tok: Token | None = None) -> str:
        tok = tok or self.tok
        return tok.text.upper() if tok.kind == "name" else ""

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(gettext("表达式嵌套过深：最多 %(max_depth)s 层") % {"max_depth": MAX_DEPTH}, pos)

    def leave(self) -> None:
        self.depth -= 1

    def expect(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            space = " " if what[:1].isascii() else ""
            raise ExpressionError(gettext("此处应为%(space)s%(what)s，却是%(shown)s") % {"space": space, "what": what, "shown": self.shown(self.tok)}, self.tok.pos)
        return self.advance()

    @staticmethod
    def shown(tok: Token) -> str:
        return gettext("表达式结尾") if tok.kind == "end" else f"「{tok.text[:30]}」"

    def kind_of(self, node: Node) -> str:
        return self.kinds[id(node)]

    def set_kind(self, node: Node, kind: str) -> Node:
        self.kinds[id(node)] = kind
        return node

    def need(self, node: Node, allowed: tuple[str, ...], what: str) -> None:
        kind = self.kind_of(node)
        if kind != ANY and kind not in allowed:
            names = {NUMBER: gettext("数值"), TEXT: gettext("文本"), BOOL: gettext("条件（真/假）")}
            raise ExpressionError(gettext("%(what)s需要%(items)s，这里却是%(value)s") % {"what": what, "items": gettext('或').join(names[a] for a in allowed), "value": names[kind]},
                                  node.pos)

    # -- grammar
    def parse(self) -> Parsed:
        if self.tok.kind == "end":
            raise ExpressionError(gettext("表达式为空"), 0)
        node = self.expr()
        if self.tok.kind != "end":
            tok = self.tok
            if tok.kind == "name" and tok.text.upper() not in KEYWORDS | set(FUNCTIONS):
                raise ExpressionError(gettext("未知的名称「%(value)s」") % {"value": tok.text[:30]}, tok.pos)
            raise ExpressionError(gettext("多余的内容%(shown)s：缺少运算符？") % {"shown": self.shown(tok)}, tok.pos)
        return Parsed(self.text, node, self.kind_of(node))

    def expr(self) -> Node:
        self.enter(self.tok.pos)
        try:
            return self.or_()
        finally:
            self.leave()

    def or_(self) -> Node:
        left = self.and_()
        while self.word() == "OR":
            tok = self.advance()
            right = self.and_()
            self.need(left, (BOOL,), gettext("OR 的左边"))
            self.need(right, (BOOL,), gettext("OR 的右边"))
            left = self.set_kind(Logical("OR", left, right, tok.pos), BOOL)
        return left

    def and_(self) -> Node:
        left = self.not_()
        while self.word() == "AND":
            tok = self.advance()
            right = self.not_()
            self.need(left, (BOOL,), gettext("AND 的左边"))
            self.need(right, (BOOL,), gettext("AND 的右边"))
            left = self.set_kind(Logical("AND", left, right, tok.pos), BOOL)
        return left

    def not_(self) -> Node:
        if self.word() == "NOT":
            tok = self.advance()
            self.enter(tok.pos)
            try:
                operand = self.not_()
            finally:
                self.leave()
            self.need(operand, (BOOL,), "NOT")
            return self.set_kind(Not(operand, tok.pos), BOOL)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.additive()
        if self.tok.kind == "op" and self.tok.text in COMPARISONS:
            tok = self.advance()
            right = self.additive()
            if self.tok.kind == "op" and self.tok.text in COMPARISONS:
                raise ExpressionError(gettext("比较不能连写（如 a < b < c），请用 AND 连接两个比较"), self.tok.pos)
            op = COMPARISONS[tok.text]
            lk, rk = self.kind_of(left), self.kind_of(right)
            if BOOL in (lk, rk):
                raise ExpressionError(gettext("条件（真/假）不能再比较大小"), tok.pos)
            if {lk, rk} == {NUMBER, TEXT}:
                raise ExpressionError(gettext("数值不能与文本比较"), tok.pos)
            if TEXT in (lk, rk) and op not in ("=", "!="):
                raise ExpressionError(gettext("文本只能比较相等（=）或不等（!=）"), tok.pos)
            return self.set_kind(Compare(op, left, right, tok.pos), BOOL)
        return left

    def additive(self) -> Node:
        left = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            tok = self.advance()
            right = self.term()
            self.need(left, (NUMBER,), gettext("「%(text)s」的左边") % {"text": tok.text})
            self.need(right, (NUMBER,), gettext("「%(text)s」的右边") % {"text": tok.text})
            left = self.set_kind(Binary(tok.text, left, right, tok.pos), NUMBER)
        return left

    def term(self) -> Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in "*/":
            tok = self.advance()
            right = self.unary()
            self.need(left, (NUMBER,), gettext("「%(text)s」的左边") % {"text": tok.text})
            self.need(right, (NUMBER,), gettext("「%(text)s」的右边") % {"text": tok.text})
            left = self.set_kind(Binary(tok.text, left, right, tok.pos), NUMBER)
        return left

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.text in "+-":
            tok = self.advance()
            self.enter(tok.pos)
            try:
                operand = self.unary()
            finally:
                self.leave()
            self.need(operand, (NUMBER,), f"「{tok.text}」")
            return self.set_kind(Unary(tok.text, operand, tok.pos), NUMBER)
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            return self.set_kind(Number(tok.value, tok.pos), NUMBER)
        if tok.kind == "string":
            self.advance()
            return self.set_kind(String(tok.value, tok.pos), TEXT)
        if tok.kind == "cell":
            self.advance()
            self.count_reference(tok.pos)
            form, key = tok.value
            return self.set_kind(CellRef(key, form, tok.pos), ANY)
        if tok.kind == "lparen":
            self.advance()
            node = self.expr()
            self.expect("rparen", "「)」")
            return node
        if tok.kind == "name":
            word = tok.text.upper()
            if word in ("TRUE", "FALSE"):
                self.advance()
                return self.set_kind(Bool(word == "TRUE", tok.pos), BOOL)
            if word in FUNCTIONS:
                return self.call()
            if word in KEYWORDS:
                raise ExpressionError(gettext("「%(text)s」前缺少运算对象") % {"text": tok.text}, tok.pos)
            nxt = self.tokens[self.i + 1]
            if nxt.kind == "lparen":
                raise ExpressionError(gettext("未知的函数「%(value)s」；可用的函数：%(items)s") % {"value": tok.text[:30], "items": '、'.join(FUNCTIONS)}, tok.pos)
            raise ExpressionError(
                gettext("未知的名称「%(value)s」：单元格请写作 [T1.R2.C1]，文本请加引号") % {"value": tok.text[:30]}, tok.pos)
        if tok.kind == "end":
            raise ExpressionError(gettext("表达式不完整：结尾缺少运算对象"), tok.pos)
        raise ExpressionError(gettext("此处不能出现%(shown)s") % {"shown": self.shown(tok)}, tok.pos)

    def count_reference(self, pos: int) -> None:
        self.references += 1
        if self.references > MAX_REFERENCES:
            raise ExpressionError(gettext("引用过多：一个表达式最多 %(max_references)s 个引用") % {"max_references": MAX_REFERENCES}, pos)

    def call(self) -> Node:
        name_tok = self.advance()
        name = name_tok.text.upper()
        self.expect("lparen", gettext("函数 %(name)s 后的「(」") % {"name": name})
        if name == "RECORD":
            return self.record(name_tok)
        args: list[Node] = []
        if self.tok.kind != "rparen":
            while True:
                if self.tok.kind == "name" and self.tokens[self.i + 1].kind == "op" and \
                        self.tokens[self.i + 1].text == "=":
                    raise ExpressionError(gettext("函数 %(name)s 不接受命名参数「%(value)s=」") % {"name": name, "value": self.tok.text[:30]}, self.tok.pos)
                args.append(self.expr())
                if self.tok.kind == "comma":
                    self.advance()
                    continue
                break
        self.expect("rparen", gettext("函数 %(name)s 的「,」或「)」") % {"name": name})
        return self.check_call(name, tuple(args), name_tok.pos)

    def check_call(self, name: str, args: tuple[Node, ...], pos: int) -> Node:
        def arity(low: int, high: int | None) -> None:
            if len(args) < low or (high is not None and len(args) > high):
                want = f"{low}" if low == high else (gettext("至少 %(low)s") % {"low": low} if high is None else f"{low}–{high}")
                raise ExpressionError(gettext("函数 %(name)s 需要 %(want)s 个参数，这里有 %(count)s 个") % {"name": name, "want": want, "count": len(args)}, pos)

        if name in ("SUM", "MIN", "MAX"):
            arity(1, None)
            for arg in args:
                self.need(arg, (NUMBER,), gettext("%(name)s 的参数") % {"name": name})
            kind = NUMBER
        elif name == "ABS":
            arity(1, 1)
            self.need(args[0], (NUMBER,), gettext("ABS 的参数"))
            kind = NUMBER
        elif name == "ROUND":
            arity(1, 2)
            self.need(args[0], (NUMBER,), gettext("ROUND 的第一个参数"))
            if len(args) == 2:
                places = args[1]
                if not (isinstance(places, Number) and places.value == places.value.to_integral_value()
                        and 0 <= places.value <= 10):
                    raise ExpressionError(gettext("ROUND 的第二个参数（小数位数）应为 0–10 的整数"), places.pos)
            kind = NUMBER
        elif name == "IF":
            arity(3, 3)
            self.need(args[0], (BOOL,), gettext("IF 的第一个参数"))
            kinds = {self.kind_of(args[1]), self.kind_of(args[2])} - {ANY}
            kind = kinds.pop() if len(kinds) == 1 else ANY
            if len(kinds) > 1:
                raise ExpressionError(gettext("IF 的两个结果应为同一类型"), pos)
        elif name == "ISBLANK":
            arity(1, 1)
            if not isinstance(args[0], CellRef):
                raise ExpressionError(gettext("ISBLANK 的参数必须是单元格引用，如 ISBLANK([T1.R2.C1])"), args[0].pos)
            kind = BOOL
        elif name == "COALESCE":
            arity(2, None)
            kinds = {self.kind_of(a) for a in args} - {ANY}
            if len(kinds) > 1:
                raise ExpressionError(gettext("COALESCE 的参数应为同一类型"), pos)
            kind = kinds.pop() if kinds else ANY
        else:  # pragma: no cover - FUNCTIONS is closed
            raise ExpressionError(gettext("未知的函数「%(name)s」") % {"name": name}, pos)
        return self.set_kind(Call(name, args, pos), kind)

    def record(self, name_tok: Token) -> Node:
        self.count_reference(name_tok.pos)
        source_tok = self.tok
        if source_tok.kind != "string":
            raise ExpressionError(gettext("RECORD 的第一个参数应为带引号的文本，如 RECORD('measure:teachers') 或 RECORD('staff.staff', gender='2')"), source_tok.pos)
        self.advance()
        dims: list[tuple[str, str]] = []
        positions: list[int] = []
        while self.tok.kind == "comma":
            self.advance()
            dim_tok = self.tok
            if dim_tok.kind != "name" or self.tokens[self.i + 1].kind != "op" or self.tokens[self.i + 1].text != "=":
                raise ExpressionError(gettext("RECORD 的其余参数应写作 维度='值'，如 gender='2'"), dim_tok.pos)
            self.advance()
            self.advance()
            value_tok = self.tok
            if value_tok.kind == "string":
                value = str(value_tok.value)
            elif value_tok.kind == "number" and "." not in value_tok.text:
                value = value_tok.text
            else:
                raise ExpressionError(gettext("维度 %(value)s 的值应为带引号的文本或整数") % {"value": dim_tok.text[:30]}, value_tok.pos)
            self.advance()
            if dim_tok.text in (d for d, _ in dims):
                raise ExpressionError(gettext("维度 %(value)s 重复出现") % {"value": dim_tok.text[:30]}, dim_tok.pos)
            dims.append((dim_tok.text, value))
            positions.append(dim_tok.pos)
        self.expect("rparen", gettext("RECORD 的「,」或「)」"))
        source = str(source_tok.value)
        if self.check_record is not None:
            try:
                self.check_record(source, dims)
            except RecordRefProblem as problem:
                pos = source_tok.pos if problem.dim_index is None else positions[problem.dim_index]
                raise ExpressionError(problem.message, pos) from None
        return self.set_kind(RecordRef(source, tuple(dims), name_tok.pos), NUMBER)


class RecordRefProblem(ValueError):
    """What ``record_refs.check`` raises: a message and which dimension (None: the source)."""

    def __init__(self, message: str, dim_index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.dim_index = dim_index


def _default_record_check(source: str, dims: list[tuple[str, str]]) -> None:
    from eduplatform.reporting import record_refs

    record_refs.check(source, dims)


def parse(text: str, *, check_records: bool = True) -> Parsed:
    """Parse ``text``; raises ``ExpressionError`` (and nothing else) on any problem.

    ``check_records`` validates every RECORD(...) against the roll-up whitelist (needs Django's
    apps); pass False only where the models are not available."""
    try:
        tokens = tokenize(text)
        return _Parser(text, tokens, _default_record_check if check_records else None).parse()
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(gettext("表达式嵌套过深：最多 %(max_depth)s 层") % {"max_depth": MAX_DEPTH}, 0) from None


# --------------------------------------------------------------------------------------------
# References


@dataclass(frozen=True)
class References:
    cells: tuple[str, ...]  # this form's cells, "T1.R2.C1", in order of first use
    other_forms: tuple[tuple[str, str], ...]  # (form code, cell key)
    records: tuple[RecordRef, ...]

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(form for form, _ in self.other_forms))


def walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (Unary, Not)):
            stack.append(current.operand)
        elif isinstance(current, (Binary, Compare, Logical)):
            stack.extend((current.right, current.left))
        elif isinstance(current, Call):
            stack.extend(reversed(current.args))


def references(ast: Node | Parsed) -> References:
    """The cells, other forms' cells and record figures ``ast`` uses (designer, dependency order)."""
    node = ast.ast if isinstance(ast, Parsed) else ast
    cells: dict[str, None] = {}
    others: dict[tuple[str, str], None] = {}
    records: dict[object, RecordRef] = {}
    for current in walk(node):
        if isinstance(current, CellRef):
            if current.form is None:
                cells[current.key] = None
            else:
                others[(current.form, current.key)] = None
        elif isinstance(current, RecordRef):
            records.setdefault(current.key, current)
    return References(tuple(cells), tuple(others), tuple(records.values()))


# --------------------------------------------------------------------------------------------
# Evaluation

CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_UP, Emax=10**6, Emin=-10**6,
                          traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero])


@dataclass
class Environment:
    """Where the evaluator reads references from.

    ``cell(key)`` → this form's value (Decimal, str or BLANK); ``other(form, key)`` → another form's;
    ``record(ref)`` → the school's figure (Decimal). Missing callables raise EvaluationError."""

    cell: Callable[[str], Value]
    other: Callable[[str, str], Value] | None = None
    record: Callable[[RecordRef], Value] | None = None


def _number(value: Value, pos: int) -> decimal.Decimal | None:
    if value is BLANK:
        return decimal.Decimal(0)
    if value is None:
        return None
    if isinstance(value, bool):
        raise EvaluationError(gettext("条件（真/假）不能参与计算"), pos)
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, int):
        return decimal.Decimal(value)
    raise EvaluationError(gettext("文本「%(value)s」不能参与计算") % {"value": str(value)[:20]}, pos)


def _bool(value: Value, pos: int) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    raise EvaluationError(gettext("此处需要条件（真/假）"), pos)


def evaluate(ast: Node | Parsed, env: Environment) -> Value:
    """Value of ``ast``: Decimal, str, bool, BLANK (a blank cell passed through) or None (not
    applicable: a division by zero or a comparison with one)."""
    node = ast.ast if isinstance(ast, Parsed) else ast
    with decimal.localcontext(CONTEXT):
        try:
            return _eval(node, env)
        except EvaluationError:
            raise
        except (decimal.DecimalException, ArithmeticError):
            raise EvaluationError(gettext("计算溢出或无效"), node.pos) from None
        except RecursionError:
            raise EvaluationError(gettext("表达式过于复杂，无法计算"), node.pos) from None


def _eval(node: Node, env: Environment) -> Value:  # noqa: C901 - one branch per node type
    if isinstance(node, Number):
        return node.value
    if isinstance(node, String):
        return node.value
    if isinstance(node, Bool):
        return node.value
    if isinstance(node, CellRef):
        if node.form is None:
            return env.cell(node.key)
        if env.other is None:
            raise EvaluationError(gettext("未提供报表 %(form)s 的数据") % {"form": node.form}, node.pos)
        return env.other(node.form, node.key)
    if isinstance(node, RecordRef):
        if env.record is None:
            raise EvaluationError(gettext("未指定学校，无法读取 RECORD"), node.pos)
        return env.record(node)
    if isinstance(node, Unary):
        value = _number(_eval(node.operand, env), node.pos)
        return None if value is None else (-value if node.op == "-" else +value)
    if isinstance(node, Binary):
        # A long chain (a + b + c …) is a left-deep tree: fold it along its left spine in a loop, so
        # that 500 terms do not need 500 nested Python calls.
        spine: list[Binary] = []
        current: Node = node
        while isinstance(current, Binary):
            spine.append(current)
            current = current.left
        acc = _number(_eval(current, env), current.pos)
        for step in reversed(spine):
            right = _number(_eval(step.right, env), step.right.pos)
            acc = _arithmetic(step.op, acc, right)
        return acc
    if isinstance(node, Compare):
        return _compare(node, _eval(node.left, env), _eval(node.right, env))
    if isinstance(node, Logical):
        left = _bool(_eval(node.left, env), node.left.pos)
        if node.op == "AND" and left is False:
            return False
        if node.op == "OR" and left is True:
            return True
        right = _bool(_eval(node.right, env), node.right.pos)
        if left is None or right is None:
            if node.op == "AND" and right is False:
                return False
            if node.op == "OR" and right is True:
                return True
            return None
        return (left and right) if node.op == "AND" else (left or right)
    if isinstance(node, Not):
        value = _bool(_eval(node.operand, env), node.pos)
        return None if value is None else not value
    if isinstance(node, Call):
        return _call(node, env)
    raise EvaluationError(gettext("无法计算的表达式"), getattr(node, "pos", 0))  # pragma: no cover


def _arithmetic(op: str, left: decimal.Decimal | None, right: decimal.Decimal | None) -> decimal.Decimal | None:
    if left is None or right is None:
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if right == 0:
        return None  # division by zero: not applicable
    return left / right


def _compare(node: Compare, left: Value, right: Value) -> bool | None:
    if left is None or right is None:
        return None
    texts = [v for v in (left, right) if isinstance(v, str)]
    if texts:
        if len(texts) == 1:
            other = right if isinstance(left, str) else left
            if other is BLANK:
                other = ""
            elif isinstance(other, decimal.Decimal):
                other = _plain(other)
            else:
                raise EvaluationError(gettext("文本不能与条件比较"), node.pos)
            a, b = (left, other) if isinstance(left, str) else (other, right)
        else:
            a, b = left, right
        if node.op not in ("=", "!="):
            raise EvaluationError(gettext("文本只能比较相等（=）或不等（!=）"), node.pos)
        return (a == b) if node.op == "=" else (a != b)
    a, b = _number(left, node.left.pos), _number(right, node.right.pos)
    assert a is not None and b is not None
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[node.op]


def _plain(value: decimal.Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _call(node: Call, env: Environment) -> Value:
    name, args = node.name, node.args
    if name == "IF":
        cond = _bool(_eval(args[0], env), args[0].pos)
        if cond is None:
            return None
        return _eval(args[1] if cond else args[2], env)
    if name == "ISBLANK":
        value = _eval(args[0], env)
        return value is BLANK or value == ""
    if name == "COALESCE":
        for arg in args:
            value = _eval(arg, env)
            if value is not BLANK and value is not None and value != "":
                return value
        return BLANK
    numbers = [_number(_eval(arg, env), arg.pos) for arg in args]
    if any(n is None for n in numbers):
        return None
    if name == "SUM":
        return sum(numbers, decimal.Decimal(0))
    if name == "MIN":
        return min(numbers)
    if name == "MAX":
        return max(numbers)
    if name == "ABS":
        return abs(numbers[0])
    if name == "ROUND":
        places = int(numbers[1]) if len(numbers) > 1 else 0
        return numbers[0].quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP)
    raise EvaluationError(gettext("未知的函数「%(name)s」") % {"name": name}, node.pos)  # pragma: no cover


def unparse(node: Node) -> str:
    """Canonical text of an AST (fully parenthesised where needed); parse(unparse(x)) == x's meaning."""
    if isinstance(node, Number):
        return _plain(node.value)
    if isinstance(node, String):
        quote = "'" if "'" not in node.value else '"'
        return f"{quote}{node.value}{quote}"
    if isinstance(node, Bool):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, CellRef):
        return f"[{node.form}:{node.key}]" if node.form else f"[{node.key}]"
    if isinstance(node, Unary):
        return f"{node.op}({unparse(node.operand)})"
    if isinstance(node, (Binary, Compare, Logical)):
        return f"({unparse(node.left)} {node.op} {unparse(node.right)})"
    if isinstance(node, Not):
        return f"NOT ({unparse(node.operand)})"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(unparse(a) for a in node.args)})"
    if isinstance(node, RecordRef):
        parts = [repr(node.source)] + [f"{d}={v!r}" for d, v in node.dims]
        return f"RECORD({', '.join(parts)})"
    raise TypeError(node)  # pragma: no cover
