"""The student base database and the electronic 学籍 register.

A ``Student`` is a person (one per person: 一人一号, the lifelong 学籍号); an ``Enrolment`` is one stay
at one school. A person holds at most one *active* enrolment (在读 or 休学) — enforced by a partial
unique index, so neither a race between two schools nor a bulk import can break it. Status changes
only through ``StudentEvent``s; changes that need approval (transfers, dropouts of compulsory-school
age) go through a ``ChangeRequest`` with its review steps.

Every big table carries ``school_id`` and ``region_path`` so that scope filters and, at national
scale, distribution by school stay local (ARCHITECTURE.md §6).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform.core.opaque import TimeOrderedUUID
from eduplatform.core.scoping import ScopeFields
from eduplatform.orgs.models import Organization
from eduplatform.students.grades import GRADE_CHOICES


class Student(models.Model):
    """One person in the register. Personal identifiers are stored encrypted (see core.crypto)."""

    student_number = models.CharField(_("学籍号"), max_length=19, unique=True)
    # What page addresses name the person by: random and stable (a 学籍号 is G + the ID number, and
    # would sit in access logs and browser history). Made by the database (see core.opaque).
    public_id = models.UUIDField(_("公开标识"), unique=True, editable=False, db_default=TimeOrderedUUID())
    name = models.CharField(_("姓名"), max_length=50)
    former_name = models.CharField(_("曾用名"), max_length=50, blank=True)
    gender = models.CharField(_("性别"), max_length=1)  # GB/T 2261.1
    birth_date = models.DateField(_("出生日期"))
    id_type = models.CharField(_("身份证件类型"), max_length=1, default="1")
    id_number_cipher = models.TextField(_("身份证件号（密文）"), blank=True)
    # HMAC blind index: the only way to find a person by ID number. Unique: one person, one record.
    id_number_index = models.CharField(max_length=40, blank=True)
    id_number_masked = models.CharField(_("身份证件号"), max_length=40, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=2, blank=True)
    nationality = models.CharField(_("国籍/地区"), max_length=3, default="CHN")
    hk_macao_taiwan = models.CharField(_("港澳台侨外"), max_length=2, default="00")
    birthplace_code = models.CharField(_("出生地"), max_length=12, blank=True)
    native_place = models.CharField(_("籍贯"), max_length=100, blank=True)
    hukou_place_code = models.CharField(_("户口所在地"), max_length=12, blank=True)
    hukou_nature = models.CharField(_("户口性质"), max_length=1, blank=True)
    political_status = models.CharField(_("政治面貌"), max_length=2, blank=True)
    health_status = models.CharField(_("健康状况"), max_length=2, default="10")
    disability_type = models.CharField(_("残疾类型"), max_length=2, blank=True)
    migrant_child = models.BooleanField(_("进城务工人员随迁子女"), default=False)
    left_behind = models.CharField(_("留守儿童"), max_length=1, default="0")
    only_child = models.BooleanField(_("独生子女"), default=False)
    boarding_mode = models.CharField(_("就读方式"), max_length=1, default="1")
    home_address = models.CharField(_("现住址"), max_length=200, blank=True)
    # The national register keeps three addresses: where the pupil lives now (现住址), where post
    # reaches the family (通信地址) and the family's registered home (家庭地址, often the 户口 address).
    # Database defaults keep bulk inserts that do not name them (demo, bench) working.
    mailing_address = models.CharField(_("通信地址"), max_length=200, blank=True, default="", db_default="")
    household_address = models.CharField(_("家庭地址"), max_length=200, blank=True, default="", db_default="")
    phone_cipher = models.TextField(_("联系电话（密文）"), blank=True)
    phone_masked = models.CharField(_("联系电话"), max_length=20, blank=True)
    # [{"name": …, "relation": …, "phone_cipher": …, "phone_masked": …, "is_guardian": bool}]
    guardians = models.JSONField(_("家庭成员或监护人"), default=list, blank=True)
    # The school holding the current (or, once none is active, the last) enrolment: the person is
    # read through that school's jurisdiction.
    school = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                               db_index=False)  # covered by the (school, name) index
    region_path = models.CharField(_("区划路径"), max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="school__stage_mask")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("学生")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_index"], condition=~Q(id_number_index=""), name="one_student_per_id_number"
            ),
        ]
        indexes = [
            # Only students without an ID number are matched on name, sex and birth date
            # (students/duplicates.py): the others never enter this index, so registering them does
            # not write a random page of a 27-million-entry index for each student.
            models.Index(fields=["name", "birth_date", "gender"], condition=Q(id_number_index=""),
                         name="undocumented_name_birth_sex"),
            models.Index(fields=["school", "name"], name="student_school_name"),
            # Prefix scans ("everything under 44/4401/") need the pattern operator class on PostgreSQL.
            models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="student_region_path"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.student_number}）"


class EnrolmentStatus(models.TextChoices):
    """学生当前状态 (JY/T 1001 xsdqzt codes)."""

    STUDYING = "01", _("在读")
    SUSPENDED = "02", _("休学")
    DROPPED_OUT = "03", _("退学")
    GRADUATED = "07", _("毕业")
    COMPLETED = "08", _("结业")
    TRANSFERRED_OUT = "10", _("转学（转出）")
    DECEASED = "11", _("死亡")


ACTIVE_STATUSES = {EnrolmentStatus.STUDYING, EnrolmentStatus.SUSPENDED}


class SchoolClass(models.Model):
    """A class (班级) of one school, grade and school year; its size is its active enrolments."""

    school = models.ForeignKey(Organization, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=64, db_index=True)
    school_year = models.PositiveSmallIntegerField(_("学年"))  # 2026 = 2026–2027 学年
    grade = models.CharField(_("年级"), max_length=2, choices=GRADE_CHOICES)
    number = models.PositiveSmallIntegerField(_("班号"))
    name = models.CharField(_("班级名称"), max_length=50)
    class_type = models.CharField(_("班级类型"), max_length=2, default="10")
    head_teacher = models.CharField(_("班主任"), max_length=50, blank=True)
    # Classes a promotion opened for the next year; undoing that promotion removes them.
    promotion = models.ForeignKey(
        "PromotionBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="opened_classes"
    )

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="school__stage_mask")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("班级")
        ordering = ["school_year", "grade", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "school_year", "grade", "number"], name="one_class_per_number")
        ]
        indexes = [
            # The class list's order within a school year and a scope (selectors.CLASS_LIST_ORDER).
            models.Index(fields=["school_year", "region_path", "school", "grade", "number"], name="class_list_order"),
        ]

    def __str__(self) -> str:
        return self.name


class Enrolment(models.Model):
    """One stay of a student at a school: where, which grade and class, in which status."""

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="enrolments")
    # No database-level foreign keys to schools and classes: a promotion or an import rewrites a
    # million rows, and per-row RI triggers would cost more than the rows (docs/decisions/0003).
    # The services keep these references true; the student reference keeps its constraint.
    school = models.ForeignKey(
        Organization, verbose_name=_("学校"), on_delete=models.PROTECT, related_name="+", db_constraint=False,
        db_index=False,
    )
    region_path = models.CharField(max_length=64)
    stage = models.PositiveSmallIntegerField(_("学段"))  # one Stage bit
    grade = models.CharField(_("年级"), max_length=2, choices=GRADE_CHOICES)
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("班级"), null=True, blank=True, on_delete=models.SET_NULL, related_name="enrolments",
        db_constraint=False, db_index=False,
    )
    status = models.CharField(_("学籍状态"), max_length=2, choices=EnrolmentStatus.choices, default="01")
    is_active = models.BooleanField(_("在籍"), default=True)
    entered_on = models.DateField(_("入学年月"))
    entry_mode = models.CharField(_("入学方式"), max_length=2, blank=True)
    left_on = models.DateField(_("离校日期"), null=True, blank=True)
    # Vocational and higher education.
    major = models.CharField(_("专业"), max_length=100, blank=True)
    programme_length = models.PositiveSmallIntegerField(_("学制（年）"), null=True, blank=True)
    level = models.CharField(_("培养层次"), max_length=12, blank=True)
    # Set by a 留级 decision: the next promotion keeps the student in the same grade.
    repeat_next_promotion = models.BooleanField(_("下次升级时留级"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("学籍")
        constraints = [
            # 一人一籍: at most one active registration per person, on SQLite and PostgreSQL alike.
            models.UniqueConstraint(fields=["student"], condition=Q(is_active=True), name="one_active_enrolment"),
        ]
        # Few indexes, none on grade or class: a year-end promotion rewrites grade and class of every
        # row, and PostgreSQL can then update in place (HOT) instead of touching each index.
        indexes = [
            models.Index(fields=["school", "is_active"], name="enrolment_school_active"),
            models.Index(fields=["region_path", "is_active"], opclasses=["varchar_pattern_ops", "bool_ops"],
                         name="enrolment_region_active"),
            # The student list's order within a scope (selectors.ENROLMENT_LIST_ORDER), seeking on the
            # scope's path range: default operator class, which (unlike the pattern ops above) gives
            # ORDER BY region_path. Neither grade nor class: promotions stay HOT (see above); the list
            # sorts those school by school.
            models.Index(fields=["region_path", "school"], condition=Q(is_active=True), name="enrolment_list_order"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id}@{self.school_id}"


class EventKind(models.TextChoices):
    ENROL = "enrol", _("入学")
    TRANSFER_OUT = "transfer_out", _("转出")
    TRANSFER_IN = "transfer_in", _("转入")
    SUSPEND = "suspend", _("休学")
    RESUME = "resume", _("复学")
    DROP_OUT = "drop_out", _("退学")
    DEATH = "death", _("死亡")
    GRADUATE = "graduate", _("毕业")
    COMPLETE = "complete", _("结业")
    REPEAT = "repeat", _("留级")
    SKIP = "skip", _("跳级")
    NUMBER_CHANGE = "number_change", _("学籍号变更")


class StudentEvent(models.Model):
    """A real-world change to a registration, dated, with its reason."""

    # An append-only log written only by services, in batches: no RI triggers (docs/decisions/0003).
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="events", db_constraint=False)
    enrolment = models.ForeignKey(Enrolment, null=True, blank=True, on_delete=models.PROTECT, related_name="events",
                                  db_constraint=False, db_index=False)
    kind = models.CharField(_("事件"), max_length=16, choices=EventKind.choices)
    occurred_on = models.DateField(_("日期"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    attachments = models.CharField(_("证明材料"), max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # e.g. {"grade": ["11", "12"]}
    school = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+", db_constraint=False,
                               db_index=False)
    region_path = models.CharField(max_length=64)
    request = models.ForeignKey("ChangeRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                db_constraint=False, db_index=False)
    recorded_by = models.CharField(_("经办人"), max_length=150, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="school__stage_mask")
    MOVES_WITH_SCHOOL = True  # its region_path follows its unit when the unit moves (orgs/moves.py)

    class Meta:
        verbose_name = _("学籍事件")
        ordering = ["-occurred_on", "-id"]
        # Read by student (the history tab) and, through the scope, by region prefix. Enrolments,
        # schools and requests are never deleted, so nothing looks events up by them: an import
        # writes one event per student, and each index more is a write per row (docs/decisions/0003).
        indexes = [
            models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="event_region_path"),
        ]


class RequestKind(models.TextChoices):
    TRANSFER = "transfer", _("转学")
    DROP_OUT = "drop_out", _("退学（控辍保学）")


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("审核中")
    APPROVED = "approved", _("已通过")
    RETURNED = "returned", _("已退回")
    WITHDRAWN = "withdrawn", _("已撤回")


class ChangeRequest(models.Model):
    """A 学籍异动 needing approval: a transfer, or a dropout of compulsory-school age.

    Until the last step approves, the student stays active where they are; the approval moves the
    registration in one transaction, so the student is active in exactly one school throughout.
    """

    kind = models.CharField(_("类别"), max_length=12, choices=RequestKind.choices)
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="requests")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="requests")
    from_school = models.ForeignKey(Organization, verbose_name=_("转出学校"), on_delete=models.PROTECT, related_name="+")
    from_path = models.CharField(max_length=64, db_index=True)
    to_school = models.ForeignKey(
        Organization, verbose_name=_("转入学校"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_path = models.CharField(max_length=64, blank=True, db_index=True)
    to_grade = models.CharField(_("转入年级"), max_length=2, blank=True, choices=GRADE_CHOICES)
    effective_on = models.DateField(_("异动日期"))
    reason = models.CharField(_("原因"), max_length=200)
    attachments = models.CharField(_("证明材料"), max_length=300, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=RequestStatus.choices, default="pending")
    requested_by = models.CharField(_("申请人"), max_length=150)
    requested_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("学籍异动申请")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request per registration: two schools cannot both be pulling a student.
            models.UniqueConstraint(fields=["enrolment"], condition=Q(status="pending"), name="one_open_request"),
        ]


class StepDecision(models.TextChoices):
    WAITING = "waiting", _("待前序审核")
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("同意")
    RETURNED = "returned", _("退回")


class ChangeRequestStep(models.Model):
    """One reviewer's turn: which organization decides, and what it decided, with its reason."""

    request = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    title = models.CharField(_("环节"), max_length=50)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    organization_path = models.CharField(max_length=64, db_index=True)
    decision = models.CharField(max_length=10, choices=StepDecision.choices, default="waiting")
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.CharField(_("意见"), max_length=200, blank=True)

    class Meta:
        ordering = ["request", "order"]
        constraints = [models.UniqueConstraint(fields=["request", "order"], name="one_step_per_order")]


