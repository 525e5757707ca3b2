"""Load test of the production server: mixed reads and writes by 50 and 200 simulated users.

    make bench                      (bench/run.py runs this last, on PROVINCE_DATABASE_URL)
    .venv/bin/python bench/load.py  (alone; PROVINCE_DATABASE_URL names the database, e.g. a small
                                     one made by `manage.py generate_demo --scale 0.01 --bulk`)

The server is the production stack of ``make serve`` (deploy/serve.sh: collectstatic with hashed,
compressed files, gunicorn with WEB_WORKERS sync workers, JSON logs) on 127.0.0.1:LOAD_PORT, without
``migrate``, the worker and the scheduler (``SERVE_MIGRATE=0 SERVE_WORKER=0 SERVE_SCHEDULER=0``):
the web tier is what is measured — a student edit's roll-up refresh runs inline after its commit
anyway — and the bench must not start queued jobs or scheduled scans on the benchmark database.

The users (bench/load_users.py, locust): officers (province, city, county statisticians) open list,
record and statistics pages and the home page; school clerks open their students, a record, and
edit a student through the form; API clients read students through /api/v1/ — each with a think
time of LOAD_WAIT seconds (default 1–3) between clicks. Each level runs LOAD_SECONDS (default 60)
after its users have logged in; logins and the ramp are not in the figures. Printed per level:
requests/s, p50/p95/p99 and errors, beside the baseline measured in the same run: ONE user, doing
the same mix. Goal: p95 under 300 ms with no error at 50 users.

What it writes to the database: the sessions of its logins, and the edits (one field of the clerk's
students alternated between two values: each edit is audited and fed like any other).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

URL = os.environ.get("PROVINCE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/eduplatform_province")
os.environ["DATABASE_URL"] = URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

PORT = int(os.environ.get("LOAD_PORT", "8020"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
LEVELS = [int(n) for n in os.environ.get("LOAD_USERS", "50,200").split(",")]
GOAL_P95_MS = 300
PASSWORD = "Demo@2026pass"  # noqa: S105 — the demo accounts' published password (README)
OFFICERS = ["province", "gz_stat", "th_stat"]
CLERKS = ["school_clerk"]
# The field a clerk's edit alternates, and its two values.
EDIT_FIELD = "mailing_address"  # 通信地址
EDIT_VALUES = ["广州市天河区五山路 1 号（压测）", "广州市天河区五山路 2 号（压测）"]
SETUP_NAMES = {"login", "token"}


def say(text: str = "") -> None:
    print(text, flush=True)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def records() -> dict:
    """Accounts and records the simulated users open, read from the database."""
    import django

    django.setup()
    from django.db import connection

    from eduplatform.accounts.models import User
    from eduplatform.demo.exchange import CLIENT_NAME, DEMO_SECRET
    from eduplatform.exchange.models import ApiClient
    from eduplatform.orgs.models import Organization
    from eduplatform.students.models import Enrolment

    users = {u.username: u for u in User.objects.filter(username__in=OFFICERS + CLERKS).select_related("organization")}
    missing = sorted(set(OFFICERS + CLERKS) - set(users))
    if missing:
        sys.exit(f"bench/load.py: demo accounts {missing} missing in {urlparse(URL).path}: generate the data first")
    clerk_school = users["school_clerk"].organization
    county_path = users["th_stat"].organization.region_path
    # Records every officer may open (天河区 lies in 广州 and the province), and the clerk's own.
    students = list(Enrolment.objects.filter(is_active=True, region_path__startswith=county_path)
                    .order_by("student_id").values_list("student__public_id", flat=True)[:300])
    clerk_students = list(Enrolment.objects.filter(is_active=True, school=clerk_school)
                          .order_by("student_id").values_list("student__public_id", flat=True)[:300])
    schools = list(Organization.objects.filter(kind="school", region_path__startswith=county_path,
                                               school_code__isnull=False)
                   .order_by("pk").values_list("school_code", flat=True)[:100])
    client = ApiClient.objects.filter(name=CLIENT_NAME).select_related("application").first()
    if not (students and clerk_students and schools and client):
        sys.exit("bench/load.py: the database lacks students, schools or the demo API client")
    officers = load_officers(users)
    connection.close()
    return {"password": PASSWORD, "officers": officers, "clerks": CLERKS,
            "students": [str(s) for s in students], "clerk_students": [str(s) for s in clerk_students],
            "schools": schools, "edit_field": EDIT_FIELD, "edit_values": EDIT_VALUES,
            "api": {"client_id": client.application.client_id, "client_secret": DEMO_SECRET}}


def load_officers(templates: dict) -> list[dict]:
    """One account per simulated officer (``load_<template>_<n>``, with the template's unit, roles and
    password hash, and a TOTP device of their own): officers must pass the code step, and a code is
    single-use per device, so two simulated people cannot share an account's login. Made once,
    reused by later runs; the last one is the warm-up's."""
    import secrets

    from django.db import transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from eduplatform.accounts.models import RoleAssignment, User

    wanted = 1 + sum(LEVELS) + 1  # the baseline's, each level's own (a code is single-use for 30 s), the warm-up's
    out: list[dict] = []
    with transaction.atomic():
        for i in range(wanted):
            template = templates[OFFICERS[i % len(OFFICERS)]]
            username = f"load_{template.username}_{i:03d}"
            user, created = User.objects.get_or_create(username=username, defaults={
                "organization": template.organization, "stage_mask": template.stage_mask,
                "password": template.password, "display_name": f"压测{template.display_name or template.username}",
                "must_change_password": False, "password_changed_at": template.password_changed_at})
            if created:
                RoleAssignment.objects.bulk_create([RoleAssignment(user=user, role=role)
                                                    for role in template.role_set])
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
                user=user, name="load test", confirmed=True, key=secrets.token_hex(20))
            out.append({"username": username, "totp_key": device.key})
    return out


