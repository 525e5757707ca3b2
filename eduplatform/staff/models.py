"""The staff (教职工) base database and the education administrators (教育管理人员) database.

A ``StaffMember`` is one person's post at one unit — a school, a bureau or the department (or one of
its divisions). A person holds at most one *active* post at a time, anywhere in the province:
enforced by a partial unique index on the blind index of the ID number, so neither two units
hiring at once nor a bulk import can put a person on two active staff lists. Leaving a post (a
transfer, retirement, resignation) closes it; a transfer opens the new post in the same
transaction. The staff number (教职工号) follows the person for life: every post of the person
carries the same number.

Education administrators are staff flagged ``is_administrator``: everyone employed by a bureau or
the department, plus school leaders (校领导); they carry position, rank, department and duties.

Each row carries ``region_path``, ``unit_kind`` and ``stage_mask`` of its unit, so the scope filter
needs no join and narrows stage-limited officers only for school staff.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields
from eduplatform.orgs.models import Organization


class StaffStatus(models.TextChoices):
    """教职工当前状态 (JY/T 1001 jzgdqzt): the codes a post can end in, and the active ones."""

    RETIRED = "01", _("退休")
    RETIRED_CADRE = "02", _("离休")
    DECEASED = "03", _("死亡")
    TRANSFERRED_OUT = "05", _("调出")
    RESIGNED = "06", _("辞职")
    LEFT = "07", _("离职")
    DISMISSED = "08", _("开除")
    SERVING = "11", _("在职")
    EXTENDED = "12", _("延聘")
    LONG_SICK_LEAVE = "14", _("长病假")
    OTHER = "99", _("其他")


# A post in these states is on the unit's active staff list.
ACTIVE_STATUSES = frozenset({StaffStatus.SERVING, StaffStatus.EXTENDED, StaffStatus.LONG_SICK_LEAVE})


class StaffMember(models.Model):
    """One person's post at one unit. Identifiers are stored encrypted (see core.crypto)."""

    staff_number = models.CharField(_("教职工号"), max_length=20)
    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1)  # GB/T 2261.1
    birth_date = models.DateField(_("出生日期"))
    id_type = models.CharField(_("身份证件类型"), max_length=1, default="1")
    id_number_cipher = models.TextField(_("身份证件号（密文）"), blank=True)
    # HMAC blind index: how a person is found and kept on one active staff list.
    id_number_index = models.CharField(max_length=40)
    id_number_masked = models.CharField(_("身份证件号"), max_length=40, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=2, blank=True)
    political_status = models.CharField(_("政治面貌"), max_length=2, blank=True)
    phone_cipher = models.TextField(_("联系电话（密文）"), blank=True)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True)

    education_level = models.CharField(_("最高学历"), max_length=2, blank=True)  # GB/T 4658
    degree = models.CharField(_("最高学位"), max_length=3, blank=True)  # GB/T 6864
    graduated_from = models.CharField(_("毕业院校"), max_length=100, blank=True)
    major = models.CharField(_("所学专业"), max_length=100, blank=True)
    first_employed_on = models.DateField(_("参加工作年月"), null=True, blank=True)
    joined_on = models.DateField(_("进本单位年月"), null=True, blank=True)

    post_category = models.CharField(_("岗位类别"), max_length=1, blank=True)  # staff_category_k12
    establishment = models.CharField(_("编制情况"), max_length=1, blank=True)  # 1 在编, 2 非在编
    title = models.CharField(_("专业技术职务（职称）"), max_length=2, blank=True)  # codes in staff.codes
    title_grade = models.CharField(_("职称等级"), max_length=8, blank=True)  # derived from title
    title_obtained_on = models.DateField(_("职称取得年月"), null=True, blank=True)
    subjects = models.CharField(_("任教学科"), max_length=100, blank=True)
    teaching_stage = models.CharField(_("任课学段"), max_length=1, blank=True)  # teaching_stage
    qualification_type = models.CharField(_("教师资格种类"), max_length=1, blank=True)
    qualification_number = models.CharField(_("教师资格证书号码"), max_length=30, blank=True)
    backbone_level = models.CharField(_("骨干教师"), max_length=1, default="0")
    is_head_teacher = models.BooleanField(_("班主任"), default=False)
    is_dual_qualified = models.BooleanField(_("双师型教师"), default=False)

    # Education administrators (教育管理人员).
    is_administrator = models.BooleanField(_("教育管理人员"), default=False)
    is_school_leader = models.BooleanField(_("校领导"), default=False)
    position = models.CharField(_("职务"), max_length=50, blank=True)
    duty_category = models.CharField(_("职务类别"), max_length=2, blank=True)  # duty_category
    rank = models.CharField(_("职级"), max_length=2, blank=True)  # codes in staff.codes
    department = models.CharField(_("所在部门（处室、科室）"), max_length=100, blank=True)
    duties = models.CharField(_("分管（负责）工作"), max_length=200, blank=True)

    status = models.CharField(_("当前状态"), max_length=2, choices=StaffStatus.choices, default=StaffStatus.SERVING)
    is_active = models.BooleanField(_("在岗"), default=True)
    left_on = models.DateField(_("离岗日期"), null=True, blank=True)

    unit = models.ForeignKey(Organization, verbose_name=_("单位"), on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(_("区划路径"), max_length=64)
    unit_kind = models.CharField(max_length=12)
    stage_mask = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="unit_id", stages="stage_mask", kind="unit_kind")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("教职工")
        constraints = [
            # 一人一岗: at most one active post per person, province-wide, on SQLite and PostgreSQL alike.
            models.UniqueConstraint(fields=["id_number_index"], condition=Q(is_active=True),
                                    name="one_active_post_per_person"),
            models.UniqueConstraint(fields=["staff_number"], condition=Q(is_active=True),
                                    name="one_active_post_per_staff_number"),
        ]
        indexes = [
            models.Index(fields=["unit", "is_active", "name"], name="staff_unit_active_name"),
            models.Index(fields=["region_path", "is_active"], opclasses=["varchar_pattern_ops", "bool_ops"],
                         name="staff_region_active"),
            models.Index(fields=["staff_number"], name="staff_number"),
            # The staff lists' whole order (selectors.STAFF_LIST_ORDER) within a scope's path range.
            models.Index(fields=["region_path", "unit", "name", "id"], condition=Q(is_active=True),
                         name="staff_list_order"),
            models.Index(fields=["id_number_index"], name="staff_id_index"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.staff_number}）"

    @property
    def label(self) -> str:
        return f"{self.name}（{self.staff_number}）"


class StaffEventKind(models.TextChoices):
    HIRE = "hire", _("聘用（入职）")
    TRANSFER_OUT = "transfer_out", _("调出")
    TRANSFER_IN = "transfer_in", _("调入")
    TITLE = "title", _("职称晋升")
    RETIRE = "retire", _("退休")
    LEAVE = "leave", _("离职")


class StaffEvent(models.Model):
    """A dated real-world change to a post, with its reason: the person's career history."""

    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("事件"), max_length=16, choices=StaffEventKind.choices)
    occurred_on = models.DateField(_("日期"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # e.g. {"title": ["一级教师", "高级教师"]}
    unit = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=64, db_index=True)
    unit_kind = models.CharField(max_length=12)
    stage_mask = models.PositiveSmallIntegerField(default=0)
    transfer = models.ForeignKey("StaffTransfer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    recorded_by = models.CharField(_("经办人"), max_length=150, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="unit_id", stages="stage_mask", kind="unit_kind")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("教职工事件")
        ordering = ["-occurred_on", "-id"]


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("审核中")
    APPROVED = "approved", _("已通过")
    RETURNED = "returned", _("已退回")
    WITHDRAWN = "withdrawn", _("已撤回")


class StaffTransfer(models.Model):
    """A transfer (调动) of a person from one unit to another, applied for by the receiving unit.

    The person stays active at the sending unit until the last step approves; the approval closes
    that post and opens the new one in one transaction.
    """

    staff = models.ForeignKey(StaffMember, on_delete=models.PROTECT, related_name="transfers")
    from_unit = models.ForeignKey(Organization, verbose_name=_("调出单位"), on_delete=models.PROTECT, related_name="+")
    from_path = models.CharField(max_length=64, db_index=True)
    to_unit = models.ForeignKey(Organization, verbose_name=_("调入单位"), on_delete=models.PROTECT, related_name="+")
    to_path = models.CharField(max_length=64, db_index=True)
    effective_on = models.DateField(_("调动日期"))
    reason = models.CharField(_("调动原因"), max_length=200)
    status = models.CharField(_("状态"), max_length=10, choices=TransferStatus.choices, default=TransferStatus.PENDING)
    new_post = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by = models.CharField(_("申请人"), max_length=150)
    requested_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("教职工调动申请")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # Two units cannot both be pulling the same person.
            models.UniqueConstraint(fields=["staff"], condition=Q(status="pending"), name="one_open_staff_transfer"),
        ]


class StepDecision(models.TextChoices):
    WAITING = "waiting", _("待前序审核")
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("同意")
    RETURNED = "returned", _("退回")


class StaffTransferStep(models.Model):
    """One organization's turn on a transfer: the sending unit confirms, bureaus review."""

    CONFIRM = "confirm"
    REVIEW = "review"

    transfer = models.ForeignKey(StaffTransfer, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    role = models.CharField(max_length=8, default=REVIEW)  # confirm (a unit) or review (a bureau)
    title = models.CharField(_("环节"), max_length=50)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    organization_path = models.CharField(max_length=64, db_index=True)
    decision = models.CharField(max_length=10, choices=StepDecision.choices, default=StepDecision.WAITING)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(_("意见"), max_length=200, blank=True)

    class Meta:
        ordering = ["transfer", "order"]
        constraints = [models.UniqueConstraint(fields=["transfer", "order"], name="one_staff_step_per_order")]
