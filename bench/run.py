"""Benchmarks on PostgreSQL, each printed beside a baseline measured in the same run.

    make bench          (DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/eduplatform_bench)

The database named in DATABASE_URL is dropped and created afresh, then filled with a
province-size set of 38,000+ institutions by the same service the demo uses. The statistics
benchmarks (bench/statistics.py), the page benchmark (bench/pages.py) and the concurrent
registrations (bench/concurrent_writes.py) run last, on a province of 27 million students kept in a
database of their own (PROVINCE_DATABASE_URL) that is generated once and reused; the student import runs there too (bench/import_province.py), into
a school of the full province, and removes what it wrote.
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

import io  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
URL = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduplatform_bench")


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def sign_in(client, user) -> None:
    """``client.force_login(user)`` and, for a user who needs a second factor (三员, province users),
    the code step as a real login with a TOTP code ends: pages measured are the pages, not the
    code prompt. Creates the user's device if it has none (the benchmark databases' accounts)."""
    client.force_login(user)
    from eduplatform.accounts.twofactor import needs_code_step

    if needs_code_step(user):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="bench", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


def report(name: str, figure: str, baseline: str, ratio: float, note: str = "") -> None:
    print(f"{name:<46} {figure:>16}   baseline {baseline:>16}   ratio {ratio:8.3g}  {note}")


STARTED = time.perf_counter()


def server_settings() -> str:
    """The PostgreSQL settings that decide the figures, and a warning when the server runs without
    deploy/postgres/eduplatform.conf (scripts/pg-tune.sh applies it): figures are comparable with
    the published ones only on a server configured as production is."""
    import psycopg

    names = ("shared_buffers", "work_mem", "effective_cache_size", "max_wal_size", "random_page_cost", "jit")
    with psycopg.connect(URL.rsplit("/", 1)[0] + "/postgres") as conn:
        values = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}
        tuned = conn.execute("SELECT setting::bigint * 8192 >= 4 * 1024 ^ 3 FROM pg_settings "
                             "WHERE name = 'shared_buffers'").fetchone()[0]
    line = "server: " + ", ".join(f"{name} {value}" for name, value in values.items())
    if not tuned:
        line += "\n  WARNING: not the production settings (deploy/postgres/eduplatform.conf); run scripts/pg-tune.sh"
    return line


def main() -> None:
    if not URL.startswith("postgres"):
        sys.exit("bench/run.py measures PostgreSQL: set DATABASE_URL=postgres://…")
    recreate_database(URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    call_command("load_reference", stdout=io.StringIO())

    from eduplatform.demo import province
    from eduplatform.orgs import selectors, services
    from eduplatform.orgs.models import Region

    print(f"PostgreSQL benchmark, database {urlparse(URL).path.lstrip('/')}")
    print(server_settings() + "\n")
    province.authorities()
    rows = province.school_rows(1.0, 2026)
    n = len(rows)

    # 1. Registering a province of schools through the service (validation, versions, audit,
    #    change feed, dirty marks) against a bare COPY of the same rows into a plain table.
    def bare_copy() -> None:
        with connection.cursor() as cur:
            cur.execute("CREATE TEMP TABLE copy_baseline (code text, name text, type text, town text, address text)")
            with cur.copy("COPY copy_baseline FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((r["school_code"], r["name"], r["school_type_code"], r["town_code"], r["address"]))
            cur.execute("DROP TABLE copy_baseline")

    with transaction.atomic():
        copy_s, _ = timed(bare_copy)
    service_s, _ = timed(lambda: services.register_schools(actor=None, rows=rows))
    report("register schools (service, all writes)", f"{n / service_s:,.0f} rows/s", f"{n / copy_s:,.0f} rows/s",
           (n / service_s) / (n / copy_s), f"COPY baseline; {n:,} schools in {service_s:.1f} s")

    department, divisions = province.authorities()
    province.demo_accounts(divisions, department)
    from eduplatform.accounts.models import User

    county_user = User.objects.get(username="th_stat")
    province_user = User.objects.get(username="province")
    county = Region.objects.get(code=province.DEMO_COUNTY)
    top = Region.objects.get(level="province")

    # 2. The county's tree page query (scoped, grouped) against the same count over the whole province.
    scoped_s, _ = timed(lambda: selectors.region_children_with_counts(county_user, county), repeat=30)
    whole_s, _ = timed(lambda: selectors.region_children_with_counts(province_user, top), repeat=30)
    report("county tree with school counts (scoped)", f"{scoped_s * 1000:.1f} ms", f"{whole_s * 1000:.1f} ms",
           scoped_s / whole_s, "baseline: province tree over all schools")

    # 3. School search in scope: one page of a county user's list against the province officer's.
    def page(user) -> int:
        return len(list(selectors.search_schools(user, text="小学")[:50]))

    county_page, _ = timed(lambda: page(county_user), repeat=30)
    province_page, _ = timed(lambda: page(province_user), repeat=30)
    report("school search, first page (county scope)", f"{county_page * 1000:.1f} ms", f"{province_page * 1000:.1f} ms",
           county_page / province_page, "baseline: same search, province scope")

    # 4–5. The student register: a school's spreadsheet import, and a city's year-end promotion.
    from bench import students

    clerk = User.objects.get(username="school_clerk")
    students.bench_import(report, timed, clerk.organization, clerk)
    students.bench_promotion(report, timed, User.objects.get(username="gz_stat"), "44/4401/")

    # 6–7. Statistics at province scale, on their own database (generated once, then reused): a
    #      process of its own, as Django here is bound to this run's database.
    subprocess.run([sys.executable, str(ROOT / "bench" / "statistics.py")], check=True)  # noqa: S603 — our own script
    #    Then every page as a province, a stage-limited province, a city and a county user, on that
    #    database (read-only but for the logins' session rows): median and p95 beside the goal and the
    #    raw query for the same figure (bench/pages.py; the table also goes to var/bench-pages.json).
    subprocess.run([sys.executable, str(ROOT / "bench" / "pages.py")], check=True)  # noqa: S603
    # 8. Twenty concurrent writers registering in twenty schools of one county, on the same database.
    subprocess.run([sys.executable, str(ROOT / "bench" / "concurrent_writes.py")], check=True)  # noqa: S603
    # 9. The 50,000-row student import again, into a school of that province of 27 million students
    #    (removed again afterwards), beside a bare COPY of the same rows.
    subprocess.run([sys.executable, str(ROOT / "bench" / "import_province.py")], check=True)  # noqa: S603
    # 9b. The same students through the open API's batch upsert (10,000 a request), beside the
    #     spreadsheet import and a bare COPY of the same rows (bench/api_upsert.py; removed afterwards).
    subprocess.run([sys.executable, str(ROOT / "bench" / "api_upsert.py")], check=True)  # noqa: S603
    # 10. Reporting: a task sent to every school, its completeness and the aggregation of 38,000
    #     approved submissions, on the same database (bench/reporting.py; its task removed afterwards).
    subprocess.run([sys.executable, str(ROOT / "bench" / "reporting.py")], check=True)  # noqa: S603
    # 11. City nodes: replication lag of a Guangzhou node under a 50,000-update burst, many small
    #     commits and steady writes, on a province and a node cluster of its own (bench/replication.py).
    subprocess.run([sys.executable, str(ROOT / "bench" / "replication.py")], check=True)  # noqa: S603
    # 12. Data quality on the province database: the duplicate-person scan of the whole province and
    #     every rule over its biggest county (bench/quality_scans.py, nothing written), and the
    #     province officer's 建库进度 page (bench/progress.py), each beside a raw query in the same run.
    subprocess.run([sys.executable, str(ROOT / "bench" / "quality_scans.py")], check=True)  # noqa: S603
    subprocess.run([sys.executable, str(ROOT / "bench" / "progress.py")], check=True)  # noqa: S603
    # 13. Sealing the audit chain: 100,000 committed entries hashed and chained, and the whole
    #     chain verified, beside the COPY that wrote them (bench/audit_chain.py; removed afterwards).
    subprocess.run([sys.executable, str(ROOT / "bench" / "audit_chain.py")], check=True)  # noqa: S603
    # 14. Load: the production server (gunicorn, as `make serve` runs it) on the province database,
    #     mixed reads and writes by 50 and 200 users (locust) beside one user (bench/load.py).
    subprocess.run([sys.executable, str(ROOT / "bench" / "load.py")], check=True)  # noqa: S603
    print(f"\nmake bench took {(time.perf_counter() - STARTED) / 60:.1f} min")


if __name__ == "__main__":
    main()
