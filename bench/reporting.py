"""Reporting at province scale: a collection task sent to every school of the province, its
completeness for the province and one city, and the aggregation of 38,000 approved submissions.

    make bench                             (bench/run.py runs this after the statistics benchmarks)
    .venv/bin/python bench/reporting.py    (alone)

Database: the province database of bench/statistics.py (``PROVINCE_DATABASE_URL``) when it exists
(``make bench`` makes it first); otherwise one of its own (``REPORTING_BENCH_DATABASE_URL``, default
``eduplatform_reporting_bench``) holding the province's 38,000+ institutions registered by the demo's
generator and no students — made once, in about a minute, and reused. Nothing here depends on
students but the prefilled cells, which this form does not have.

Figures, each beside a baseline measured in the same run:

(a) ``open_task`` for every school of the province (validation, one INSERT … SELECT of the
    submissions, history) against a bare INSERT … SELECT of (task, school, place) into a temporary table;
    then a task whose form has a prefilled cell, its prefill computed inline (``prefill_many``), against
    a raw GROUP BY of the student roll-up by school;
(b) completeness (``selectors.completeness``) for the province and for 广州, against a raw GROUP BY of
    the same submissions by child region and status; and the completeness page (``reporting:completeness``
    through Django's test client, when the route exists) for the province officer and 广州's statistician.
    Goal: the page < 200 ms;
(c) after every submission is marked approved with figures in its 16 numeric cells (set-based, as
    setup — not timed), ``selectors.aggregated`` for the province and 广州 against a raw SUM per cell
    over the same rows (both must agree); goal < 10 s. Then the province's approval itself
    (``approve_region``: every one of 38,000 submissions and 21 cities checked) against a raw count.

The bench's task is removed at the end (and any left by an interrupted run at the start); its forms
(BENCH1, and BENCH2 with a prefilled cell) are kept and reused.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

import datetime as dt  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

from bench.run import report, sign_in, timed  # noqa: E402  (one format for every benchmark)

PROVINCE_URL = os.environ.get("PROVINCE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduplatform_province")
OWN_URL = os.environ.get("REPORTING_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduplatform_reporting_bench")
MARKER = "eduplatform reporting benchmark schools"
BENCH_TITLE = "性能测试填报任务"
FORM_CODE = "BENCH1"
CITY_PATH, CITY_CODE = "44/4401/", "440100000000"  # 广州市
GOAL_PAGE_MS = 200
GOAL_AGGREGATE_S = 10
ROWS, COLUMNS = ("R1", "R2", "R3", "R4"), (("C1", "integer"), ("C2", "integer"), ("C3", "integer"), ("C4", "decimal"))
CELLS = [f"T1.{r}.{c}" for r in ROWS for c, _ in COLUMNS]


def say(text: str = "") -> None:
    print(text, flush=True)


def _admin(url: str):
    import psycopg

    parsed = urlparse(url)
    return psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True), parsed.path.lstrip("/")


def database_comment(url: str) -> str | None:
    """The database's comment ("" without one), or None when it does not exist."""
    conn, name = _admin(url)
    with conn:
        row = conn.execute("SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
                           "WHERE datname = %s", [name]).fetchone()
    return None if row is None else row[0]


def choose_database() -> tuple[str, bool]:
    """The province database when it is there, else this bench's own (and whether that must be made)."""
    if (database_comment(PROVINCE_URL) or "").startswith("eduplatform province benchmark data"):
        return PROVINCE_URL, False
    comment = database_comment(OWN_URL)
    return OWN_URL, comment is None or not comment.startswith(MARKER)


