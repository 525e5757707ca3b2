"""The platform's areas, in the order the navigation shows them.

Areas whose capability is not built yet still appear, and their page says so plainly, so users
see the whole shape of the platform from the first release.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Area:
    slug: str
    label: str
    url_name: str
    built: bool
    summary: str
    capability: str = "records.view"


AREAS: tuple[Area, ...] = (
    Area("dashboard", gettext_lazy("首页"), "web:dashboard", True, gettext_lazy("本辖区概况")),
    Area("orgs", gettext_lazy("学校与区划"), "orgs:browse", True, gettext_lazy("区划树、学校（机构）基本信息与历史")),
    Area("students", gettext_lazy("学生"), "students:list", True, gettext_lazy("学生基础库与电子学籍：入学、转学、休学、毕业、学年升级")),
    Area("staff", gettext_lazy("教职工"), "staff:list", True, gettext_lazy("教职工基础库与人员变动")),
    Area("administrators", gettext_lazy("教育管理干部"), "staff:administrators", True, gettext_lazy("教育行政部门与学校管理干部信息")),
    Area("buildings", gettext_lazy("校舍与土地"), "facilities:list", True, gettext_lazy("土地、校舍（建筑物）与危房管理")),
    Area("assets", gettext_lazy("资产与设备"), "assets:list", True, gettext_lazy("校产、仪器设备与图书")),
    Area("statistics", gettext_lazy("统计分析"), "stats:live", True, gettext_lazy("实时统计、统计时点快照、基表、指标与测算")),
    Area("forms", gettext_lazy("报表与审核"), "reporting:tasks", True, gettext_lazy("补充统计报表、填报任务与逐级审核")),
    Area("quality", gettext_lazy("数据质量"), "quality:issues", True, gettext_lazy("查重、合理性校验与问题整改")),
    Area("progress", gettext_lazy("建库进度"), "progress:overview", True, gettext_lazy("各地基础库建设进度实时监测")),
    Area("exchange", gettext_lazy("数据交换"), "exchange_standard:standard", True, gettext_lazy("开放接口、客户端凭证、变更流与市级节点同步")),
    Area("standards", gettext_lazy("数据字典"), "standards:dictionary", True, gettext_lazy("国家标准代码表与数据标准")),
)

# Areas with no app of their own yet get a placeholder page under web/.
PLACEHOLDER_AREAS = tuple(a for a in AREAS if a.url_name.startswith("web:area_"))
