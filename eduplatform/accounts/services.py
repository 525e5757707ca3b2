"""Writes to accounts: creating users, granting and revoking roles, changing passwords."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from eduplatform.accounts.models import RoleAssignment, User
from eduplatform.accounts.roles import (
    ALLOWED_ORG_KINDS,
    ASSIGN_ROLES,
    MANAGE_USERS,
    SECURITY_DUTIES,
    SECURITY_DUTY_GROUP,
    Role,
    describe_roles,
)
from eduplatform.core.errors import NotPermitted, OutOfScope, ProblemCollector
from eduplatform.history.models import AuditAction
from eduplatform.history.services import diff_fields, record_change
from eduplatform.orgs.models import Organization
from eduplatform.orgs.scope import path_in_scope

USER_LABELS = {
    "username": "用户名",
    "display_name": "姓名",
    "organization": "所属单位",
    "stage_mask": "学段范围",
    "phone": "手机号",
    "is_active": "启用",
}


def _check_password(problems: ProblemCollector, password: str, user: User | None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as err:
        for message in err.messages:
            problems.add("password", "password.policy", message, "密码")


@transaction.atomic
def create_user(
    *,
    actor: User | None,
    username: str,
    password: str,
    organization: Organization,
    display_name: str = "",
    stage_mask: int | None = None,
    phone: str = "",
) -> User:
    """A new account in an organization inside the system administrator's jurisdiction."""
    if actor is not None:
        if not actor.can(MANAGE_USERS):
            raise NotPermitted("只有系统管理员可以新建账号")
        if not path_in_scope(actor, organization.region_path):
            raise OutOfScope("只能在本辖区内的单位新建账号")
    problems = ProblemCollector(f"账号「{username}」")
    username = username.strip()
    if not username:
        problems.add("username", "required", "用户名不能为空", "用户名")
    elif User.objects.filter(username=username).exists():
        problems.add("username", "username.duplicate", f"用户名「{username}」已存在", "用户名")
    candidate = User(username=username, display_name=display_name)
    _check_password(problems, password, candidate)
    problems.raise_if_any()
    user = User(
        username=username,
        display_name=display_name.strip(),
        organization=organization,
        stage_mask=stage_mask,
        phone=phone.strip(),
        password_changed_at=timezone.now(),
    )
    user.set_password(password)
    user.save()
    record_change(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="accounts.user",
        object_id=user.pk,
        object_label=user.audit_name(),
        changes=diff_fields(
            {},
            {
                "username": user.username,
                "display_name": user.display_name,
                "organization": organization.name,
                "stage_mask": user.stage_description,
            },
            USER_LABELS,
        ),
        region_path=organization.region_path,
    )
    return user


@transaction.atomic
def grant_role(*, actor: User | None, user: User, role: str) -> RoleAssignment:
    """Give a role, refusing a second security duty (三员分立) and roles foreign to the user's unit."""
    if actor is not None:
        if not actor.can(ASSIGN_ROLES):
            raise NotPermitted("只有安全管理员可以授予角色")
        if actor.pk == user.pk:
            raise NotPermitted("不能给自己授予角色")
        if user.organization is None or not path_in_scope(actor, user.organization.region_path):
            raise OutOfScope("只能给本辖区内的账号授予角色")
    problems = ProblemCollector(f"账号「{user.username}」")
    try:
        role_enum = Role(role)
    except ValueError:
        problems.add("role", "role.unknown", f"角色「{role}」不存在", "角色")
        problems.raise_if_any()
    held = set(user.role_assignments.values_list("role", flat=True))
    if role_enum in held:
        problems.add("role", "role.held", f"该账号已有「{role_enum.label}」角色", "角色")
    if role_enum in SECURITY_DUTIES:
        other = next((Role(r) for r in held if r in SECURITY_DUTIES and r != role_enum), None)
        if other is not None:
            problems.add(
                "role",
                "role.separation_of_duties",
                f"三员分立：该账号已担任「{other.label}」，不能再担任「{role_enum.label}」",
                "角色",
            )
    org_kind = user.organization.kind if user.organization else None
    if org_kind not in ALLOWED_ORG_KINDS[role_enum]:
        problems.add(
            "role",
            "role.org_kind",
            f"「{role_enum.label}」角色不适用于该账号所属单位类型",
            "角色",
        )
    problems.raise_if_any()
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(
                user=user,
                role=role_enum,
                duty_group=SECURITY_DUTY_GROUP if role_enum in SECURITY_DUTIES else None,
                granted_by=actor,
            )
    except IntegrityError:
        # A concurrent grant won the race; the constraint is the last line of 三员分立.
        problems.add("role", "role.separation_of_duties", "三员分立：该账号已担任另一安全职责", "角色")
        problems.raise_if_any()
    user.__dict__.pop("role_set", None)
    record_change(
        actor=actor,
        action=AuditAction.GRANT_ROLE,
        object_type="accounts.user",
        object_id=user.pk,
        object_label=user.audit_name(),
        changes={"roles": {"label": "角色", "before": describe_roles(held),
                           "after": describe_roles(held | {role_enum})}},
        region_path=user.organization.region_path if user.organization else "",
    )
    return assignment


@transaction.atomic
def revoke_role(*, actor: User, user: User, role: str) -> None:
    if not actor.can(ASSIGN_ROLES):
        raise NotPermitted("只有安全管理员可以撤销角色")
    held = set(user.role_assignments.values_list("role", flat=True))
    user.role_assignments.filter(role=role).delete()
    user.__dict__.pop("role_set", None)
    record_change(
        actor=actor,
        action=AuditAction.REVOKE_ROLE,
        object_type="accounts.user",
        object_id=user.pk,
        object_label=user.audit_name(),
        changes={"roles": {"label": "角色", "before": describe_roles(held),
                           "after": describe_roles(held - {role})}},
        region_path=user.organization.region_path if user.organization else "",
    )


@transaction.atomic
def change_password(*, user: User, old_password: str, new_password: str) -> None:
    problems = ProblemCollector(f"账号「{user.username}」")
    if not user.check_password(old_password):
        problems.add("old_password", "password.wrong", "原密码不正确", "原密码")
    if old_password == new_password:
        problems.add("password", "password.same", "新密码不能与原密码相同", "新密码")
    _check_password(problems, new_password, user)
    problems.raise_if_any()
    user.set_password(new_password)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    record_change(
        actor=user,
        action=AuditAction.UPDATE,
        object_type="accounts.user",
        object_id=user.pk,
        object_label=user.audit_name(),
        changes={"password": {"label": "密码", "before": "******", "after": "******（已修改）"}},
        region_path=user.organization.region_path if user.organization else "",
    )
