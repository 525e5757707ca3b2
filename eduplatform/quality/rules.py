"""The data-quality rules: one registry, each rule with a code, a Chinese title and description, a
severity, the base database and fields it concerns, and how it is checked.

A rule is checked in background scans over a region (``scan``: set-based, many records at once) and,
where it concerns one record, also right after that record is written (``record``: the same rule for
a handful of ids, so fixing a record closes its issue at once). A finding names the object and the
school that must act; ``issues.sync_findings`` turns findings into issues (one live issue per
fingerprint).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eduplatform.quality.models import Database, Severity


@dataclass(frozen=True)
class ScanScope:
    """What a scan covers: every school under ``region_path`` (a prefix), or only ``school_ids``."""

    region_path: str
    school_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Finding:
    rule: str
    school_id: int
    region_path: str  # the school's
    object_type: str  # "students.student", "staff.staffmember", "students.schoolclass", "orgs.organization" …
    object_id: int | None
    object_label: str  # e.g. "张三（G440106…）"; personal identifiers masked
    message: str  # Chinese: what is wrong and what is allowed
    fields: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)  # the values found (masked)
    key: str = ""  # tells apart findings of one rule on one object (e.g. which field is missing)
    group: str = ""  # the same finding seen from several schools (a duplicate person)
    stage_mask: int = 0  # the school's

    @property
    def fingerprint(self) -> str:
        return f"{self.rule}:{self.object_type}:{self.object_id or 0}:{self.key}"[:200]


@dataclass(frozen=True)
class Rule:
    code: str  # e.g. "S_ID_INVALID"
    title: str  # Chinese, short: 「身份证件号校验不通过」
    description: str  # Chinese: what it checks and why
    severity: Severity
    database: Database
    fields: tuple[str, ...]
    # Set-based check over a scope (background scans).
    scan: Callable[[ScanScope], Iterable[Finding]]
    # The same rule for a few records of ``object_type`` (write time); None for scan-only rules.
    record: Callable[[Sequence[int]], Iterable[Finding]] | None = None
    object_type: str = ""  # what ``record`` takes ids of
    kind: str = "identity"  # identity | plausibility | consistency | completeness
    # Where the rule's time goes: "python" (it judges the scan's one read of its pupils in the
    # process: decrypted ID numbers, ages) or "database" (joins and counts in PostgreSQL). A scan runs the two kinds side by side (engine.py).
    work: str = "database"


RULES: dict[str, Rule] = {}


def register(rule: Rule) -> Rule:
    if rule.code in RULES:
        raise ValueError(f"quality rule {rule.code!r} registered twice")
    RULES[rule.code] = rule
    return rule


def rules_for(codes: Iterable[str] | None = None) -> list[Rule]:
    """The rules named (every rule when ``codes`` is empty), in registry order; an unknown code is an error."""
    if not codes:
        return list(RULES.values())
    wanted = list(codes)
    unknown = [c for c in wanted if c not in RULES]
    if unknown:
        raise KeyError(f"unknown quality rules: {', '.join(unknown)}")
    return [RULES[c] for c in wanted]
