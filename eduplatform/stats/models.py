"""Per-school aggregate tables (roll-ups): what every statistic is summed from.

Each table holds, per school, one row per combination of its dimensions with counts as measures,
so a region's figure is a SUM over the schools under its path and never touches the raw records.
They are derived data: ``stats.rollup`` rewrites a school's rows right after a commit that changed
the school, and ``manage.py rebuild_rollups`` rewrites them all (and must give the same numbers).

A census snapshot (``Snapshot``) freezes them: the same fields, copied with the snapshot's id, never
changed afterwards. Each kind of figure is therefore one abstract model with two tables.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields


class StudentFigures(models.Model):
    """Students of one school by stage, grade, sex and age cohort.

    ``cohort`` is the school-year cohort of the birth date: the birth year, plus one for births from
    1 September on. A pupil's age on 31 August of year Y (the age the statistics use) is exactly
    ``Y - cohort``, whatever the year the figure is read for.
    """

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage = models.PositiveSmallIntegerField(_("学段"))
    grade = models.CharField(_("年级"), max_length=2)
    gender = models.CharField(_("性别"), max_length=1)
    cohort = models.PositiveSmallIntegerField(_("出生学年"))
    enrolled = models.IntegerField(_("在校生"), default=0)  # active: studying or suspended
    suspended = models.IntegerField(_("休学"), default=0)
    minority = models.IntegerField(_("少数民族"), default=0)
    migrant = models.IntegerField(_("随迁子女"), default=0)
    left_behind = models.IntegerField(_("留守儿童"), default=0)
    disabled = models.IntegerField(_("残疾学生"), default=0)
    boarding = models.IntegerField(_("住宿生"), default=0)
    new_entrants = models.IntegerField(_("招生（本学年首次入该学段）"), default=0)
    graduates = models.IntegerField(_("毕业生（本学年）"), default=0)
    school_year = models.PositiveSmallIntegerField(_("学年"))  # the school year "本学年" refers to
    # 培养层次 of vocational and higher-education enrolments (students.schema.LEVELS: 1 专科, 2 本科,
    # 3 硕士, 4 博士, 5 中职), '' for every other stage: what higher education's 折合在校生 weighs.
    level = models.CharField(_("培养层次"), max_length=12, default="")
    # 专业 of vocational and higher-education enrolments as recorded, '' for every other stage: what the
    # 中职基 and 高基 tables count students by (分专业).
    major = models.CharField(_("专业"), max_length=100, default="")
    # 随班就读: disabled pupils in the regular classes of a regular school (not a special-education
    # school, not a special-education grade).
    inclusive = models.IntegerField(_("随班就读"), default=0)
    # 预计毕业生: active in the last year of the programme (the grade promotion graduates from).
    expected_graduates = models.IntegerField(_("预计毕业生"), default=0)
    # 毕（结）业生 of the previous school year: the statistical period (统计时期) a census on
    # 1 September reports flows for (DOMAIN §2.1).
    prior_graduates = models.IntegerField(_("毕业生（上学年）"), default=0)
    # The tables give 其中：少数民族 for each flow, so minority counts are kept per measure.
    minority_new_entrants = models.IntegerField(_("招生中少数民族"), default=0)
    minority_expected_graduates = models.IntegerField(_("预计毕业生中少数民族"), default=0)
    minority_prior_graduates = models.IntegerField(_("上学年毕业生中少数民族"), default=0)
    # Flows of this school year (stats.definitions): registrations entered this year that follow an
    # earlier one of the same student in the same stage and are still active (转入), and
    # registrations closed by a transfer this year (转出). 招生 (new_entrants) counts neither.
    transfers_in = models.IntegerField(_("转入（本学年）"), default=0)
    transfers_out = models.IntegerField(_("转出（本学年）"), default=0)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage")

    class Meta:
        abstract = True


# Every live roll-up has a unique key per school and cell (all its grouping columns, none of them
# nullable): two refreshes of one school can never both insert its rows, whatever the locks do
# (docs/decisions/0005). The key leads with school_id, so it is also the index a refresh deletes by.
STUDENT_CELL = ("school_id", "region_path", "stage", "grade", "gender", "cohort", "level", "major", "school_year")
CLASS_CELL = ("school_id", "region_path", "stage", "school_year", "grade", "size_band")
STAFF_CELL = ("school_id", "region_path", "stage_mask", "post_category", "establishment", "gender", "education_level",
              "title_grade", "teaching_stage", "birth_year", "subject")
COUNTY_CELL = ("region_path", "stage", "grade", "gender", "cohort", "level", "school_year")


class StudentRollup(StudentFigures):
    class Meta:
        verbose_name = _("学生汇总")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="student_rollup_path")]
        constraints = [models.UniqueConstraint(fields=STUDENT_CELL, name="one_student_rollup_per_cell")]


# A county's region path ("44/4401/440106/") is this long: the county roll-up is keyed by the first
# COUNTY_PATH_LENGTH characters of its schools' paths. Towns directly under a city (东莞, 中山) have no
# county: their schools share the key "44/4419/4419000", a prefix of all of them, which still answers
# every filter by the province's or the city's path. CITY_PATH_LENGTH ("44/4401/") names the city.
COUNTY_PATH_LENGTH = 15
CITY_PATH_LENGTH = 8


class StudentCountyRollup(models.Model):
    """``StudentRollup`` summed over the schools of each county: what province- and city-wide figures
    read, so that a question about the whole province sums tens of thousands of rows, not a million.

    Kept in step with the school roll-up by ``stats.rollup``: whenever a school's rows are rewritten,
    the change of its rows per county cell is added to the county's (``ON CONFLICT`` on the unique
    cell key; decision 0005); the full rebuild sums them all. It answers only for a scope and filters no deeper than the key
    (the scope filter gives nothing otherwise, see ``ScopeFields.path_length``); the selectors read the
    school roll-up for a town, a school or a school dimension.
    """

    region_path = models.CharField(max_length=64)  # the first COUNTY_PATH_LENGTH characters
    stage = models.PositiveSmallIntegerField(_("学段"))
    grade = models.CharField(_("年级"), max_length=2)
    gender = models.CharField(_("性别"), max_length=1)
    cohort = models.PositiveSmallIntegerField(_("出生学年"))
    level = models.CharField(_("培养层次"), max_length=12, default="")
    school_year = models.PositiveSmallIntegerField(_("学年"))
    # The measures of StudentFigures, summed (tests/test_rollups.py checks that none is missing).
    enrolled = models.IntegerField(_("在校生"), default=0)
    suspended = models.IntegerField(_("休学"), default=0)
    minority = models.IntegerField(_("少数民族"), default=0)
    migrant = models.IntegerField(_("随迁子女"), default=0)
    left_behind = models.IntegerField(_("留守儿童"), default=0)
    disabled = models.IntegerField(_("残疾学生"), default=0)
    boarding = models.IntegerField(_("住宿生"), default=0)
    new_entrants = models.IntegerField(_("招生（本学年首次入该学段）"), default=0)
    graduates = models.IntegerField(_("毕业生（本学年）"), default=0)
    inclusive = models.IntegerField(_("随班就读"), default=0)
    expected_graduates = models.IntegerField(_("预计毕业生"), default=0)
    prior_graduates = models.IntegerField(_("毕业生（上学年）"), default=0)
    minority_new_entrants = models.IntegerField(_("招生中少数民族"), default=0)
    minority_expected_graduates = models.IntegerField(_("预计毕业生中少数民族"), default=0)
    minority_prior_graduates = models.IntegerField(_("上学年毕业生中少数民族"), default=0)
    transfers_in = models.IntegerField(_("转入（本学年）"), default=0)
    transfers_out = models.IntegerField(_("转出（本学年）"), default=0)

    SCOPE = ScopeFields(path="region_path", school="", stages="stage", path_length=COUNTY_PATH_LENGTH)

    class Meta:
        verbose_name = _("学生汇总（县级）")
        # Prefix filters (a city's counties) need the pattern operator class on PostgreSQL.
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"],
                                name="student_county_rollup_path")]
        constraints = [models.UniqueConstraint(fields=COUNTY_CELL, name="one_county_rollup_per_cell")]


class SnapshotStudent(StudentFigures):
    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("学生汇总（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_student_path")]


class ClassFigures(models.Model):
    """Classes of one school by grade and size band (大班额 56–65, 超大班额 ≥ 66), with the largest
    class of each band (the kindergarten limit of 36 children falls inside the 36–40 band)."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage = models.PositiveSmallIntegerField(_("学段"))
    school_year = models.PositiveSmallIntegerField(_("学年"))
    grade = models.CharField(_("年级"), max_length=2)
    size_band = models.CharField(_("班额"), max_length=8)
    classes = models.IntegerField(_("班数"), default=0)
    students = models.IntegerField(_("学生数"), default=0)
    largest = models.IntegerField(_("最大班额"), default=0)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage")

    class Meta:
        abstract = True


