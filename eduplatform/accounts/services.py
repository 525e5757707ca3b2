"""Writes to accounts: creating users, granting and revoking roles, changing passwords."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, pgettext

from eduplatform.accounts.models import RoleAssignment, User
from eduplatform.accounts.roles import (
    ALLOWED_ORG_KINDS,
    ASSIGN_ROLES,
    BUSINESS_ROLES,
    MANAGE_USERS,
    SECURITY_DUTIES,
    SECURITY_DUTY_GROUP,
    TWO_FACTOR_ROLES,
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
            problems.add("password", "password.policy", message, gettext("密码"))


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
    must_change_password: bool | None = None,
) -> User:
    """A new account in an organization inside the system administrator's jurisdiction.

    An account an administrator creates must change its initial password at first login; accounts
    made by the platform itself (actor None: loaders, the demo, tests) only if asked to."""
    if must_change_password is None:
        must_change_password = actor is not None
    if actor is not None:
        if not actor.can(MANAGE_USERS):
            raise NotPermitted(gettext("只有系统管理员可以新建账号"))
        if not path_in_scope(actor, organization.region_path):
            raise OutOfScope(gettext("只能在本辖区内的单位新建账号"))
    problems = ProblemCollector(gettext("账号「%(username)s」") % {"username": username})
    username = username.strip()
    if not username:
        problems.add("username", "required", gettext("用户名不能为空"), gettext("用户名"))
    elif User.objects.filter(username=username).exists():
        problems.add("username", "username.duplicate", gettext("用户名「%(username)s」已存在") % {"username": username}, gettext("用户名"))
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
        must_change_password=must_change_password,
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
            raise NotPermitted(gettext("只有安全管理员可以授予角色"))
        if actor.pk == user.pk:
            raise NotPermitted(gettext("不能给自己授予角色"))
        if user.organization is None or not path_in_scope(actor, user.organization.region_path):
            raise OutOfScope(gettext("只能给本辖区内的账号授予角色"))
    problems = ProblemCollector(gettext("账号「%(username)s」") % {"username": user.username})
    try:
        role_enum = Role(role)
    except ValueError:
        problems.add("role", "role.unknown", gettext("角色「%(role)s」不存在") % {"role": role}, gettext("角色"))
        problems.raise_if_any()
    held = set(user.role_assignments.values_list("role", flat=True))
    if role_enum in held:
        problems.add("role", "role.held", gettext("该账号已有「%(label)s」角色") % {"label": role_enum.label}, gettext("角色"))
    if role_enum in SECURITY_DUTIES:
        other = next((Role(r) for r in held if r in SECURITY_DUTIES and r != role_enum), None)
        if other is not None:
            problems.add(
                "role",
                "role.separation_of_duties",
                gettext("三员分立：该账号已担任「%(label)s」，不能再担任「%(label2)s」") % {"label": other.label, "label2": role_enum.label},
                gettext("角色"),
            )
    if role_enum in BUSINESS_ROLES and held & SECURITY_DUTIES:
        duty = next(Role(r) for r in held if r in SECURITY_DUTIES)
        problems.add(
            "role",
            "role.separation_of_duties",
            gettext("三员分立：该账号担任「%(label)s」，不能再授予业务角色「%(label2)s」（安全职责账号不得查看或办理业务数据）") % {"label": duty.label, "label2": role_enum.label},
            gettext("角色"),
        )
    elif role_enum in SECURITY_DUTIES and held & BUSINESS_ROLES:
        business = next(Role(r) for r in Role if r in held and r in BUSINESS_ROLES)
        problems.add(
            "role",
            "role.separation_of_duties",
            gettext("三员分立：该账号持有业务角色「%(label)s」，不能再担任「%(label2)s」") % {"label": business.label, "label2": role_enum.label},
            gettext("角色"),
        )
    org_kind = user.organization.kind if user.organization else None
    if org_kind not in ALLOWED_ORG_KINDS[role_enum]:
        problems.add(
            "role",
            "role.org_kind",
            gettext("「%(label)s」角色不适用于该账号所属单位类型") % {"label": role_enum.label},
            gettext("角色"),
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
    except (IntegrityError, DatabaseError):
        # A concurrent grant won the race; the constraint and the trigger of migration 0002 are
        # the last line of 三员分立.
        problems.add("role", "role.separation_of_duties", gettext("三员分立：该账号已担任另一安全职责"), gettext("角色"))
        problems.raise_if_any()
    user.__dict__.pop("role_set", None)
    if role_enum in TWO_FACTOR_ROLES:
        # The user's open sessions were started without the second factor this role now requires.
        _end_sessions(user)
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
        raise NotPermitted(gettext("只有安全管理员可以撤销角色"))
    if actor.pk == user.pk and role in SECURITY_DUTIES:
        raise NotPermitted(gettext("不能撤销自己的安全职责角色，请由另一名安全管理员办理"))
    if role == Role.SECURITY_ADMIN:
        _keep_a_security_admin(excluding=user, what=pgettext("action refused", "撤销该账号的安全管理员角色"))
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


def active_security_admins():
    """Accounts that can act as security administrator now: active, not sealed."""
    return User.objects.filter(
        role_assignments__role=Role.SECURITY_ADMIN, is_active=True, sealed_at__isnull=True
    )


def _keep_a_security_admin(*, excluding: User, what: str) -> None:
    """Refuse a change that would leave the platform with no active security administrator, who
    alone can grant roles, unlock and unseal accounts. Locks the security administrators' rows so
    two administrators revoking each other at once cannot both pass."""
    admins = list(active_security_admins().select_for_update().values_list("pk", flat=True))
    if not [pk for pk in admins if pk != excluding.pk]:
        raise NotPermitted(gettext("不能%(what)s：平台必须至少保留一名在用的安全管理员") % {"what": what})


@transaction.atomic
def change_password(*, user: User, old_password: str, new_password: str) -> None:
    problems = ProblemCollector(gettext("账号「%(username)s」") % {"username": user.username})
    if not user.check_password(old_password):
        problems.add("old_password", "password.wrong", gettext("原密码不正确"), gettext("原密码"))
    if old_password == new_password:
        problems.add("password", "password.same", gettext("新密码不能与原密码相同"), gettext("新密码"))
    _check_password(problems, new_password, user)
    problems.raise_if_any()
    user.set_password(new_password)
    user.password_changed_at = timezone.now()
    user.must_change_password = False
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    record_change(
        actor=user,
        action=AuditAction.UPDATE,
        object_type="accounts.user",
        object_id=user.pk,
        object_label=user.audit_name(),
        changes={"password": {"label": "密码", "before": "******", "after": "******（已修改）"}},
        region_path=user.organization.region_path if user.organization else "",
    )


# --- authentication administration (issue 17) ------------------------------------------------------


def _user_path(user: User) -> str:
    return user.organization.region_path if user.organization_id else ""


def _audit_account(actor: User | None, user: User, field: str, label: str, before: str, after: str,
                   note: str = "") -> None:
    record_change(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="accounts.user",
        object_id=user.pk,
        object_label=user.audit_name(),
        changes={field: {"label": label, "before": before, "after": after}},
        region_path=_user_path(user),
        note=note,
    )


def _require_security_admin(actor: User, target: User, what: str) -> None:
    if not actor.can(ASSIGN_ROLES):
        raise NotPermitted(gettext("只有安全管理员可以%(what)s") % {"what": what})
    if target.organization is not None and not path_in_scope(actor, target.organization.region_path):
        raise OutOfScope(gettext("只能管理本辖区内的账号"))


def _end_sessions(user: User, *, keep: str | None = None) -> int:
    """Delete the user's sessions (all but ``keep``); returns how many were open."""
    from django.contrib.sessions.models import Session

    from eduplatform.accounts.models import UserSession

    rows = UserSession.objects.filter(user=user)
    if keep:
        rows = rows.exclude(session_key=keep)
    keys = list(rows.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    rows.delete()
    return len(keys)


@transaction.atomic
def reset_password(*, actor: User, user: User, password: str) -> None:
    """The system administrator sets a new password for someone who forgot theirs; the owner must
    change it at the next login, and any open session of the account ends."""
    if not actor.can(MANAGE_USERS):
        raise NotPermitted(gettext("只有系统管理员可以重置密码"))
    if actor.pk == user.pk:
        raise NotPermitted(gettext("不能重置自己的密码，请使用「修改密码」"))
    if user.organization is None or not path_in_scope(actor, user.organization.region_path):
        raise OutOfScope(gettext("只能重置本辖区内账号的密码"))
    problems = ProblemCollector(gettext("账号「%(username)s」") % {"username": user.username})
    _check_password(problems, password, user)
    problems.raise_if_any()
    user.set_password(password)
    user.password_changed_at = timezone.now()
    user.must_change_password = True
    user.save(update_fields=["password", "password_changed_at", "must_change_password"])
    _end_sessions(user)
    _audit_account(actor, user, "password", "密码", "******", "******（管理员重置，须本人修改）")


@transaction.atomic
def confirm_two_factor(*, user: User, device, token: str) -> bool:
    """Enrolment: the first correct code from the authenticator app confirms the device; an earlier
    confirmed device of the user is replaced."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if device.user_id != user.pk or device.confirmed:
        raise NotPermitted(gettext("该验证器不属于当前账号"))
    if not device.verify_token(token.strip()):
        return False
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    _audit_account(user, user, "two_factor", "双因素认证", "未绑定", "已绑定身份验证器")
    return True


@transaction.atomic
def reset_two_factor(*, actor: User, user: User) -> None:
    """Recovery for a lost phone: the security administrator removes the user's authenticator; the
    user enrols a new one at the next login (required roles cannot skip it)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _require_security_admin(actor, user, pgettext("action refused", "重置双因素认证"))
    if actor.pk == user.pk:
        raise NotPermitted(gettext("不能重置自己的双因素认证，请由另一名安全管理员办理"))
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    _end_sessions(user)
    _audit_account(actor, user, "two_factor", "双因素认证", "已绑定" if removed else "未绑定", "已重置（须重新绑定）")


def dormant_accounts(*, days: int, now=None):
    """Person accounts with no login (nor creation, nor unsealing) in the last ``days`` days."""
    from django.db.models import F
    from django.db.models.functions import Coalesce, Greatest

    from eduplatform.accounts.models import SERVICE_ACCOUNT_PREFIX

    cutoff = (now or timezone.now()) - timezone.timedelta(days=days)
    basis = Greatest(
        Coalesce("last_login", F("date_joined")), F("date_joined"), Coalesce("unsealed_at", F("date_joined"))
    )
    return (User.objects.filter(is_active=True, sealed_at__isnull=True)
            .exclude(username__startswith=SERVICE_ACCOUNT_PREFIX)
            .annotate(activity_basis=basis).filter(activity_basis__lt=cutoff))


@transaction.atomic
def seal_dormant_accounts(*, days: int, now=None) -> list[User]:
    """长期未使用账号封存: seal accounts unused for ``days`` days. The last active security
    administrator is never sealed, or nobody could unseal anyone."""
    now = now or timezone.now()
    sealed: list[User] = []
    for user in dormant_accounts(days=days, now=now).select_related("organization").order_by("pk"):
        if Role.SECURITY_ADMIN in user.role_set:
            others = active_security_admins().select_for_update().exclude(pk=user.pk)
            if not others.exists():
                continue
        user.sealed_at = now
        user.save(update_fields=["sealed_at"])
        _end_sessions(user)
        _audit_account(None, user, "sealed", "账号状态", "正常", "已封存",
                       note=f"超过 {days} 天未登录，自动封存")
        sealed.append(user)
    return sealed


@transaction.atomic
def unseal_account(*, actor: User, user: User) -> None:
    _require_security_admin(actor, user, pgettext("action refused", "解封账号"))
    if user.sealed_at is None:
        return
    user.sealed_at = None
    user.unsealed_at = timezone.now()
    user.save(update_fields=["sealed_at", "unsealed_at"])
    _audit_account(actor, user, "sealed", "账号状态", "已封存", "正常（已解封）")


@transaction.atomic
def end_session(*, actor: User, session) -> None:
    """End one session: the user's own, or anyone's in scope for the security administrator."""
    from django.contrib.sessions.models import Session

    owner = session.user
    if actor.pk != owner.pk:
        _require_security_admin(actor, owner, pgettext("action refused", "结束他人的登录会话"))
    Session.objects.filter(session_key=session.session_key).delete()
    session.delete()
    _audit_account(actor, owner, "session", "登录会话", f"{session.ip_address} 在线", "已结束",
                   note="本人结束会话" if actor.pk == owner.pk else "安全管理员结束会话")


@transaction.atomic
def end_all_sessions(*, actor: User, user: User, keep: str | None = None) -> int:
    if actor.pk != user.pk:
        _require_security_admin(actor, user, pgettext("action refused", "结束他人的登录会话"))
    count = _end_sessions(user, keep=keep)
    _audit_account(actor, user, "session", "登录会话", f"{count} 个在线", "已全部结束")
    return count


@transaction.atomic
def unlock(*, actor: User, username: str, ip_address: str | None) -> int:
    """Clear a lockout of (account, source) — or of every source of the account when ip is None."""
    from axes.models import AccessAttempt

    target = User.objects.filter(username=username).select_related("organization").first()
    if not actor.can(ASSIGN_ROLES):
        raise NotPermitted(gettext("只有安全管理员可以解除锁定"))
    if target is not None and target.organization is not None and not path_in_scope(
            actor, target.organization.region_path):
        raise OutOfScope(gettext("只能解锁本辖区内的账号"))
    attempts = AccessAttempt.objects.filter(username=username)
    if ip_address:
        attempts = attempts.filter(ip_address=ip_address)
    count = attempts.delete()[0]
    record_change(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type="accounts.user",
        object_id=target.pk if target else "",
        object_label=target.audit_name() if target else username,
        changes={"lockout": {"label": "登录锁定", "before": f"锁定（来源 {ip_address or '全部'}）", "after": "已解除"}},
        region_path=_user_path(target) if target else "",
    )
    return count
