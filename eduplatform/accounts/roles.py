"""Roles, the capabilities they grant, and the separation of the three security duties (三员分立)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from eduplatform.orgs import capabilities as orgcap
from eduplatform.orgs.models import OrgKind

MANAGE_USERS = "accounts.manage_users"
ASSIGN_ROLES = "accounts.assign_roles"
VIEW_AUDIT = "accounts.view_audit"
VIEW_SENSITIVE = "records.view_sensitive"  # unmasked ID numbers and phones (audited each time)


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    SECURITY_AUDITOR = "security_auditor", _("安全审计员")
    PROVINCE_OFFICER = "province_officer", _("省级业务人员")
    STATISTICIAN = "statistician", _("统计员")
    REVIEWER = "reviewer", _("审核员")
    SCHOOL_CLERK = "school_clerk", _("学校数据管理员")
    PRINCIPAL = "principal", _("校长（只读）")


# 三员分立: system administration, security administration and security audit are separate duties;
# no account may hold two of them (enforced by a partial unique constraint on RoleAssignment).
SECURITY_DUTIES = {Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.SECURITY_AUDITOR}
SECURITY_DUTY_GROUP = "security_duty"
# Everything else is a business role. 三员分立 also means a security-duty account holds none of them
# and reads no business records: refused in services.grant_role and by a database trigger
# (migration 0002), and no security duty has a record-reading capability below.
BUSINESS_ROLES = {r for r in Role} - SECURITY_DUTIES
# Roles whose holders must log in with a second factor (TOTP); so must anyone in a province unit
# (accounts.twofactor.requires_two_factor).
TWO_FACTOR_ROLES = SECURITY_DUTIES | {Role.PROVINCE_OFFICER}

CAPABILITIES: dict[str, set[str]] = {
    # No VIEW_RECORDS: the system administrator manages accounts and the region tree, never the
    # students, staff or reports in it (三员分立, issue 17).
    Role.SYSTEM_ADMIN: {MANAGE_USERS, orgcap.MANAGE_REGIONS},
    Role.SECURITY_ADMIN: {ASSIGN_ROLES, orgcap.MANAGE_API_CLIENTS},
    Role.SECURITY_AUDITOR: {VIEW_AUDIT},
    Role.PROVINCE_OFFICER: {
        orgcap.VIEW_RECORDS, orgcap.MANAGE_SCHOOLS, VIEW_SENSITIVE, orgcap.EDIT_ADMINISTRATORS, orgcap.TAKE_SNAPSHOTS,
        orgcap.EDIT_FUNDING_RATES, orgcap.DESIGN_FORMS, orgcap.MANAGE_REPORT_TASKS, orgcap.REVIEW_REPORTS,
        orgcap.REVIEW_QUALITY,
    },
    Role.STATISTICIAN: {
        orgcap.VIEW_RECORDS, orgcap.MANAGE_SCHOOLS, orgcap.EDIT_STUDENTS, orgcap.REVIEW_STUDENT_CHANGES,
        orgcap.PROMOTE_STUDENTS, orgcap.EDIT_STAFF, orgcap.REVIEW_STAFF_CHANGES, orgcap.EDIT_ADMINISTRATORS,
        orgcap.EDIT_FACILITIES, orgcap.EDIT_ASSETS, orgcap.MANAGE_REPORT_TASKS, orgcap.REVIEW_REPORTS,
        orgcap.REVIEW_QUALITY,
    },
    Role.REVIEWER: {orgcap.VIEW_RECORDS, orgcap.REVIEW_STUDENT_CHANGES, orgcap.REVIEW_STAFF_CHANGES, orgcap.REVIEW_REPORTS,
                    orgcap.REVIEW_QUALITY},
    Role.SCHOOL_CLERK: {
        orgcap.VIEW_RECORDS, orgcap.EDIT_OWN_SCHOOL, VIEW_SENSITIVE, orgcap.EDIT_STUDENTS, orgcap.PROMOTE_STUDENTS,
        orgcap.EDIT_STAFF, orgcap.EDIT_FACILITIES, orgcap.EDIT_ASSETS, orgcap.FILL_REPORTS, orgcap.RESOLVE_QUALITY,
    },
    Role.PRINCIPAL: {orgcap.VIEW_RECORDS},
}

# Which organizations a role's holder may belong to.
ALLOWED_ORG_KINDS: dict[str, set[str]] = {
    Role.SYSTEM_ADMIN: {OrgKind.DEPARTMENT, OrgKind.DIVISION, OrgKind.BUREAU},
    Role.SECURITY_ADMIN: {OrgKind.DEPARTMENT, OrgKind.DIVISION, OrgKind.BUREAU},
    Role.SECURITY_AUDITOR: {OrgKind.DEPARTMENT, OrgKind.DIVISION, OrgKind.BUREAU},
    Role.PROVINCE_OFFICER: {OrgKind.DEPARTMENT, OrgKind.DIVISION},
    Role.STATISTICIAN: {OrgKind.BUREAU},
    Role.REVIEWER: {OrgKind.BUREAU},
    Role.SCHOOL_CLERK: {OrgKind.SCHOOL},
    Role.PRINCIPAL: {OrgKind.SCHOOL},
}


def capabilities_of(roles: set[str]) -> set[str]:
    caps: set[str] = set()
    for role in roles:
        caps |= CAPABILITIES.get(role, set())
    return caps


def describe_roles(roles: set[str]) -> str:
    """Role names in the order of ``Role``, for audit entries and pages."""
    return "、".join(str(r.label) for r in Role if r in roles)