class ClassRollup(ClassFigures):
    class Meta:
        verbose_name = _("班级汇总")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="class_rollup_path")]
        constraints = [models.UniqueConstraint(fields=CLASS_CELL, name="one_class_rollup_per_cell")]


class SnapshotClass(ClassFigures):
    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("班级汇总（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_class_path")]


class StaffFigures(models.Model):
    """Active staff of one school by post category, establishment, sex, education, title grade,
    teaching stage, birth year (ages are read for any census year from the birth year) and main
    subject taught (the first subject named, classified by ``staff.codes.TEACHING_SUBJECTS``)."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage_mask = models.PositiveSmallIntegerField(_("学段"))
    post_category = models.CharField(_("岗位类别"), max_length=1)
    establishment = models.CharField(_("编制情况"), max_length=1)
    gender = models.CharField(_("性别"), max_length=1)
    education_level = models.CharField(_("最高学历"), max_length=2)
    title_grade = models.CharField(_("职称等级"), max_length=8)
    teaching_stage = models.CharField(_("任课学段"), max_length=1)
    birth_year = models.PositiveSmallIntegerField(_("出生年份"))
    subject = models.CharField(_("主要任教学科"), max_length=2, default="")
    # Everyone in post; the official 教职工 headcount leaves out 代课 and 兼任 (stats.definitions.STAFF).
    staff = models.IntegerField(_("在岗人数"), default=0)
    backbone = models.IntegerField(_("骨干教师"), default=0)
    head_teachers = models.IntegerField(_("班主任"), default=0)
    dual_qualified = models.IntegerField(_("双师型教师"), default=0)
    qualified = models.IntegerField(_("具有教师资格"), default=0)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage_mask")

    class Meta:
        abstract = True


class StaffRollup(StaffFigures):
    class Meta:
        verbose_name = _("教职工汇总")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"], name="staff_rollup_path")]
        constraints = [models.UniqueConstraint(fields=STAFF_CELL, name="one_staff_rollup_per_cell")]


class SnapshotStaff(StaffFigures):
    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("教职工汇总（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_staff_path")]


class BuildingFigures(models.Model):
    """One school's standing buildings: floor area by 512 use category, 危房 and rented area."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage_mask = models.PositiveSmallIntegerField(_("学段"))
    buildings = models.IntegerField(_("建筑物"), default=0)
    total_area = models.DecimalField(_("校舍建筑面积"), max_digits=14, decimal_places=2, default=0)
    teaching_area = models.DecimalField(_("教学及辅助用房"), max_digits=14, decimal_places=2, default=0)
    admin_area = models.DecimalField(_("行政办公用房"), max_digits=14, decimal_places=2, default=0)
    living_area = models.DecimalField(_("生活用房"), max_digits=14, decimal_places=2, default=0)
    other_area = models.DecimalField(_("其他用房"), max_digits=14, decimal_places=2, default=0)
    dangerous_area = models.DecimalField(_("危房面积"), max_digits=14, decimal_places=2, default=0)
    d_grade_area = models.DecimalField(_("D级危房面积"), max_digits=14, decimal_places=2, default=0)
    d_grade_in_use = models.IntegerField(_("D级危房仍在使用"), default=0)
    rented_area = models.DecimalField(_("租借面积"), max_digits=14, decimal_places=2, default=0)
    # Floor area of the standing buildings used as 体育馆 (building_use 15 体育活动室): with the sports
    # grounds, what 生均体育运动场馆面积 divides.
    gym_area = models.DecimalField(_("体育馆面积"), max_digits=14, decimal_places=2, default=0)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage_mask")

    class Meta:
        abstract = True


