"""The two spreadsheet import kinds of this app, served by the shared import pages (/imports/<key>/):
``staff`` into a school, ``administrators`` into the user's own bureau or department."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from eduplatform.imports.registry import ImportKind, register
from eduplatform.orgs import capabilities
from eduplatform.staff import schema, services

STAFF_KIND = ImportKind(
    key="staff", label=gettext_lazy("教职工"), schema=schema.STAFF_SCHEMA, check_row=schema.check_staff_row,
    write=services.import_staff, can_write=services.can_import, capability=capabilities.EDIT_STAFF,
    unit_kinds=frozenset({"school"}), list_url="staff:list", nav_slug="staff",
    instructions=(
        gettext_lazy("每行一名教职工；带 * 的列为必填。代码列可填代码、名称或“代码-名称”。"),
        gettext_lazy("身份证件号须通过校验码检查，且与出生日期、性别一致；同一人在全省只能在一个单位在岗。"),
        gettext_lazy("已在其他单位在岗的人员不能直接导入，请由调入单位发起调动申请。"),
        gettext_lazy("代课教师、兼任教师请在“岗位类别”中如实填写，他们不计入教职工数。"),
    ),
)
ADMINISTRATORS_KIND = ImportKind(
    key="administrators", label=gettext_lazy("教育管理人员"), schema=schema.ADMINISTRATOR_SCHEMA,
    check_row=schema.check_administrator_row, write=services.import_administrators, can_write=services.can_import,
    capability=capabilities.EDIT_ADMINISTRATORS, unit_kinds=frozenset({"department", "division", "bureau"}),
    list_url="staff:administrators", nav_slug="administrators",
    instructions=(
        gettext_lazy("导入到您所在的教育行政部门（教育厅、处室或教育局）；每行一名工作人员，带 * 的列为必填。"),
        gettext_lazy("身份证件号须通过校验码检查，且与出生日期、性别一致；同一人在全省只能在一个单位在岗。"),
        gettext_lazy("学校领导请在学校的教职工信息中填写“是否校领导”和“职务”。"),
    ),
)


def register_kinds() -> None:
    register(STAFF_KIND)
    register(ADMINISTRATORS_KIND)