def make_schools_database(url: str) -> None:
    """A database with the province's regions, bureaus, 38,000+ schools and the demo accounts."""
    from django.core.management import call_command

    conn, name = _admin(url)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=io.StringIO())
    from eduplatform.demo import province
    from eduplatform.orgs import services as orgs

    department, divisions = province.authorities()
    orgs.register_schools(actor=None, rows=province.school_rows(1.0, 2026))
    province.demo_accounts(divisions, department)
    conn, name = _admin(url)
    with conn:
        conn.execute(f'COMMENT ON DATABASE "{name}" IS ' + "'" + MARKER + json.dumps(
            {"made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}) + "'")
    say(f"  made {name}: the province's schools, no students, in {time.perf_counter() - started:.0f} s")


def definition() -> dict:
    return {
        "code": FORM_CODE, "title": "性能测试报表",
        "tables": [{"code": "T1", "title": "测试表", "unit": "人",
                    "rows": [{"code": r, "label": f"第{i + 1}行"} for i, r in enumerate(ROWS)],
                    "columns": [{"code": c, "label": f"第{i + 1}列", "type": t, **({"decimals": 1} if t == "decimal" else {})}
                                for i, (c, t) in enumerate(COLUMNS)],
                    "cells": {}}],
        "rules": [{"code": "V1", "kind": "hard", "expression": "[T1.R1.C1] >= [T1.R2.C1]", "message": "第2行不能大于第1行",
                   "cells": ["T1.R2.C1"]}],
    }


def bench_form(officer, code: str = FORM_CODE):
    """The bench's published form (BENCH1; BENCH2 has a prefilled cell: the school's enrolled students)."""
    from eduplatform.reporting import services
    from eduplatform.reporting.models import FormVersion, FormVersionStatus

    found = FormVersion.objects.filter(form__code=code, status=FormVersionStatus.PUBLISHED).order_by("-version").first()
    if found is not None:
        return found
    data = {**definition(), "code": code}
    if code != FORM_CODE:
        data["tables"][0]["cells"] = {"R4.C1": {"prefill": "RECORD('students.enrolled')"}}
    draft = services.save_form_draft(actor=officer, code=code, definition=data)
    return services.publish_form_version(actor=officer, version=draft)


def drop_bench_tasks(keep: int | None = None) -> int:
    """Remove the bench's tasks with their submissions, approvals and actions (raw
    deletes: the ORM would collect 38,000 rows in Python first)."""
    from django.db import connection, transaction

    from eduplatform.reporting.models import CollectionTask

    ids = list(CollectionTask.objects.filter(title=BENCH_TITLE).exclude(pk=keep).values_list("id", flat=True))
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cur:
        for table in ("reporting_reviewaction", "reporting_regionapproval", "reporting_submission"):
            cur.execute(f"DELETE FROM {table} WHERE task_id = ANY(%s)", [ids])  # noqa: S608 — fixed names
        # The audit log is append-only (a trigger refuses deletes, issue 17): the tasks' entries stay.
        cur.execute("DELETE FROM reporting_collectiontask WHERE id = ANY(%s)", [ids])
    # 38,000 dead rows a run: vacuumed here, as autovacuum may be off on a development server.
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE reporting_submission")
    return len(ids)


def raw_completeness(task_id: int, prefix: str, child_length: int) -> dict:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT substr(region_path, 1, %s), count(*), count(*) FILTER (WHERE status IN ('submitted', 'approved')),"
                    " count(*) FILTER (WHERE status = 'approved'), count(*) FILTER (WHERE status = 'returned')"
                    " FROM reporting_submission WHERE task_id = %s AND region_path LIKE %s GROUP BY 1",
                    [child_length, task_id, prefix + "%"])
        return {row[0]: row[1:] for row in cur.fetchall()}


def raw_sums(task_id: int, prefix: str) -> dict:
    from decimal import Decimal

    from django.db import connection

    columns = ", ".join(f"sum((\"values\"->>'{cell}')::numeric)" for cell in CELLS)
    with connection.cursor() as cur:
        cur.execute(f"SELECT {columns} FROM reporting_submission WHERE task_id = %s AND status = 'approved' "  # noqa: S608
                    "AND NOT zero_report AND region_path LIKE %s", [task_id, prefix + "%"])
        row = cur.fetchone()
    return {cell: Decimal(value) for cell, value in zip(CELLS, row, strict=True) if value is not None}


def approve_everything(task_id: int) -> None:
    """Setup for (c), not timed: every submission approved with figures in each numeric cell."""
    from django.db import connection, transaction

    pairs = []
    for i, (r, (c, kind)) in enumerate((r, col) for r in ROWS for col in COLUMNS):
        cell = f"T1.{r}.{c}"
        # "%%": the statement goes with parameters, where a bare % starts a placeholder.
        value = "((id %% 1000) / 10.0)::numeric(8,1)::text" if kind == "decimal" else f"((id * {i + 7}) %% 97)::text"
        pairs.append(f"'{cell}', {value}")
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"UPDATE reporting_submission SET status = 'approved', submitted_at = now(), reviewed_at = now(), "  # noqa: S608
                    f"\"values\" = jsonb_build_object({', '.join(pairs)}) WHERE task_id = %s", [task_id])


def main() -> None:
    url, make = choose_database()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    started = time.perf_counter()
    say(f"\nReporting at province scale, database {urlparse(url).path.lstrip('/')}")
    if make:
        make_schools_database(url)
    else:
        call_command("migrate", verbosity=0)
    from eduplatform.accounts.models import User
    from eduplatform.orgs.models import Organization, OrgKind
    from eduplatform.reporting import selectors, services
    from eduplatform.reporting.models import RegionApproval, Submission

    officer = User.objects.get(username="province")
    city_user = User.objects.filter(username="gz_stat").first()
    left = drop_bench_tasks()
    if left:
        say(f"  removed {left} task(s) left by an interrupted run")
    schools = Organization.objects.filter(kind=OrgKind.SCHOOL, is_open=True).count()
    say(f"  {schools:,} open institutions; DEBUG={settings.DEBUG}; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores\n")
    version = bench_form(officer)
    try:
        # (a) Open a task to every school of the province.
        task = services.create_task(actor=officer, title=BENCH_TITLE, period="2026", kind="form", form_version=version,
                                    deadline=timezone.localdate() + dt.timedelta(days=30), targets={},
                                    review_levels=["county", "city", "province"])

        def bare_insert() -> int:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("CREATE TEMP TABLE open_baseline (task_id int, school_id bigint, region_path text)")
                cur.execute("INSERT INTO open_baseline SELECT %s, id, region_path FROM orgs_organization "
                            "WHERE kind = 'school' AND is_open", [task.pk])
                count = cur.rowcount
                cur.execute("DROP TABLE open_baseline")
            return count

        base_s, base_n = timed(bare_insert)
        open_s, task = timed(lambda: services.open_task(actor=officer, task=task))
        n = Submission.objects.filter(task=task).count()
        assert n == base_n == schools, (n, base_n, schools)
        report("open a task to every school (service)", f"{open_s:.2f} s", f"{base_s:.2f} s", open_s / base_s,
               f"bare INSERT…SELECT; {n:,} submissions")

        # (a2) The same with a prefilled cell (the school's enrolled students from the roll-ups), computed
        #      inline here (the worker's job for a task this big) against a raw GROUP BY of the roll-up.
        prefill_task = services.create_task(
            actor=officer, title=BENCH_TITLE, period="2026", kind="form", form_version=bench_form(officer, "BENCH2"),
            deadline=timezone.localdate() + dt.timedelta(days=30), targets={}, review_levels=["county", "city", "province"])
        services.INLINE_PREFILL_SCHOOLS = 10**6

        def raw_prefill() -> int:
            with connection.cursor() as cur:
                cur.execute("SELECT school_id, sum(enrolled) FROM stats_studentrollup GROUP BY school_id")
                return len(cur.fetchall())

        base_s, _ = timed(raw_prefill)
        prefill_s, prefill_task = timed(lambda: services.open_task(actor=officer, task=prefill_task))
        filled = Submission.objects.filter(task=prefill_task).exclude(prefill={}).count()
        report("open with a prefilled cell (prefill inline)", f"{prefill_s:.2f} s", f"{base_s:.2f} s", prefill_s / base_s,
               f"raw GROUP BY of the student roll-up; {filled:,} submissions prefilled")
        drop_bench_tasks(keep=task.pk)

        # (b) Completeness: selector and page, province and one city.
        for label, actor, path in (("province", officer, "44/"), ("广州", city_user or officer, CITY_PATH)):
            child_length = len(path) + (5 if path == "44/" else 7)
            sel_s, rows = timed(lambda a=actor, p=path: selectors.completeness(a, task, p), repeat=10)
            raw_s, raw = timed(lambda p=path, c=child_length: raw_completeness(task.pk, p, c), repeat=10)
            assert sum(r.expected for r in rows) == sum(v[0] for v in raw.values()), label
            report(f"completeness selector ({label})", f"{sel_s * 1000:.1f} ms", f"{raw_s * 1000:.1f} ms", sel_s / raw_s,
                   f"raw GROUP BY; {len(rows)} rows, {sum(r.expected for r in rows):,} schools")
        try:
            page_url = reverse("reporting:completeness", args=[task.pk])
        except NoReverseMatch:
            page_url = None
            say("  completeness page: route reporting:completeness not found, not timed")
        if page_url:
            for label, actor, query, path in (("province", officer, "", "44/"),
                                              ("广州", city_user or officer, "" if city_user else f"?region={CITY_CODE}",
                                               CITY_PATH)):
                client = Client(raise_request_exception=False)
                sign_in(client, actor)
                status = client.get(page_url + query).status_code  # cold
                page_s, _ = timed(lambda c=client, q=query: c.get(page_url + q), repeat=10)
                child_length = len(path) + (5 if path == "44/" else 7)
                raw_s, _ = timed(lambda p=path, c=child_length: raw_completeness(task.pk, p, c), repeat=10)
                verdict = "ok" if page_s * 1000 < GOAL_PAGE_MS and status == 200 else "MISS"
                report(f"completeness page ({label}, HTTP {status})", f"{page_s * 1000:.1f} ms", f"{raw_s * 1000:.1f} ms",
                       page_s / raw_s, f"raw GROUP BY; goal < {GOAL_PAGE_MS} ms: {verdict}")

        # (c) Aggregation of every approved submission, and the province's approval.
        approve_everything(task.pk)
        for label, path in (("province", "44/"), ("广州", CITY_PATH)):
            agg_s, totals = timed(lambda p=path: selectors.aggregated(officer, task, p), repeat=3)
            raw_s, raw = timed(lambda p=path: raw_sums(task.pk, p), repeat=3)
            assert totals == raw, (label, totals, raw)
            count = Submission.objects.filter(task=task, region_path__startswith=path).count()
            verdict = "ok" if agg_s < GOAL_AGGREGATE_S else "MISS"
            report(f"aggregate approved submissions ({label})", f"{agg_s * 1000:.0f} ms", f"{raw_s * 1000:.0f} ms",
                   agg_s / raw_s, f"raw SUM per cell; {count:,} submissions × {len(CELLS)} cells, equal; "
                                  f"goal < {GOAL_AGGREGATE_S} s: {verdict}")
        cities = sorted(selectors.child_nodes_required(task, "44/"))
        RegionApproval.objects.bulk_create([RegionApproval(task=task, region_path=p, level="city", approved_by="bench")
                                            for p in cities])

        def raw_pending() -> int:
            with connection.cursor() as cur:
                cur.execute("SELECT count(*) FROM reporting_submission WHERE task_id = %s AND region_path LIKE '44/%%' "
                            "AND status <> 'approved'", [task.pk])
                return cur.fetchone()[0]

        raw_s, _ = timed(raw_pending, repeat=5)
        approve_s, _ = timed(lambda: services.approve_region(actor=officer, task=task, region_path="44/"))
        report("approve the province (service)", f"{approve_s * 1000:.0f} ms", f"{raw_s * 1000:.1f} ms", approve_s / raw_s,
               f"raw count of unapproved submissions; {n:,} submissions and {len(cities)} cities checked")
    finally:
        drop_bench_tasks()
    say(f"  reporting bench took {time.perf_counter() - started:.0f} s; the bench's task removed")


if __name__ == "__main__":
    main()