class BuildingRollup(BuildingFigures):
    class Meta:
        verbose_name = _("校舍汇总")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"],
                                name="building_rollup_path")]  # school_id: the unique constraint's index
        constraints = [models.UniqueConstraint(fields=["school_id"], name="one_building_rollup_per_school")]


class SnapshotBuilding(BuildingFigures):
    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("校舍汇总（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_building_path")]


class AssetFigures(models.Model):
    """One school's land and holdings at the census (基础基522): its active land parcels, and its
    summary holdings (``assets.AssetHoldings``) of the statistical year (``year``) — zero where the
    school has not reported them."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage_mask = models.PositiveSmallIntegerField(_("学段"))
    year = models.PositiveSmallIntegerField(_("统计年度"))
    land_area = models.DecimalField(_("占地面积"), max_digits=14, decimal_places=2, default=0)
    sports_area = models.DecimalField(_("运动场地面积"), max_digits=14, decimal_places=2, default=0)
    green_area = models.DecimalField(_("绿化用地面积"), max_digits=14, decimal_places=2, default=0)
    has_holdings = models.BooleanField(_("已有资产汇总"), default=False)
    books_volumes = models.IntegerField(_("图书（册）"), default=0)
    computers_for_teaching = models.IntegerField(_("教学用计算机（台）"), default=0)
    multimedia_classrooms = models.IntegerField(_("网络多媒体教室（间）"), default=0)
    teaching_equipment_value = models.DecimalField(_("教学仪器设备资产值（元）"), max_digits=16, decimal_places=2,
                                                   default=0)
    fixed_asset_value = models.DecimalField(_("固定资产总值（元）"), max_digits=16, decimal_places=2, default=0)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage_mask")

    class Meta:
        abstract = True


class AssetRollup(AssetFigures):
    class Meta:
        verbose_name = _("资产汇总（统计）")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"],
                                name="asset_rollup_path")]
        constraints = [models.UniqueConstraint(fields=["school_id"], name="one_asset_rollup_per_school")]


class IncompleteRollup(models.Model):
    """Per school, base database and stage: how many of the records the 建库进度 completeness counts
    (``quality.required.records``) lack a required field (``quality.required.missing``, the one
    definition of 必填项). Only schools with such records have rows.

    Kept with the other roll-ups, so the progress figures and the officers' home pages sum a few
    thousand rows instead of joining the province's incomplete pupils to their enrolments on every
    view (that join was most of the 建库进度 page's time at province scale). ``stage_mask`` is what a
    stage-limited reader is narrowed by, as on the records: the enrolment's stage for pupils, the
    staff member's own mask, the school's mask for buildings and equipment."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage_mask = models.PositiveSmallIntegerField(_("学段"))
    database = models.CharField(_("基础库"), max_length=16)
    incomplete = models.IntegerField(_("必填项不全的记录"))

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage_mask")

    class Meta:
        verbose_name = _("必填项不全记录汇总")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"],
                                name="incomplete_rollup_path")]
        constraints = [models.UniqueConstraint(fields=["school_id", "database", "stage_mask"],
                                               name="one_incomplete_rollup_per_cell")]


