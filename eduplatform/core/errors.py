"""Errors that services raise for people: which record, which field, what was wrong, what is allowed.

A service collects every problem it finds with one input before raising, so a user fixes a form or
a spreadsheet row in one pass. Views turn the error into form messages, the API into an RFC 9457
problem document; both show the same Chinese ``message`` and stable machine ``code``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext

from eduplatform.standards.validators import mask_id_number, mask_student_number, redact_identifiers

# Problems end up on pages, in API problem documents, in import reports kept with the job and in
# logs: none of them may repeat a full ID number (or a G 学籍号, which is one), whoever wrote the
# message. Both problem types mask on construction, so no caller can forget it.
_MASK_VALUE = {"id_number": mask_id_number, "student_number": mask_student_number}


@dataclass(frozen=True)
class FieldProblem:
    field: str  # machine name of the field, e.g. "school_type_code"
    code: str  # stable machine code, e.g. "code.unknown"
    message: str  # Chinese, names the field, the bad value and what is allowed
    label: str = ""  # Chinese field label, e.g. "办学类型"

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact_identifiers(self.message))


@dataclass
class RecordInvalid(Exception):
    """One record failed validation; nothing of it was written."""

    record: str  # how a person recognises the record, e.g. "学校「广州市第一中学」"
    problems: list[FieldProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.record = redact_identifiers(self.record)

    def __str__(self) -> str:
        details = "；".join(p.message for p in self.problems)
        return f"{self.record}：{details}" if self.record else details

    def by_field(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for problem in self.problems:
            out.setdefault(problem.field, []).append(problem.message)
        return out


class OutOfScope(Exception):
    """The actor tried to read or write something outside its jurisdiction.

    Pages answer 404 for reads (so existence is not revealed) and 403 for writes into a
    place the actor can see but may not change.
    """

    def __init__(self, message: str | None = None) -> None:
        message = gettext("该记录不在您的管辖范围内") if message is None else message
        super().__init__(message)
        self.message = message


class NotPermitted(Exception):
    """The actor's roles do not allow the action."""

    def __init__(self, message: str | None = None) -> None:
        message = gettext("您的角色无权执行此操作") if message is None else message
        super().__init__(message)
        self.message = message


class ProblemCollector:
    """Gathers field problems while a service checks an input, then raises them together."""

    def __init__(self, record: str) -> None:
        self.record = record
        self.problems: list[FieldProblem] = []

    def add(self, field_name: str, code: str, message: str, label: str = "") -> None:
        self.problems.append(FieldProblem(field_name, code, message, label))

    def has(self, field_name: str) -> bool:
        return any(p.field == field_name for p in self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise RecordInvalid(self.record, list(self.problems))


@dataclass(frozen=True)
class RowProblem:
    """One problem with one row of a batch (a spreadsheet row, an API batch item)."""

    row: int  # spreadsheet row number (1-based, as Excel shows it) or batch position
    field: str
    label: str  # the column header as the user knows it
    value: str
    message: str

    def __post_init__(self) -> None:
        if isinstance(self.value, str) and self.value:
            mask = _MASK_VALUE.get(self.field)
            object.__setattr__(self, "value", mask(self.value) if mask else redact_identifiers(self.value))
        object.__setattr__(self, "message", redact_identifiers(self.message))

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "field": self.field, "column": self.label, "value": self.value,
                "message": self.message}


class BatchInvalid(Exception):
    """A batch was rejected as a whole; nothing of it was written."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(gettext("%(count)s 行有错误，未写入任何数据") % {"count": len({p.row for p in problems})})
        self.problems = problems
