"""Page benchmark at province scale: every page a province officer, a stage-limited province user, a
city and a county statistician open, timed through the whole middleware stack (issue 13).

    make bench                        (bench/run.py runs it right after bench/statistics.py)
    .venv/bin/python bench/pages.py   (alone)

Same database as bench/statistics.py (``PROVINCE_DATABASE_URL``, default the 27.5-million-student
``eduplatform_province``; made by ``bench.statistics.ensure_data`` when missing). Read-only apart
from the session rows of the four logins (and the census snapshot ``census_snapshot`` takes when
the database has none). Exports are not timed (an export writes an audit entry).

The pages are discovered from the URL configuration (``tests/routes.py``, as the scope matrix does),
so a page added later is timed without editing this file: every route a GET answers, whose path
parameters are known here (a snapshot, a year, the user's region, a school or record of the
demonstration county), except downloads and the action routes (edit, publish, decide, …). Each page
is requested once cold and then warm (5 times, fewer when a page is slow: about ``PAGES_BUDGET_S``
of warm runs per page, at least one); the table gives the warm median and p95 beside the goal
(median < 150 ms, p95 < 300 ms) and the raw query for the same figure over the role's scope: for the
statistics pages the GROUP BY over the records (enrolments ⋈ students, staff) that computes the
page's main figure, for lists the naive ``ORDER BY … LIMIT 50`` plus ``count(*)``. Each raw baseline
is measured once per role and shared by the pages that show the same figure.

Then (a) the main figures through the selectors the pages use, for the province (goal < 50 ms) and
(b) the first page of the province's student list and the next page after its cursor (the page's
“下一页” link), goal < 100 ms each. The table is also written to var/bench-pages.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on sys.path, where bench/statistics.py would shadow the
# standard library's statistics module: the project root takes its place (bench modules import as bench.*).
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

import html  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

from bench import statistics as province_data  # noqa: E402  (sets DATABASE_URL to the province database)

# PAGES_ROLES=th_stat,gz_stat runs fewer roles ((a) and (b) run with the province officer).
ROLES = tuple(os.environ.get("PAGES_ROLES", "province,k12,gz_stat,th_stat").split(","))
GOAL_MEDIAN_MS, GOAL_P95_MS = 150, 300
GOAL_FIGURE_MS = 50  # (a)
GOAL_LIST_MS = 100  # (b)
WARM_RUNS = int(os.environ.get("PAGES_WARM_RUNS", "5"))
BUDGET_S = float(os.environ.get("PAGES_BUDGET_S", "10"))  # warm-run time per page, about (≥ 1 run)
DEMO_CITY = "440100000000"  # 广州市
DEMO_COUNTY = "440106000000"  # 广州市天河区
JSON_PATH = ROOT / "var" / "bench-pages.json"

# Not pages: static files, the login plumbing, API documentation, downloads (spreadsheets, CSV).
NOT_PAGES = re.compile(r"^(static/|accounts/(login|logout)/$|api/v1/(docs|openapi\.json)$)|\.(xlsx|csv)$")
# Routes that act on a record (their GET, when there is one, is a confirmation or an edit form).
ACTIONS = re.compile(r"/(edit|close|revoke|publish|decide|withdraw|commit|undo|execute|dispose|demolish|retire|"
                     r"reveal|leave|title|id-number|replace-number|class|dropout|progress|events/new)/$")


@dataclass
class Row:
    page: str
    role: str
    status: int | str
    cold_ms: float | None = None
    median_ms: float | None = None
    p95_ms: float | None = None
    runs: int = 0
    queries: int | None = None
    baseline: str = ""
    baseline_ms: float | None = None
    verdict: str = ""
    note: str = ""
    samples_ms: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.median_ms is None or not self.baseline_ms:
            return None
        return self.median_ms / self.baseline_ms


def say(text: str = "") -> None:
    print(text, flush=True)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# --------------------------------------------------------------------------------------------
# Raw baselines: the same figure by plain SQL over the records in the role's scope


@dataclass(frozen=True)
class Scope:
    prefix: str  # region path prefix, "44/" for the province
    stage_mask: int | None  # the k12 officer's stages


def child(prefix: str, column: str = "region_path") -> str:
    """SQL for the child region of ``prefix`` a row lies in (its path up to the next '/')."""
    n = len(prefix)
    return f"left({column}, {n} + strpos(substr({column}, {n + 1}), '/'))"


def stage_filter(scope: Scope, column: str | None) -> str:
    return f" AND ({column} & {int(scope.stage_mask)}) > 0" if scope.stage_mask and column else ""


# The raw queries are built from region paths read from the database and integers, never from input.
def _students_sql(s: Scope) -> list[str]:
    return [f"""SELECT {child(s.prefix, 'e.region_path')}, e.stage, e.grade, st.gender, count(*)
        FROM students_enrolment e JOIN students_student st ON st.id = e.student_id
        WHERE e.is_active AND e.region_path LIKE '{s.prefix}%'{stage_filter(s, 'e.stage')} GROUP BY 1, 2, 3, 4"""]  # noqa: S608


def _staff_sql(s: Scope) -> list[str]:
    from eduplatform.stats.definitions import FULL_TIME_TEACHER

    stages = (f" AND ((stage_mask & {int(s.stage_mask)}) > 0 OR unit_kind <> 'school')" if s.stage_mask else "")
    return [f"""SELECT {child(s.prefix)}, count(*), count(*) FILTER (WHERE post_category = '{FULL_TIME_TEACHER}')
        FROM staff_staffmember WHERE is_active AND region_path LIKE '{s.prefix}%'{stages} GROUP BY 1"""]  # noqa: S608


def _list_sql(table: str, where: str, order: str, join: str = "", stage_column: str | None = "o.stage_mask",
              path: str = "t.region_path") -> Callable[[Scope], list[str]]:
    def sql(s: Scope) -> list[str]:
        scope = f"{path} LIKE '{s.prefix}%'{stage_filter(s, stage_column)}"
        base = f"FROM {table} t {join} WHERE {scope}{' AND ' + where if where else ''}"
        return [f"SELECT t.* {base} ORDER BY {order} LIMIT 50 OFFSET 0", f"SELECT count(*) {base}"]
    return sql


SCHOOL = "JOIN orgs_organization o ON o.id = t.school_id"
BASELINES: dict[str, tuple[str, Callable[[Scope], list[str]]]] = {
    "students": ("GROUP BY enrolments⋈students (region×stage×grade×sex)", _students_sql),
    "staff": ("GROUP BY staff (region, teachers)", _staff_sql),
    "list:students": ("students: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "students_enrolment", "t.is_active",
        "o.region_path, t.school_id, t.grade, c.number, st.name, t.id",
        f"{SCHOOL} JOIN students_student st ON st.id = t.student_id "
        "LEFT JOIN students_schoolclass c ON c.id = t.school_class_id", stage_column="t.stage")),
    "list:staff": ("staff: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "staff_staffmember", "t.is_active", "t.region_path, t.unit_id, t.name, t.id", stage_column="t.stage_mask")),
    "list:administrators": ("administrators: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "staff_staffmember", "t.is_active AND t.is_administrator", "t.region_path, t.unit_id, t.name, t.id",
        stage_column="t.stage_mask")),
    "list:buildings": ("buildings: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "facilities_building", "t.demolished_on IS NULL", "t.region_path, o.name, t.number", SCHOOL)),
    "list:land": ("land: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "facilities_landparcel", "t.retired_on IS NULL", "t.region_path, o.name, t.name, t.id", SCHOOL)),
    "list:equipment": ("equipment: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "assets_equipment", "", "o.name, t.asset_number", SCHOOL)),
    "list:holdings": ("holdings: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "assets_assetholdings", "", "t.year DESC, o.name", SCHOOL)),
    "list:schools": ("schools: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "orgs_organization", "t.kind = 'school'", "t.region_path, t.name", stage_column="t.stage_mask")),
    "list:classes": ("classes: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "students_schoolclass", "", "o.region_path, o.name, t.school_id, t.school_year, t.grade, t.number", SCHOOL)),
    "list:requests": ("requests: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "students_changerequest", "", "t.requested_at DESC, t.id DESC", path="t.from_path", stage_column=None)),
    "list:staff transfers": ("transfers: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "staff_stafftransfer", "", "t.requested_at DESC, t.id DESC", path="t.from_path", stage_column=None)),
    "list:imports": ("imports: ORDER BY … LIMIT 50 + count(*)", _list_sql(
        "core_importjob", "", "t.created_at DESC, t.id DESC", stage_column=None)),
}
# A page's figure: the baselines whose times add up to it (first match of the route wins).
FIGURES: list[tuple[re.Pattern, tuple[str, ...]]] = [(re.compile(p), f) for p, f in (
    (r"^statistics/(indicators|map|staffing|snapshots)/", ("students", "staff")),
    (r"^statistics/funding/rates/", ()),
    (r"^statistics/(pivot|projection|funding|higher-education)/", ("students",)),
    (r"^statistics/$", ("students", "staff")),  # the live page: students by stage and the overview
    (r"^(public/|$)", ("students",)),
    (r"^students/$", ("list:students",)),
    (r"^students/classes/", ("list:classes",)),
    (r"^students/(requests|inbox)/", ("list:requests",)),
    (r"^(students/import|imports/[\w-]+)/$", ("list:imports",)),
    (r"^staff/$", ("list:staff",)),
    (r"^staff/administrators/$", ("list:administrators",)),
    (r"^staff/transfers/(inbox/)?$", ("list:staff transfers",)),
    (r"^facilities/$", ("list:buildings",)),
    (r"^facilities/land/$", ("list:land",)),
    (r"^assets/$", ("list:equipment",)),
    (r"^assets/holdings/$", ("list:holdings",)),
    (r"^orgs/schools/$", ("list:schools",)),
)]


class Baselines:
    """Each raw baseline measured once per scope, on first use."""

    def __init__(self) -> None:
        self.measured: dict[tuple[str, Scope], float] = {}

    def ms(self, key: str, scope: Scope) -> float:
        from django.db import connection

        if (key, scope) not in self.measured:
            started = time.perf_counter()
            with connection.cursor() as cursor:
                for sql in BASELINES[key][1](scope):
                    cursor.execute(sql)
                    cursor.fetchall()
            self.measured[key, scope] = (time.perf_counter() - started) * 1000
        return self.measured[key, scope]

    def of(self, route: str, scope: Scope) -> tuple[str, float | None]:
        for pattern, keys in FIGURES:
            if pattern.search(route):
                if not keys:
                    return "", None
                if route.startswith("public/"):
                    scope = Scope("44/", None)  # the portal publishes the province's figures to anyone
                label = " + ".join(BASELINES[k][0] for k in keys)
                return label, sum(self.ms(k, scope) for k in keys)
        return "", None


# --------------------------------------------------------------------------------------------
# Pages


@dataclass
class Page:
    route: str
    url: str
    name: str  # as printed


def _one(sql: str, params: list) -> object:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def record_values(scope: Scope) -> dict[str, str | None]:
    """A record for each detail page: of the first primary school of the demonstration county (in
    every benchmarked role's scope), and a higher-education institution of the role's region."""
    from eduplatform.orgs.stages import Stage

    school = _one("SELECT id FROM orgs_organization WHERE kind = 'school' AND is_open AND school_type_code = '211' "
                  "AND region_path LIKE %s ORDER BY school_code LIMIT 1", ["44/4401/440106/%"])
    values = {
        "school_code": _one("SELECT school_code FROM orgs_organization WHERE id = %s", [school]),
        "student_ref": _one("SELECT public_id::text FROM students_student WHERE school_id = %s ORDER BY id LIMIT 1",
                            [school]),
        "staff_id": _one("SELECT id FROM staff_staffmember WHERE unit_id = %s ORDER BY id LIMIT 1", [school]),
        "building_id": _one("SELECT id FROM facilities_building WHERE school_id = %s ORDER BY id LIMIT 1", [school]),
        "parcel_id": _one("SELECT id FROM facilities_landparcel WHERE school_id = %s ORDER BY id LIMIT 1", [school]),
        "equipment_id": _one("SELECT id FROM assets_equipment WHERE school_id = %s ORDER BY id LIMIT 1", [school]),
        "holdings_id": _one("SELECT id FROM assets_assetholdings WHERE school_id = %s ORDER BY id LIMIT 1", [school]),
    }
    higher = None
    if not scope.stage_mask or scope.stage_mask & Stage.HIGHER:
        higher = _one("SELECT school_code FROM orgs_organization WHERE kind = 'school' AND is_open "
                      "AND (stage_mask & %s) > 0 AND region_path LIKE %s ORDER BY school_code LIMIT 1",
                      [int(Stage.HIGHER), scope.prefix + "%"])
    values["higher_school_code"] = higher
    return {k: None if v is None else str(v) for k, v in values.items()}


def discover_pages(snapshot, year: int, root_code: str, root_level: str, records: dict) -> tuple[list[Page], list[str]]:
    """Every GET page of the URL configuration whose parameters are known, with the variants a
    user opens (each 基表 series; a snapshot's page for a city, or for a county of a city)."""
    from eduplatform.imports import registry
    from eduplatform.stats import basetables
    from tests.routes import PARAMETER, url_routes

    pages: list[Page] = []
    skipped: list[str] = []
    for route, parameters in url_routes():
        if NOT_PAGES.search(route) or ACTIONS.search("/" + route):
            continue
        fills: list[dict[str, str]] = [{}]
        unknown = []
        for name in parameters:
            if name == "snapshot_id":
                values = [str(snapshot.pk)]
            elif name == "year":
                values = [str(year)]
            elif name == "region_code":
                values = [root_code]
            elif name == "table_key":
                values = ["ethnicity"]
            elif name == "import_kind":
                values = [kind.key for kind in registry.all_kinds()]
            elif name == "school_code" and route.startswith("statistics/higher-education/"):
                values = [records["higher_school_code"]] if records.get("higher_school_code") else []
            elif records.get(name):
                values = [records[name]]
            else:
                unknown.append(name)
                continue
            if not values:
                unknown.append(f"{name} (none in scope)")
            fills = [{**f, name: v} for f in fills for v in values]
        if unknown:
            skipped.append(f"/{route} ({', '.join(unknown)})")
            continue
        for fill in fills:
            url = "/" + PARAMETER.sub(lambda m, fill=fill: fill[m.group(1) or m.group(2)], route)
            name = url.replace(str(snapshot.pk), "<id>", 1) if "snapshot_id" in parameters else url
            if route == "statistics/snapshots/<int:snapshot_id>/tables/":
                pages += [Page(route, f"{url}?series={key}", f"{name}?series={key}") for key in basetables.SERIES]
                continue
            pages.append(Page(route, url, name))
            if route == "statistics/snapshots/<int:snapshot_id>/":
                if root_level == "province":
                    pages.append(Page(route, f"{url}?region={DEMO_CITY}", f"{name}?region=广州市"))
                elif root_level == "city":
                    pages.append(Page(route, f"{url}?region={DEMO_COUNTY}", f"{name}?region=天河区"))
    return pages, skipped


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def time_page(client, url: str) -> tuple[int, float, int, object]:
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
    return response.status_code, elapsed, counter.count, response


def verdict(median: float, high: float) -> str:
    return "OK" if median < GOAL_MEDIAN_MS and high < GOAL_P95_MS else "MISS"


def bench_page(client, page: Page, role: str, scope: Scope, baselines: Baselines) -> Row:
    status, cold, queries, response = time_page(client, page.url)
    row = Row(page.name, role, status, cold_ms=cold, queries=queries)
    if status == 405:
        row.verdict, row.note = "skip", "POST only"
        return row
    if status in (403, 404):
        row.verdict, row.note = "refused", "not for this role"
        return row
    if status >= 500:
        row.verdict, row.note = "ERROR", "server error"
        return row
    if status in (301, 302):
        row.note = f"→ {response.get('Location', '')}"
    runs = max(1, min(WARM_RUNS, int(BUDGET_S * 1000 / max(cold, 1e-3))))
    for _ in range(runs):
        row.samples_ms.append(time_page(client, page.url)[1])
    row.runs = runs
    row.median_ms, row.p95_ms = statistics.median(row.samples_ms), p95(row.samples_ms)
    row.verdict = verdict(row.median_ms, row.p95_ms)
    row.baseline, row.baseline_ms = baselines.of(page.route, scope)
    if runs < WARM_RUNS:
        row.note = (row.note + f" {runs} warm run{'s' if runs > 1 else ''} (slow page)").strip()
    return row


def format_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def print_row(row: Row) -> None:
    ratio = f"{row.ratio:.3g}" if row.ratio is not None else "—"
    say(f"  {row.page[:52]:<52} {row.role:<8} {row.status!s:>4} {format_ms(row.cold_ms):>7} {format_ms(row.median_ms):>7}"
        f" {format_ms(row.p95_ms):>7} {row.queries if row.queries is not None else '':>4} {row.verdict:<7}"
        f" {format_ms(row.baseline_ms):>8} {ratio:>7}  {row.note}")


HEADER = (f"  {'page':<52} {'role':<8} {'HTTP':>4} {'cold':>7} {'median':>7} {'p95':>7} {'SQL':>4} {'goal':<7}"
          f" {'raw ms':>8} {'ratio':>7}  note")


# --------------------------------------------------------------------------------------------
# (a) main figures through the selectors, (b) the student list's first and next page


def timed_ms(fn: Callable[[], object], runs: int = 5) -> tuple[float, float, list[float]]:
    started = time.perf_counter()
    fn()
    cold = (time.perf_counter() - started) * 1000
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return cold, statistics.median(samples), samples


def bench_figures(officer, baselines: Baselines) -> list[Row]:
    from eduplatform.orgs.models import Region
    from eduplatform.stats import indicators, selectors

    root = Region.objects.get(level="province")
    province = Scope("44/", None)

    def every_indicator() -> None:
        rows, total = indicators.region_indicators(officer, root)
        for r in [*rows, total]:
            for i in indicators.INDICATORS:
                indicators.value_of(i, r.cells)

    def map_data() -> None:  # what stats.views.province_map computes before rendering
        rows, _total = indicators.region_indicators(officer, root)
        [r.cells.get("students", 0) for r in rows]

    figures = [
        ("student_figures city×stage×grade×sex", lambda: selectors.student_figures(
            officer, by=("city", "stage", "grade", "gender"), measures=("enrolled",)), ("students",)),
        ("region_indicators + every indicator", every_indicator, ("students", "staff")),
        ("map data (region_indicators, cities)", map_data, ("students", "staff")),
    ]
    rows = []
    for name, fn, keys in figures:
        cold, median, samples = timed_ms(fn)
        row = Row(f"(a) {name}", "province", "—", cold_ms=cold, median_ms=median, p95_ms=p95(samples), runs=len(samples),
                  samples_ms=samples, baseline=" + ".join(BASELINES[k][0] for k in keys),
                  baseline_ms=sum(baselines.ms(k, province) for k in keys))
        row.verdict = "OK" if median < GOAL_FIGURE_MS else "MISS"
        row.note = f"goal median < {GOAL_FIGURE_MS} ms"
        rows.append(row)
    return rows


NEXT_LINK = re.compile(r"<a\b[^>]*\bhref=\"([^\"]*(?:after|page)=[^\"]*)\"[^>]*>(.*?)</a>", re.S)


def next_page_url(body: str) -> str | None:
    for href, text in NEXT_LINK.findall(body):
        if "下一页" in re.sub(r"<[^>]+>", "", text):
            href = html.unescape(href)
            return href if href.startswith("/") else "/students/" + href.lstrip("./")
    return None


def bench_student_list(client, baselines: Baselines) -> list[Row]:
    province = Scope("44/", None)
    raw = baselines.ms("list:students", province)
    label = BASELINES["list:students"][0]
    rows = []
    status, cold, queries, response = time_page(client, "/students/")
    samples = [time_page(client, "/students/")[1] for _ in range(WARM_RUNS)]
    first = Row("(b) /students/ first page", "province", status, cold_ms=cold, median_ms=statistics.median(samples),
                p95_ms=p95(samples), runs=len(samples), queries=queries, baseline=label, baseline_ms=raw,
                samples_ms=samples)
    rows.append(first)
    url = next_page_url(response.content.decode()) if status == 200 else None
    if url is None:
        rows.append(Row("(b) /students/ next page", "province", "—", verdict="MISS",
                        note="no 下一页 link (after= or page=) in the first page"))
    else:
        status, cold, queries, _response = time_page(client, url)
        samples = [time_page(client, url)[1] for _ in range(WARM_RUNS)]
        rows.append(Row("(b) /students/ next page", "province", status, cold_ms=cold, median_ms=statistics.median(samples),
                        p95_ms=p95(samples), runs=len(samples), queries=queries, baseline=label, baseline_ms=raw,
                        samples_ms=samples, note=url[:60]))
    for row in rows:
        if row.median_ms is not None:
            row.verdict = "OK" if row.median_ms < GOAL_LIST_MS and row.status == 200 else "MISS"
            row.note = (f"goal < {GOAL_LIST_MS} ms; " + row.note).strip("; ")
    return rows


# --------------------------------------------------------------------------------------------


def main() -> None:
    if not province_data.URL.startswith("postgres"):
        sys.exit("bench/pages.py measures PostgreSQL: set PROVINCE_DATABASE_URL=postgres://…")
    import logging

    import django

    django.setup()
    # Each 403/404 would log a warning line into the table; they are listed once at the end instead.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from django.conf import settings
    from django.test import Client

    from eduplatform.accounts.models import User
    from eduplatform.orgs.models import Organization, OrgKind
    from eduplatform.orgs.scope import scope_of
    from eduplatform.orgs.selectors import scope_root
    from eduplatform.stats.models import Snapshot
    from eduplatform.students.models import Enrolment

    started = time.perf_counter()
    say(f"\nPages at province scale, database {urlparse(province_data.URL).path.lstrip('/')}")
    province_data.ensure_data()
    snapshot = province_data.census_snapshot()
    published = Snapshot.objects.filter(published_at__isnull=False).order_by("-census_date").first()
    year = (published or snapshot).census_date.year
    schools = Organization.objects.filter(kind=OrgKind.SCHOOL).count()
    students = Enrolment.objects.filter(is_active=True).count()
    say(f"  {students:,} students in {schools:,} institutions; snapshot {snapshot} (id {snapshot.pk}); portal year"
        f" {year}{'' if published else ' (no published snapshot: the portal shows none)'}")
    say(f"  load at start: {province_data.load()}; DEBUG={settings.DEBUG}")
    say(f"  goal per page and role: warm median < {GOAL_MEDIAN_MS} ms and p95 < {GOAL_P95_MS} ms; 1 cold + up to"
        f" {WARM_RUNS} warm runs (≈ {BUDGET_S:.0f} s of warm runs per page at most, ≥ 1); raw = the same figure by plain SQL"
        " over the role's scope, measured once; ratio = median / raw\n")

    baselines = Baselines()
    rows: list[Row] = []
    skipped_all: set[str] = set()
    say(HEADER)
    for role in ROLES:
        user = User.objects.get(username=role)
        scope = scope_of(user, with_focus=False)
        role_scope = Scope(scope.region_path, scope.stage_mask)
        root = scope_root(user)
        records = record_values(role_scope)
        pages, skipped = discover_pages(snapshot, year, root.code, root.level, records)
        skipped_all.update(skipped)
        client = Client(raise_request_exception=False)
        from bench.run import sign_in
        sign_in(client, user)  # the session row: the only write of this benchmark
        for page in pages:
            row = bench_page(client, page, role, role_scope, baselines)
            rows.append(row)
            if row.verdict not in ("refused", "skip"):
                print_row(row)
        if role == "province":
            extra = bench_student_list(client, baselines) + bench_figures(user, baselines)
            for row in extra:
                print_row(row)
            rows += extra
        client.logout()

    misses = [r for r in rows if r.verdict in ("MISS", "ERROR")]
    refused = sorted({f"{r.page} ({r.role})" for r in rows if r.verdict == "refused"})
    say(f"\n  raw baselines measured once each ({len(baselines.measured)}):")
    for (key, scope), ms in sorted(baselines.measured.items(), key=lambda kv: (kv[0][0], kv[0][1].prefix)):
        say(f"    {BASELINES[key][0]:<56} {scope.prefix:<16} {'k12' if scope.stage_mask else '':<4} {format_ms(ms):>9} ms")
    if refused:
        say(f"  refused for the role (403/404, not timed): {', '.join(refused)}")
    post_only = sorted({r.page for r in rows if r.verdict == "skip"})
    if post_only:
        say(f"  POST only (405 to a GET, not timed): {', '.join(post_only)}")
    if skipped_all:
        say(f"  not timed, path parameter unknown here: {', '.join(sorted(skipped_all))}")
    timed_rows = [r for r in rows if r.median_ms is not None]
    say(f"\n  {len(timed_rows)} page×role rows timed; MISS: {len(misses)}"
        f" ({sum(1 for r in misses if r.verdict == 'ERROR')} errors); took {(time.perf_counter() - started) / 60:.1f} min;"
        f" load at end: {province_data.load()}")
    JSON_PATH.parent.mkdir(parents=True, exist_ok=True)
    JSON_PATH.write_text(json.dumps({
        "database": urlparse(province_data.URL).path.lstrip("/"), "students": students, "schools": schools,
        "snapshot": snapshot.pk, "goal": {"median_ms": GOAL_MEDIAN_MS, "p95_ms": GOAL_P95_MS,
                                          "figures_ms": GOAL_FIGURE_MS, "list_ms": GOAL_LIST_MS},
        "misses": len(misses), "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
        "baselines": [{"figure": BASELINES[k][0], "scope": s.prefix, "stage_mask": s.stage_mask, "ms": ms}
                      for (k, s), ms in baselines.measured.items()],
    }, ensure_ascii=False, indent=1))
    say(f"  table written to {JSON_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
