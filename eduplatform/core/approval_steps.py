"""What a second decision on an approval step is told: who settled the step and when.

Student change requests (students/approvals.py) and staff transfers (staff/transfers.py) move through
the same kind of steps (``waiting → pending → approved | returned``); a double click or a colleague's
earlier decision must get the same clear answer in both, so the wording lives here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext

SETTLED = ("approved", "returned")  # StepDecision values of a decided step, in both apps
PENDING = "pending"  # the request's own status while its steps are open, in both apps


def closed_step_message(what: str, record: Any, step: Any) -> str:
    """Why ``step`` of ``record`` (a request or transfer, called ``what``) can no longer be decided."""
    if step.decision in SETTLED:
        return gettext("%(what)s的「%(step)s」环节已由 %(by)s 于 %(at)s %(decision)s，无需重复操作") % {
            "what": what, "step": step.title, "by": step.decided_by,
            "at": f"{timezone.localtime(step.decided_at):%Y-%m-%d %H:%M}", "decision": step.get_decision_display()}
    if record.status != PENDING:
        if record.closed_at:
            return gettext("%(what)s已于 %(at)s %(status)s，无需再审核") % {
                "what": what, "at": f"{timezone.localtime(record.closed_at):%Y-%m-%d %H:%M}",
                "status": record.get_status_display()}
        return gettext("%(what)s已%(status)s，无需再审核") % {"what": what, "status": record.get_status_display()}
    return gettext("%(what)s的「%(step)s」环节尚未轮到，请等待前序环节审核") % {"what": what, "step": step.title}


def settled_for(organization_id: int | None, what: str, record: Any, steps: Sequence[Any]) -> str:
    """What a repeated decision of this organization is told once its step is settled ("" if none)."""
    mine = [s for s in steps if s.organization_id == organization_id]
    decided = [s for s in mine if s.decision in SETTLED]
    if decided:
        return closed_step_message(what, record, decided[-1])
    return closed_step_message(what, record, mine[-1]) if mine and record.status != PENDING else ""
