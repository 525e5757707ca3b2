"""Data-quality issues and scans outside each group's reach: an issue (with the school's explanation) at the group's outside school and a scan of that school's region, named with the
group's leak marker."""

from __future__ import annotations

from tests.scope_records import marker_for, outside_school
from tests.world import World


def outside_records(world: World, group: str) -> dict[str, str | None]:
    from eduplatform.quality.models import IssueStatus, QualityIssue, QualityScan

    school = outside_school(world, group)
    marker = marker_for(group)
    issue = QualityIssue.objects.create(
        rule="S_ID_INVALID", severity="error", database="students", status=IssueStatus.EXPLAINED,
        school=school, region_path=school.region_path, stage_mask=school.stage_mask,
        object_type="orgs.organization", object_id=school.pk, object_label=f"{marker}记录",
        fingerprint=f"S_ID_INVALID:scope:{school.pk}:{group}", message=f"{marker}的问题",
        explanation=f"{marker}的说明", evidence={"name": marker})
    scan = QualityScan.objects.create(region_path=school.region_path, rules=["S_ID_INVALID"])
    return {"issue_id": str(issue.pk), "scan_id": str(scan.pk)}