def start_server(log_path: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": URL, "WEB_BIND": f"127.0.0.1:{PORT}", "SERVE_MIGRATE": "0",
           "SERVE_WORKER": "0", "SERVE_SCHEDULER": "0", "LOG_FORMAT": "json",
           "PY": sys.executable, "PROMETHEUS_MULTIPROC_DIR": str(ROOT / "var" / f"prometheus-load-{PORT}")}
    server = subprocess.Popen(["bash", str(ROOT / "deploy" / "serve.sh")], env=env, cwd=ROOT,  # noqa: S603, S607
                              stdout=log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600  # the first collectstatic compresses everything (brotli)
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"bench/load.py: the server stopped (see {log_path})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return server
        except OSError:
            pass
        time.sleep(1)
    stop_server(server)
    sys.exit(f"bench/load.py: the server did not answer within 10 minutes (see {log_path})")


def warm_up(config: dict) -> None:
    """Every worker process loads code, code tables and its first connection on its first requests:
    a few rounds of the pages before anything is measured."""
    import http.cookiejar
    import re

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://127.0.0.1:{PORT}"
    page = opener.open(f"{base}/accounts/login/", timeout=120).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    from urllib.parse import urlencode

    officer = config["officers"][-1]  # the warm-up's own account: its code is not a simulated user's
    page = opener.open(f"{base}/accounts/login/", data=urlencode({
        "username": officer["username"], "password": config["password"], "csrfmiddlewaretoken": token}).encode(),
        timeout=120).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    from bench.totp import totp_now

    opener.open(f"{base}/accounts/login/code/", data=urlencode({
        "token": totp_now(officer["totp_key"]), "csrfmiddlewaretoken": token}).encode(), timeout=120).read()
    urls = ["/", "/students/", "/orgs/schools/", "/staff/", "/statistics/", "/statistics/pivot/",
            "/statistics/indicators/", f"/students/{config['students'][0]}/", f"/orgs/schools/{config['schools'][0]}/"]
    workers = int(os.environ.get("WEB_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
    for _ in range(workers):
        for url in urls:
            opener.open(base + url, timeout=120).read()


def stop_server(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def run_level(users: int, config_path: Path, workdir: Path, *, wait: str | None = None, seats: int = 0) -> dict:
    """``seats``: the first officer account this level's users take (levels use accounts of their own)."""
    samples_path = workdir / f"samples-{users}.json"
    ramp = max(1.0, users / 10)  # users start over about 10 s
    env = {**os.environ, "LOAD_CONFIG": str(config_path), "LOAD_SAMPLES": str(samples_path),
           "LOAD_USERS_TARGET": str(users), "LOAD_MEASURE_SECONDS": str(SECONDS), "LOAD_SEAT_OFFSET": str(seats)}
    if wait is not None:
        env["LOAD_WAIT"] = wait
    # The run stops itself SECONDS after the last login (bench/load_users.py); -t only bounds it.
    subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_users.py"), "--headless",  # noqa: S603
                    "--host", f"http://127.0.0.1:{PORT}", "-u", str(users), "-r", f"{users / ramp:.2f}",
                    "-t", f"{SECONDS + ramp + 600:.0f}s", "--only-summary", "--loglevel", "WARNING",
                    "--stop-timeout", "10"],
                   env=env, cwd=ROOT, check=False, stdout=subprocess.DEVNULL,
                   stderr=(workdir / f"locust-{users}.log").open("w"))
    data = json.loads(samples_path.read_text())
    # The steady state: from the last login to the end (requests finished in that window).
    start = data["marks"].get("measure") or data["marks"].get("spawned", 0)
    window = [s for s in data["samples"] if s[0] >= start and s[1] not in SETUP_NAMES]
    setup = [s for s in data["samples"] if s[1] in SETUP_NAMES]
    span = (max(s[0] for s in window) - start) if window else 0.0
    ms = [s[2] for s in window]
    kinds: dict[str, list[float]] = {}
    for s in window:
        kinds.setdefault(s[1].split(":")[0], []).append(s[2])
    return {
        "users": users, "requests": len(window), "rps": len(window) / span if span else 0.0,
        "p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99),
        "errors": sum(1 for s in window if not s[3]), "setup_errors": sum(1 for s in setup if not s[3]),
        "logins_p95": percentile([s[2] for s in setup], 95),
        "kinds": {k: (len(v), percentile(v, 95)) for k, v in sorted(kinds.items())},
    }


def report(name: str, figure: str, baseline: str, ratio: float, note: str = "") -> None:
    print(f"{name:<46} {figure:>16}   baseline {baseline:>16}   ratio {ratio:8.3g}  {note}", flush=True)


def main() -> None:
    say(f"\nLoad test (locust) of the production server on {urlparse(URL).path.lstrip('/')}: "
        f"{describe()}")
    one, five, _ = os.getloadavg()
    say(f"  machine: {os.cpu_count()} cores, load average {one:.2f}, {five:.2f} before the run")
    config = records()
    workdir = Path(tempfile.mkdtemp(prefix="edu-load-"))
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config, ensure_ascii=False))
    server = start_server(workdir / "server.log")
    try:
        warm_up(config)
        # Baseline: one user, the same mix, no think time (its latency does not depend on it; more samples).
        baseline = run_level(1, config_path, workdir, wait="0-0")
        results = [run_level(n, config_path, workdir, seats=1 + sum(LEVELS[:i])) for i, n in enumerate(LEVELS)]
    finally:
        stop_server(server)
    for r in [baseline, *results]:
        kinds = ", ".join(f"{k} {n}× p95 {p:.0f}" for k, (n, p) in r["kinds"].items())
        say(f"  {r['users']:>4} users: {r['requests']:,} requests, {r['rps']:.1f}/s, p50 {r['p50']:.0f} ms, "
            f"p95 {r['p95']:.0f} ms, p99 {r['p99']:.0f} ms, errors {r['errors']} "
            f"(logins p95 {r['logins_p95']:.0f} ms, {r['setup_errors']} failed) — {kinds}")
    for r in results:
        goal = ""
        if r["users"] == 50:
            met = r["p95"] < GOAL_P95_MS and r["errors"] == 0 and r["setup_errors"] == 0
            goal = f"goal p95 < {GOAL_P95_MS} ms, 0 errors: {'met' if met else 'NOT met'}"
        report(f"load, {r['users']} users: p95", f"{r['p95']:.0f} ms", f"{baseline['p95']:.0f} ms",
               r["p95"] / baseline["p95"] if baseline["p95"] else 0.0, goal)
        report(f"load, {r['users']} users: requests/s", f"{r['rps']:.1f}/s", f"{baseline['rps']:.1f}/s",
               r["rps"] / baseline["rps"] if baseline["rps"] else 0.0,
               f"p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms, errors {r['errors'] + r['setup_errors']}")
    say(f"  (baseline: one user, same mix; server log and samples in {workdir})")


def describe() -> str:
    workers = os.environ.get("WEB_WORKERS", str(2 * (os.cpu_count() or 1) + 1))
    return (f"gunicorn {workers} workers, levels {', '.join(map(str, LEVELS))} users, {SECONDS:.0f} s each "
            f"after the ramp, think time {os.environ.get('LOAD_WAIT', '1-3')} s")


if __name__ == "__main__":
    main()
