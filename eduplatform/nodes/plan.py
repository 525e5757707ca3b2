"""Which tables a city node replicates, and how each is filtered (decision 0007).

Every model of the platform is classified here exactly once (``tests/test_city_nodes_plan.py``
fails on a model that is not): replicated with a row filter on its region, replicated whole as
reference data, or kept out with the reason. The replica-identity migration
(``migrations/0002_replica_identity_with_region.py``) freezes the filtered tables of its day; a table
added later gets its own (``0003`` for the incomplete-records roll-up).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps

# Records of a jurisdiction: `region_path LIKE '<city path>%'`.
BY_REGION: tuple[str, ...] = (
    "orgs.Organization", "orgs.OrganizationVersion",
    "students.Student", "students.Enrolment", "students.StudentEvent", "students.SchoolClass",
    "students.PromotionBatch",
    "staff.StaffMember", "staff.StaffEvent",
    "facilities.LandParcel", "facilities.Building",
    "assets.Equipment", "assets.AssetHoldings",
    "history.ChangeFeedEntry",
    "reporting.Submission", "reporting.RegionApproval", "reporting.ReviewAction",
    # per-school and per-county roll-ups and the census snapshots' rows
    "stats.SchoolRollup", "stats.StudentRollup", "stats.StudentCountyRollup", "stats.ClassRollup",
    "stats.StaffRollup", "stats.BuildingRollup", "stats.AssetRollup", "stats.MeasureRollup",
    "stats.MeasureCountyRollup", "stats.SchoolQuota", "stats.QuotaCountyRollup", "stats.SchoolFundingRollup",
    "stats.FundingCountyRollup", "stats.IncompleteRollup",
    "stats.SnapshotSchool", "stats.SnapshotStudent", "stats.SnapshotClass", "stats.SnapshotStaff",
    "stats.SnapshotBuilding", "stats.SnapshotAsset", "stats.SnapshotMeasure", "stats.SnapshotRegionMeasure",
    "stats.SnapshotBalance", "stats.SnapshotSchoolQuota", "stats.SnapshotQuotaCounty",
    "stats.SnapshotSchoolFunding", "stats.SnapshotFundingCounty", "stats.StoredBaseTables",
)

# Transfers between two places (转学, staff transfer): a city sees those leaving or entering it.
BY_EITHER_END: tuple[str, ...] = ("students.ChangeRequest", "staff.StaffTransfer")
EITHER_END_COLUMNS = ("from_path", "to_path")

# Reference data every node needs whole: divisions, code tables, snapshots' headers, rates, forms.
REFERENCE: tuple[str, ...] = (
    "orgs.Region", "orgs.RegionVersion",
    "standards.CodeTable", "standards.Code", "standards.CodeSynonym",
    "stats.Snapshot", "stats.BaseTableRun",
    "funding.FundingRateSet", "funding.FundingRate", "funding.HigherEdProfile",
    "reporting.FormDefinition", "reporting.FormVersion", "reporting.CollectionTask",
)

# Sent to each node filtered on its own city code (the primary key).
HEARTBEAT = "nodes.NodeHeartbeat"

NOT_REPLICATED: dict[str, str] = {
    "accounts.User": "节点自有账号（登录、角色在节点本地管理）",
    "accounts.RoleAssignment": "节点自有账号的角色",
    "accounts.UserSession": "节点自有账号的登录会话",
    "history.AuditEntry": "审计日志是各端自己的安全记录（三员分立），省级审计不下发",
    "history.DirtySchool": "汇总刷新的本地工作队列；节点的汇总表由省端复制而来",
    "history.AuditArchive": "审计日志归档登记，与各端自己的审计日志一起",
    "students.ChangeRequestStep": "审批步骤只有经办机构路径，跨市转学的另一端步骤不属本市；状态随申请单复制，完整审批链在省级查看",
    "staff.StaffTransferStep": "同上（教职工调动审批步骤）",
    "students.PromotionChange": "升级撤销用的逐行记录，只在执行升级的省级库有意义",
    "students.RetiredStudentNumber": "全省学籍号唯一性登记（一人一籍），只在省级核验",
    "core.ImportJob": "本地导入任务",
    "core.ExportJob": "本地导出任务",
    "core.Submission": "本地防重复提交令牌",
    "exchange.ApiClient": "接口客户端在各端自行登记",
    "exchange.ApiGrant": "接口客户端授权（本地）",
    "exchange.ApiCallLog": "本地接口调用日志",
    "exchange.IdempotencyRecord": "本地幂等记录",
    "nodes.CityNode": "节点登记是各端本地的记录",
    "quality.QualityIssue": "数据质量问题在省级扫描、整改和确认；市级通过页面和接口查看本市的问题",
    "quality.QualityIssueAction": "同上（问题处理记录）",
    "quality.QualityScan": "本地扫描任务",
    "quality.QualityScore": "省级按日计算的质量得分",
    "stats.SavedAnalysis": "保存的分析属于保存人的账号（账号不复制），各端用户在本端保存和共享",
}


@dataclass(frozen=True)
class ReplicatedTable:
    label: str
    table: str
    pk: str
    filter_columns: tuple[str, ...]  # empty: the whole table

    def row_filter(self, *, city_path: str, city_code: str) -> str:
        """The publication's WHERE clause for one city, or '' for a whole table."""
        if self.label == HEARTBEAT:
            return f"(city_code = '{_literal(city_code)}')"
        if not self.filter_columns:
            return ""
        pattern = _literal(city_path) + "%"
        return "(" + " OR ".join(f"{c} LIKE '{pattern}'" for c in self.filter_columns) + ")"


def _literal(value: str) -> str:
    # Paths and codes are digits and '/'; refuse anything else rather than quote it.
    if not all(ch.isdigit() or ch == "/" for ch in value):
        raise ValueError(f"unexpected region path or code: {value!r}")
    return value


def _table(label: str, columns: tuple[str, ...]) -> ReplicatedTable:
    model = apps.get_model(label)
    return ReplicatedTable(label=label, table=model._meta.db_table, pk=model._meta.pk.column, filter_columns=columns)


def replicated_tables() -> list[ReplicatedTable]:
    return (
        [_table(label, ("region_path",)) for label in BY_REGION]
        + [_table(label, EITHER_END_COLUMNS) for label in BY_EITHER_END]
        + [_table(label, ()) for label in REFERENCE]
        + [_table(HEARTBEAT, ())]
    )


def filtered_tables() -> list[ReplicatedTable]:
    return [t for t in replicated_tables() if t.filter_columns]


def publication_name(city_code: str) -> str:
    return f"city_{_literal(city_code)[:4]}"
