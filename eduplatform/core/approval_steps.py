"""What a second decision on an approval step is told: who settled the step and when.

Student change requests (students/approvals.py) and staff transfers (staff/transfers.py) move through
the same kind of steps (``waiting → pending → approved | returned``); a double click or a colleague's
earlier decision must get the same clear answer in both, so the wording lives here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

SETTLED = ("approved", "returned")  # StepDecision values of a decided step, in both apps
PENDING = "pending"  # the request's own status while its steps are open, in both apps


def closed_step_message(what: str, record: Any, step: Any) -> str:
    """Why ``step`` of ``record`` (a request or transfer, called ``what``) can no longer be decided."""
    if step.decision in SETTLED:
        return (f"{what}的「{step.title}」环节已由 {step.decided_by} 于 "
                f"{timezone.localtime(step.decided_at):%Y-%m-%d %H:%M} {step.get_decision_display()}，无需重复操作")
    if record.status != PENDING:
        closed = f" 于 {timezone.localtime(record.closed_at):%Y-%m-%d %H:%M} " if record.closed_at else ""
        return f"{what}已{closed}{record.get_status_display()}，无需再审核"
    return f"{what}的「{step.title}」环节尚未轮到，请等待前序环节审核"


def settled_for(organization_id: int | None, what: str, record: Any, steps: Sequence[Any]) -> str:
    """What a repeated decision of this organization is told once its step is settled ("" if none)."""
    mine = [s for s in steps if s.organization_id == organization_id]
    decided = [s for s in mine if s.decision in SETTLED]
    if decided:
        return closed_step_message(what, record, decided[-1])
    return closed_step_message(what, record, mine[-1]) if mine and record.status != PENDING else ""