class PromotionBatch(models.Model):
    """One year-end promotion run over a school or a region, kept so it can be undone exactly."""

    region_path = models.CharField(_("范围"), max_length=64, db_index=True)
    school = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    scope_label = models.CharField(max_length=200)
    from_year = models.PositiveSmallIntegerField(_("原学年"))
    graduation_date = models.DateField(_("毕业日期"))
    executed_by = models.CharField(max_length=150)
    executed_at = models.DateTimeField(default=timezone.now)
    undo_until = models.DateTimeField(_("可撤销截止"))
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=150, blank=True)
    promoted = models.PositiveIntegerField(default=0)
    graduated = models.PositiveIntegerField(default=0)
    kept = models.PositiveIntegerField(default=0)

    SCOPE = ScopeFields(path="region_path", school="school_id")

    class Meta:
        verbose_name = _("学年升级")
        ordering = ["-executed_at"]
        constraints = [
            # One live run per school and year, and per region and year: the same promotion submitted
            # twice at once cannot both commit (overlaps between a region and its schools are kept
            # apart by the promotion's locks, see promotion._lock_scope).
            models.UniqueConstraint(fields=["school", "from_year"], name="one_live_school_promotion",
                                    condition=Q(undone_at__isnull=True, school__isnull=False)),
            models.UniqueConstraint(fields=["region_path", "from_year"], name="one_live_region_promotion",
                                    condition=Q(undone_at__isnull=True, school__isnull=True)),
        ]


class PromotionChange(models.Model):
    """The state of one enrolment before a promotion: what undo writes back."""

    batch = models.ForeignKey(PromotionBatch, on_delete=models.CASCADE, related_name="changes", db_constraint=False)
    enrolment_id = models.BigIntegerField()
    grade = models.CharField(max_length=2)
    school_class_id = models.BigIntegerField(null=True)
    status = models.CharField(max_length=2)
    is_active = models.BooleanField()
    left_on = models.DateField(null=True)
    repeat_next_promotion = models.BooleanField()

    class Meta:
        # By enrolment for a student's timeline; the batch has its own (foreign-key) index.
        indexes = [models.Index(fields=["enrolment_id"], name="promotion_change_enrolment")]


class RetiredStudentNumber(models.Model):
    """A 学籍号 replaced by another (L → G): kept so that it is never issued again."""

    number = models.CharField(max_length=19, unique=True)
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="retired_numbers")
    retired_at = models.DateTimeField(default=timezone.now)
