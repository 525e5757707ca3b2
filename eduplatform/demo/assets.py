"""Demo 仪器设备台账 and 资产汇总 for every open school, written through the assets services.

Schools of the demo county 天河区 (440106) and about one in ten elsewhere keep an equipment register:
their lines go through ``services.write_equipment_rows`` (the import's service, all or nothing), which
derives their summary holdings; the value of their buildings and land is typed as 台账外固定资产值.
Every other school types its summary for this statistical year and the one before through
``services.write_holdings_rows``. A row the services reject is a bug here (``DemoDataError``).

Figures scale with the school's active students (a nominal 200 where the demo has none) and its
stage. Sources and estimates (DOMAIN.md = /work/shared/design/DOMAIN.md):

* 生均教学仪器设备值: 优质均衡 standards 小学 ≥2000, 初中 ≥2500 元 (§3.1); the "现代化监测" values 普高
  6500, 中职 7500 (§3); 中职 ≥2500 (§4.2); HEIs 4000–5000 (§4.2, 教发〔2004〕2号). Schools get 0.9–1.6 ×
  the standard; kindergartens 600–1200 and special schools 4000–8000 (estimates).
* 生均图书: 小学 30, 初中 40 (§3 PHP defaults), 中职 30 (§4.2), HEIs 80–100 (§4.2); 普高 50,
  kindergartens 10, special schools 30 (estimates); 1.0–1.5 × that.
* Computers for teaching: about 10–20 per 100 students (estimate; 2012 基本均衡 indicator, §3);
  network multimedia classrooms ≈ one per class (≥2.3 per 100 students, §3.1).
* Fixed assets: buildings and land 8,000–20,000 元 per student (estimate) on top of the equipment.

Deliberate anomalies (``ANOMALIES``): each passes the services' rules, for the quality checks to find.
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from eduplatform.assets import codes, services
from eduplatform.assets.models import AssetHoldings, Equipment
from eduplatform.assets.schema import check_equipment, check_holdings
from eduplatform.core.errors import BatchInvalid
from eduplatform.demo.actor import GeneratorActor
from eduplatform.demo.province import DEMO_COUNTY
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.stages import Stage

ANOMALIES: dict[str, str] = {
    "value_differs": "5 所建台账学校各有 1 条设备记录的金额与“数量×单价”不一致（差 10%–30%）",
    "equipment_below_standard": "5 所只填汇总数的小学或初中，生均教学仪器设备值不足优质均衡标准的 30%",
    "no_books": "3 所只填汇总数、有在校生的学校图书为 0 册",
}
REGISTER_SHARE = 0.10
NOMINAL_STUDENTS = 200
D = decimal.Decimal

# Per stage: (equipment 元 per student, books per student, computers per 100 students) — see docstring.
_STANDARDS: dict[Stage, tuple[int, int, int]] = {
    Stage.PRESCHOOL: (900, 10, 3), Stage.PRIMARY: (2000, 30, 12), Stage.JUNIOR: (2500, 40, 15),
    Stage.SENIOR: (6500, 50, 18), Stage.VOCATIONAL: (7500, 30, 25), Stage.HIGHER: (5000, 90, 20),
    Stage.SPECIAL: (6000, 30, 15), Stage.OTHER: (1500, 20, 10),
}


class DemoDataError(RuntimeError):
    """The generator built a row the services reject: a bug in this module."""


def _standard(school: Organization) -> tuple[int, int, int]:
    """The highest stage's standard: a 完全中学 is equipped for its senior section."""
    best = _STANDARDS[Stage.OTHER]
    for stage in Stage:
        if school.stage_mask & stage and stage in _STANDARDS:
            best = max(best, _STANDARDS[stage])
    return best


def _money(value: float) -> str:
    return str(D(value).quantize(D("0.01")))


def _date(rng: random.Random, start: dt.date, end: dt.date) -> str:
    return (start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))).isoformat()