class SnapshotAsset(AssetFigures):
    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("资产汇总（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_asset_path")]


class SchoolFigures(models.Model):
    """One open school's identity as 基础基111 reports it; a snapshot freezes it at the census."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    stage_mask = models.PositiveSmallIntegerField(_("学段"))
    school_code = models.CharField(_("学校标识码"), max_length=10)
    name = models.CharField(_("名称"), max_length=200)
    school_type_code = models.CharField(_("办学类型"), max_length=3)
    sponsor_code = models.CharField(_("举办者"), max_length=3)
    urban_rural_code = models.CharField(_("城乡分类"), max_length=3)
    address = models.CharField(_("地址"), max_length=200)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True)
    principal_name = models.CharField(_("校长（负责人）"), max_length=50)
    phone = models.CharField(_("联系电话"), max_length=30)
    website = models.CharField(_("网址"), max_length=200)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stage_mask")

    class Meta:
        abstract = True


class SchoolRollup(SchoolFigures):
    class Meta:
        verbose_name = _("学校汇总")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"],
                                name="school_rollup_path")]
        constraints = [models.UniqueConstraint(fields=["school_id"], name="one_school_rollup_per_school")]


class SnapshotSchool(SchoolFigures):
    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("学校汇总（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_school_path")]


class MeasureFigures(models.Model):
    """One school's named measures (``stats.measures.MEASURES``: 在校生, 专任教师 of a stage, 大班额 …),
    each already summed over its roll-up rows by the figure's one definition.

    ``stages`` is what a stage-limited scope filters by, as the source row would be filtered: the
    stage of a student or class measure, the school's stage mask for staff, buildings and assets.
    A school has a row where it has roll-up rows the measure sums (possibly summing to zero)."""

    school_id = models.BigIntegerField(_("学校"))
    region_path = models.CharField(max_length=64)
    key = models.CharField(_("指标项"), max_length=40)
    stages = models.PositiveSmallIntegerField(_("学段"))
    value = models.DecimalField(_("数值"), max_digits=18, decimal_places=2, default=0)

    SCOPE = ScopeFields(path="region_path", school="school_id", stages="stages")

    class Meta:
        abstract = True


MEASURE_CELL = ("school_id", "region_path", "key", "stages")
MEASURE_COUNTY_CELL = ("region_path", "key", "stages")


class MeasureRollup(MeasureFigures):
    class Meta:
        verbose_name = _("指标项汇总")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"],
                                name="measure_rollup_path")]
        constraints = [models.UniqueConstraint(fields=MEASURE_CELL, name="one_measure_rollup_per_cell")]


class MeasureCountyRollup(models.Model):
    """``MeasureRollup`` summed per county key (the first COUNTY_PATH_LENGTH characters of the
    schools' paths), kept by added changes like ``StudentCountyRollup`` (decision 0005): what
    province- and city-wide overviews, indicators and the map read — a few thousand rows. A cell
    exists exactly where some school row does (``schools`` counts them, so a cell of zero schools
    is deleted, and a cell of schools summing to zero still shows its zero)."""

    region_path = models.CharField(max_length=64)
    key = models.CharField(_("指标项"), max_length=40)
    stages = models.PositiveSmallIntegerField(_("学段"))
    value = models.DecimalField(_("数值"), max_digits=18, decimal_places=2, default=0)
    schools = models.IntegerField(_("学校行数"), default=0)

    SCOPE = ScopeFields(path="region_path", school="", stages="stages", path_length=COUNTY_PATH_LENGTH)

    class Meta:
        verbose_name = _("指标项汇总（县级）")
        indexes = [models.Index(fields=["region_path"], opclasses=["varchar_pattern_ops"],
                                name="measure_county_path")]
        constraints = [models.UniqueConstraint(fields=MEASURE_COUNTY_CELL, name="one_measure_county_per_cell")]


class SnapshotMeasure(MeasureFigures):
    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("指标项汇总（快照）")
        indexes = [models.Index(fields=["snapshot", "region_path"], opclasses=["int8_ops", "varchar_pattern_ops"],
                                name="snapshot_measure_path")]


class SnapshotRegionMeasure(models.Model):
    """A snapshot's measures summed for every region (province, city, county, town) under its own
    path, computed once when the snapshot is taken: a snapshot page reads the rows of the region and
    its children only. Rows of one region differ by ``stages`` (a stage-limited scope sums those it
    may see)."""

    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=64)  # the region's own path
    key = models.CharField(_("指标项"), max_length=40)
    stages = models.PositiveSmallIntegerField(_("学段"))
    value = models.DecimalField(_("数值"), max_digits=18, decimal_places=2, default=0)

    # Rows sum the schools under a region, never one school: a school user reads none (a path_length
    # no path exceeds excludes only school scopes, see orgs.scope.apply_scope).
    SCOPE = ScopeFields(path="region_path", school="", stages="stages", path_length=64)

    class Meta:
        verbose_name = _("指标项汇总（快照，各级区划）")
        indexes = [models.Index(fields=["snapshot", "region_path"], name="snapshot_region_measure")]


class SnapshotBalance(models.Model):
    """优质均衡 (``indicators.balance``) of one county and stage as the snapshot's figures give it,
    computed once when the snapshot is taken (for readers of the whole county, unlimited by stage)."""

    snapshot = models.ForeignKey("Snapshot", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=64)  # the county's path
    stage = models.PositiveSmallIntegerField(_("学段"))
    result = models.JSONField(_("结果"), default=dict)

    SCOPE = ScopeFields(path="region_path", school="", path_length=64)

    class Meta:
        verbose_name = _("优质均衡（快照）")
        constraints = [models.UniqueConstraint(fields=["snapshot", "region_path", "stage"],
                                               name="one_balance_per_snapshot_county_stage")]


class Snapshot(models.Model):
    """An official count: the roll-ups frozen at a census date (统计时点), versioned.

    Taken on the census date (``manage.py take_snapshot`` from a scheduler, or by hand); a later
    version of the same date supersedes an earlier one for publication, and both stay. Nothing
    changes a snapshot's figures after it is taken: no service writes them, and the copy tables have
    no update path.
    """

    census_date = models.DateField(_("统计时点"))
    version = models.PositiveSmallIntegerField(_("版本"))
    school_year = models.PositiveSmallIntegerField(_("学年"))
    title = models.CharField(_("名称"), max_length=100)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    taken_at = models.DateTimeField(_("生成时间"))
    taken_by = models.CharField(_("生成人"), max_length=150)
    totals = models.JSONField(_("全省合计"), default=dict)
    # Publication makes the snapshot's city-level figures public on the portal (no login).
    published_at = models.DateTimeField(_("公布时间"), null=True, blank=True)
    published_by = models.CharField(_("公布人"), max_length=150, blank=True)
    # Census sign-off (统计数据逐级审核): set when the province approves the snapshot's sign-off task
    # in reporting (school → county → city → province); only a signed-off snapshot can be published.
    signed_off_at = models.DateTimeField(_("省级审核时间"), null=True, blank=True)
    signed_off_by = models.CharField(_("省级审核人"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("统计快照")
        ordering = ["-census_date", "-version"]
        constraints = [models.UniqueConstraint(fields=["census_date", "version"], name="one_snapshot_version")]

    def __str__(self) -> str:
        return gettext("%(title)s（%(date)s，第 %(version)s 版）") % {
            "title": self.title, "date": f"{self.census_date:%Y-%m-%d}", "version": self.version}


# Each live roll-up and the table its frozen copies go to.
FROZEN: tuple[tuple[type[models.Model], type[models.Model]], ...] = (
    (StudentRollup, SnapshotStudent), (ClassRollup, SnapshotClass), (StaffRollup, SnapshotStaff),
    (BuildingRollup, SnapshotBuilding), (AssetRollup, SnapshotAsset), (SchoolRollup, SnapshotSchool),
    (MeasureRollup, SnapshotMeasure),
)
SNAPSHOT_OF = dict(FROZEN)


# The calculators' derived tables (staffing quotas, funding inputs) and their frozen copies.
from eduplatform.stats.quota_models import CALCULATOR_FROZEN  # noqa: E402

FROZEN = (*FROZEN, *CALCULATOR_FROZEN)
SNAPSHOT_OF = dict(FROZEN)

from eduplatform.stats.stored_tables import BaseTableRun, StoredBaseTables  # noqa: E402, F401 (base tables kept with a snapshot)


class SavedAnalysis(models.Model):
    """A pivot a user saved to reopen (保存的分析): what to count, by which dimensions and filters,
    where. ``params`` holds the pivot's query (subject, rows, cols, measure, filters, region code),
    never figures: reopened, the analysis is computed afresh within the reader's jurisdiction.

    Shared (``shared``), it is offered to the users whose jurisdiction and ``region_path`` lie one
    inside the other (``stats.selectors.analyses_visible_to``); a reader whose jurisdiction lies
    inside the analysis's region sees it for their own region only."""

    owner = models.ForeignKey("accounts.User", verbose_name=_("保存人"), on_delete=models.CASCADE,
                              related_name="saved_analyses")
    organization = models.ForeignKey("orgs.Organization", verbose_name=_("所属单位"), on_delete=models.PROTECT,
                                     related_name="+")
    title = models.CharField(_("名称"), max_length=100)
    region_path = models.CharField(_("区划路径"), max_length=64)
    params = models.JSONField(_("分析条件"), default=dict)
    shared = models.BooleanField(_("共享给辖区内用户"), default=False)
    created_at = models.DateTimeField(_("保存时间"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("保存的分析")
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["region_path"], name="saved_analysis_path")]

    def __str__(self) -> str:
        return self.title
