"""Regions (province → city → county → town) and organizations (department, bureaus, schools).

Both keep effective-dated versions so the tree can be shown *as of* a date: the current row is
what pages and scope filters use; the versions answer "what did it look like on 2024-09-01".
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduplatform.core.scoping import ScopeFields


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("地级市")
    COUNTY = "county", _("县（市、区）")
    TOWN = "town", _("乡镇（街道）")


class Region(models.Model):
    """A statistical division (统计用区划) with its 12-digit code and its code path.

    ``path`` lists the significant digits of every ancestor and of the region itself, each ending
    with "/" (``44/4401/440106/440106001/``), so "everything inside X" is one prefix match.
    """

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("级别"), max_length=10, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(_("区划路径"), max_length=64, unique=True)
    gb2260_code = models.CharField(_("GB/T 2260 代码"), max_length=6, blank=True)
    town_type = models.CharField(_("乡级类型"), max_length=20, blank=True)
    abolished_on = models.DateField(_("撤销日期"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    SCOPE = ScopeFields(path="path", school="")

    class Meta:
        verbose_name = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.abolished_on is None


class RegionVersion(models.Model):
    """Name and parent of a region over a period; ``valid_from`` null means "since records began"."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="versions")
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=64)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)  # exclusive
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["region", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["region"], condition=Q(valid_to__isnull=True), name="one_open_region_version"
            )
        ]


class OrgKind(models.TextChoices):
    DEPARTMENT = "department", _("教育行政部门")
    DIVISION = "division", _("内设处室")
    BUREAU = "bureau", _("教育局")
    SCHOOL = "school", _("学校（机构）")


class Organization(models.Model):
    """A unit users and API clients belong to. Schools carry the 基础基111 fields."""

    kind = models.CharField(_("类别"), max_length=12, choices=OrgKind.choices, db_index=True)
    name = models.CharField(_("名称"), max_length=200)
    parent = models.ForeignKey(
        "self", verbose_name=_("主管单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    region = models.ForeignKey(Region, verbose_name=_("所在区划"), on_delete=models.PROTECT, related_name="organizations")
    # Denormalised from region.path: the scope filter is a prefix match on this column.
    region_path = models.CharField(_("区划路径"), max_length=64, db_index=True)

    school_code = models.CharField(_("学校标识码"), max_length=10, unique=True, null=True, blank=True)
    school_type_code = models.CharField(_("办学类型"), max_length=3, blank=True)
    sponsor_code = models.CharField(_("举办者"), max_length=3, blank=True)
    urban_rural_code = models.CharField(_("城乡分类"), max_length=3, blank=True)
    stage_mask = models.PositiveSmallIntegerField(_("学段"), default=0)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    principal_name = models.CharField(_("校长（负责人）"), max_length=50, blank=True)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    website = models.CharField(_("网址"), max_length=200, blank=True)
    founded_on = models.DateField(_("建校日期"), null=True, blank=True)

    is_open = models.BooleanField(_("办学中"), default=True, db_index=True)
    closed_on = models.DateField(_("撤销日期"), null=True, blank=True)
    closed_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    SCOPE = ScopeFields(path="region_path", school="pk", stages="stage_mask", kind="kind")

    class Meta:
        verbose_name = _("组织机构")
        ordering = ["region_path", "name"]
        indexes = [models.Index(fields=["kind", "region_path"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="school") | Q(school_code__isnull=False), name="school_has_code"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_school(self) -> bool:
        return self.kind == OrgKind.SCHOOL


class OrganizationVersion(models.Model):
    """The effective-dated facts of an organization: name, place, type, sponsor, open or closed."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="versions")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)  # exclusive
    name = models.CharField(max_length=200)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=64, db_index=True)
    school_type_code = models.CharField(max_length=3, blank=True)
    sponsor_code = models.CharField(max_length=3, blank=True)
    urban_rural_code = models.CharField(max_length=3, blank=True)
    is_open = models.BooleanField(default=True)
    reason = models.CharField(max_length=200, blank=True)

    # As-of views read versions through the same scope filter as current organizations.
    SCOPE = ScopeFields(
        path="region_path", school="organization_id", stages="organization__stage_mask", kind="organization__kind"
    )

    class Meta:
        ordering = ["organization", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(valid_to__isnull=True), name="one_open_org_version"
            )
        ]


def lock_unit_writes(unit: Organization) -> None:
    """One writer of a unit's registers at a time, until the transaction ends: a batch that checks
    "is this number already here?" and then writes must not interleave with another batch doing the
    same for the same unit (two clerks importing one file at once would both see the number free).

    The lock also keeps the unit from moving (a move locks the same row), and ``unit.region_path`` is
    refreshed from the locked row, so what the batch writes carries the path the unit has now, not
    the one it had when the request loaded it (``orgs.moves.hold_unit`` for writers that need no lock).
    """
    path = Organization.objects.select_for_update().filter(pk=unit.pk).values_list("region_path", flat=True).first()
    if path is not None:
        unit.region_path = path