def register_lines(school: Organization, students: int, rng: random.Random, *, today: dt.date,
                   value_differs: bool) -> list[dict[str, str]]:
    """A plausible register for the school: its lines sum to the stage's standards times 0.9–1.6."""
    per_student, books_per, computers_per_100 = _standard(school)
    census = codes.census_date(codes.statistical_year(today))
    start = max(dt.date(2010, 1, 1), school.founded_on or dt.date(2010, 1, 1))
    if start >= census:
        start = census - dt.timedelta(days=365)
    teaching_target = students * per_student * rng.uniform(0.9, 1.6)
    lines: list[dict[str, str]] = []

    def add(category: str, name: str, quantity: int, price: float, **extra: str) -> None:
        if quantity <= 0:
            return
        lines.append({"asset_number": f"{school.school_code[-4:]}-{len(lines) + 1:04d}", "category": category,
                      "name": name, "quantity": str(quantity), "unit_price": _money(price),
                      "purchased_on": extra.pop("purchased_on", _date(rng, start, census - dt.timedelta(days=1))),
                      "location": extra.pop("location", ""), **extra})

    computers = max(1, round(students * computers_per_100 / 100 * rng.uniform(0.9, 1.5)))
    split = rng.randint(1, 3)
    for i in range(split):
        add(codes.COMPUTERS, "学生用台式计算机" if i else "教师用笔记本计算机", computers // split + (computers % split if i == 0 else 0),
            rng.uniform(3500, 5800), model=rng.choice(["联想 启天M430", "华为 擎云B730", "清华同方 超越E500"]),
            location=f"计算机室{i + 1}")
    add(codes.COMPUTERS, "办公计算机", rng.randint(3, 15), rng.uniform(4000, 6000), use_direction="3", location="行政楼")
    classrooms = max(1, round(students / 45 * rng.uniform(0.9, 1.1)))
    add(codes.MULTIMEDIA_SETS, "网络多媒体教室成套设备（交互式一体机、音响、展台）", classrooms, rng.uniform(18000, 32000),
        location="各班教室")
    add("02", "校园网络交换与服务器设备", 1, rng.uniform(30000, 250000), location="网络中心")
    spent = sum(float(line["unit_price"]) * int(line["quantity"]) for line in lines if line.get("use_direction") != "3")
    rest = max(teaching_target - spent, 5000.0)
    for category, name, share, price in (("04", "学生分组实验仪器", 0.55, (200, 3000)),
                                         ("05", "体育器材", 0.25, (100, 2000)),
                                         ("06", "音乐美术器材", 0.20, (150, 4000))):
        unit = rng.uniform(*price)
        add(category, name, max(1, round(rest * share / unit)), unit, location=rng.choice(["实验室", "器材室", "功能室"]))
    volumes = round(students * books_per * rng.uniform(1.0, 1.5))
    for batch in range(rng.randint(1, 3)):
        add(codes.BOOKS, f"图书（第{batch + 1}批）", volumes // 3 + 1, rng.uniform(22, 38), location="图书室")
    add(codes.FURNITURE, "学生课桌椅", students, rng.uniform(250, 420), use_direction="1", location="各班教室")
    # Retired lines keep their history; a few current-year purchases count from next year's census.
    old = dt.date(2012, 3, 1) if start < dt.date(2012, 3, 1) else start
    add(codes.COMPUTERS, "学生用台式计算机（旧）", rng.randint(10, 40), rng.uniform(3000, 4500), status="6",
        purchased_on=old.isoformat(), disposed_on=_date(rng, max(old, census - dt.timedelta(days=900)),
                                                        census - dt.timedelta(days=30)),
        disposal_reason="使用年限已满，报废")
    if today > census:
        add("04", "数字化实验系统", rng.randint(1, 6), rng.uniform(8000, 20000), purchased_on=_date(rng, census, today))
    held = [line for line in lines if not line.get("disposed_on")]  # a disposed line keeps its 报废 status
    if held and rng.random() < 0.08:
        held[rng.randrange(len(held))]["status"] = rng.choice(["2", "3"])
    if value_differs:
        target = next(line for line in lines if line["category"] == "04")
        exact = D(target["unit_price"]) * int(target["quantity"])
        target["value"] = _money(float(exact) * rng.choice([0.7, 0.8, 1.2, 1.3]))
    return lines


def typed_summary(school: Organization, students: int, rng: random.Random, year: int, *, shrink: float = 1.0,
                  below_standard: bool = False, no_books: bool = False) -> dict[str, str]:
    per_student, books_per, computers_per_100 = _standard(school)
    teaching = students * per_student * rng.uniform(0.9, 1.6) * shrink
    if below_standard:
        teaching = students * per_student * rng.uniform(0.1, 0.28)
    return {
        "year": str(year),
        "books_volumes": "0" if no_books else str(round(students * books_per * rng.uniform(1.0, 1.5) * shrink)),
        "computers_for_teaching": str(max(1, round(students * computers_per_100 / 100 * rng.uniform(0.9, 1.5) * shrink))),
        "multimedia_classrooms": str(max(1, round(students / 45 * rng.uniform(0.9, 1.1)))),
        "teaching_equipment_value": _money(teaching),
        "fixed_asset_value": _money(teaching * rng.uniform(1.6, 2.4) + students * rng.uniform(8000, 20000)),
    }


def generate(*, seed: int, progress: Callable[[str], None] | None = None, today: dt.date | None = None) -> str:
    """Registers and summaries for every open school, unless any exist; one Chinese summary line."""
    started = time.perf_counter()
    if Equipment.objects.exists() or AssetHoldings.objects.exists():
        return "仪器设备与资产汇总已存在，未重复生成。"
    today = today or timezone.localdate()
    year = codes.statistical_year(today)
    schools = list(Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True).order_by("school_code"))
    if not schools:
        return ""
    students = _active_students()
    county = Region.objects.filter(code=DEMO_COUNTY).values_list("path", flat=True).first() or "-"
    plan = random.Random(f"{seed}:assets:plan")
    keeps = {s.pk for s in schools if s.region_path.startswith(county) or plan.random() < REGISTER_SHARE}
    register_schools = [s for s in schools if s.pk in keeps]
    typed_schools = [s for s in schools if s.pk not in keeps]
    value_differs = {s.pk for s in plan.sample(register_schools, min(5, len(register_schools)))}
    compulsory = [s for s in typed_schools if s.stage_mask & (Stage.PRIMARY | Stage.JUNIOR)
                  and not s.stage_mask & Stage.SENIOR]
    below = {s.pk for s in plan.sample(compulsory, min(5, len(compulsory)))}
    with_students = [s for s in typed_schools if students.get(s.pk) and s.pk not in below]
    no_books = {s.pk for s in plan.sample(with_students, min(3, len(with_students)))}
    lines_written = 0
    with transaction.atomic():
        for done, school in enumerate(schools, start=1):
            rng = random.Random(f"{seed}:assets:{school.school_code}")
            size = students.get(school.pk) or NOMINAL_STUDENTS
            actor = GeneratorActor(school, capabilities.EDIT_ASSETS)
            if school.pk in keeps:
                lines = register_lines(school, size, rng, today=today, value_differs=school.pk in value_differs)
                rows = [(i, check_equipment(raw, today=today)) for i, raw in enumerate(lines, start=1)]
                lines_written += _write(services.write_equipment_rows, actor, school, rows, today)
                services.type_holdings(actor=actor, school=school, today=today, data={
                    "year": str(year), "other_fixed_assets_value": _money(size * rng.uniform(8000, 20000))})
            else:
                raws = [typed_summary(school, size, rng, year, below_standard=school.pk in below,
                                      no_books=school.pk in no_books),
                        typed_summary(school, size, rng, year - 1, shrink=0.92, below_standard=school.pk in below,
                                      no_books=school.pk in no_books)]
                rows = [(i, check_holdings(raw, today=today)) for i, raw in enumerate(raws, start=1)]
                _write(services.write_holdings_rows, actor, school, rows, today)
            if progress and done < len(schools) and done * 5 // len(schools) != (done - 1) * 5 // len(schools):
                progress(f"  仪器设备生成中：已完成 {done:,} / {len(schools):,} 所学校")
    return (f"已生成仪器设备台账 {lines_written:,} 条（{len(register_schools):,} 所学校建台账），"
            f"另有 {len(typed_schools):,} 所学校填报资产汇总（用时 {time.perf_counter() - started:.1f} 秒）")


def _write(write: Callable[..., Any], actor: GeneratorActor, school: Organization, rows: list, today: dt.date) -> int:
    try:
        outcome = write(actor=actor, unit=school, rows=rows, accept_valid=False, dry_run=False, source="演示数据",
                        today=today)
    except BatchInvalid as exc:
        raise DemoDataError(f"{school.name}: {[p.message for p in exc.problems][:5]}") from exc
    return outcome.written


def _active_students() -> dict[int, int]:
    from eduplatform.students.models import Enrolment

    return dict(Enrolment.objects.filter(is_active=True).values("school_id").annotate(n=Count("id"))
                .values_list("school_id", "n"))
