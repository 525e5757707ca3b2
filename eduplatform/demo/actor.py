"""Who the demo generators act as when they write through the services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eduplatform.orgs.models import Organization


@dataclass
class GeneratorActor:
    """The generator acting as one school's own clerk, holding just one capability.

    Its organization is the school itself, so ``scope_of`` narrows it to that one school and the
    services' writer checks pass for the same reason a clerk's would; it may do nothing else.
    """

    organization: Organization
    capability: str
    pk: Any = None
    stage_mask: int | None = None
    is_authenticated: bool = True

    @property
    def organization_id(self) -> int:
        return self.organization.pk

    def can(self, capability: str) -> bool:
        return capability == self.capability

    def audit_name(self) -> str:
        return "演示数据生成"

    def audit_org(self) -> tuple[int | None, str]:
        return self.organization.pk, self.organization.name
