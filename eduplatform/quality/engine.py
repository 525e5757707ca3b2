"""Running the rules: every scan rule over a scope, or the record rules of one record type for a
few ids (right after they are written). What to do with the findings is ``issues.sync_findings``'s.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from eduplatform.quality import checks  # noqa: F401  (registers every rule)
from eduplatform.quality.checks.base import caching
from eduplatform.quality.rules import Finding, ScanScope, rules_for


def scan_findings(scope: ScanScope, codes: list[str] | None = None) -> Iterator[Finding]:
    """Every finding of the rules ``codes`` (all rules when empty) over the scope's schools."""
    rules = rules_for(codes)
    with caching():  # what two rules of this run read alike is read once
        for rule in rules:
            yield from rule.scan(scope)


def record_findings(object_type: str, ids: Sequence[int]) -> tuple[list[str], list[Finding]]:
    """The record rules that check ``object_type`` (their codes) and what they find for ``ids``.

    Findings are about those records, except the completeness rules': they count a field per school,
    so theirs are about the records' schools (``orgs.organization``)."""
    ids = [int(i) for i in ids]
    wanted = [r for r in rules_for(None) if r.record is not None and r.object_type == object_type]
    found: list[Finding] = []
    if ids:
        for rule in wanted:
            found.extend(rule.record(ids))
    return [r.code for r in wanted], found
