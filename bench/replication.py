"""Replication lag of a city node under a write burst (docs/nodes.md), on clusters of its own.

    make bench                              (bench/run.py runs this last)
    .venv/bin/python bench/replication.py   (alone; needs /usr/lib/postgresql/15/bin and, as root, runuser)

Starts a province and a node cluster with wal_level=logical on free ports (scripts/pg-cluster.sh;
fsync off, as in the test; the province with synchronous_commit on), fills the province with the demo generator (bulk path), publishes
Guangzhou and Shenzhen, and subscribes a Guangzhou node through ``node_subscribe`` (migrate first).

Figures, each beside a baseline measured in the same run:
- initial copy of the Guangzhou node      vs  pg_dump of the same rows at the province
- 50,000 enrolment updates in one commit  vs  that commit's own time at the province
- 5,000 single-row commits                vs  their time at the province
- 50,000 updates in Shenzhen (filtered out for the Guangzhou node): time until the node has passed them
- steady-state heartbeat lag (received_at − beaten_at, beats every 0.2 s under light writes)
The "lag" of a burst is the time from the province's COMMIT until the node has applied it (a
heartbeat written right after the burst arrives, since a subscription applies in commit order).
The clusters are destroyed at the end, even on failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, Python puts bench/ first on sys.path, where bench/statistics.py would shadow the
# standard library's statistics module.
if Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import psycopg  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLUSTER = ROOT / "scripts" / "pg-cluster.sh"
BURST = 50_000
SMALL_COMMITS = 5_000


def report(name: str, figure: str, baseline: str, ratio: float, note: str = "") -> None:
    print(f"{name:<46} {figure:>16}   baseline {baseline:>16}   ratio {ratio:8.3g}  {note}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: list[str], **kwargs) -> str:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)  # noqa: S603 — our own commands
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def sql(url: str, query: str, params: tuple | None = None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def manage(url: str, *args: str) -> str:
    return run([sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, timeout=1800)


def wait(condition, timeout: float, what: str) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if condition():
            return time.perf_counter()
        time.sleep(0.005)
    sys.exit(f"timed out after {timeout} s waiting for {what}")


def beat(province: str, city: str) -> object:
    return sql(province, "UPDATE nodes_nodeheartbeat SET beaten_at = clock_timestamp() WHERE city_code = %s "
                         "RETURNING beaten_at", (city,))[0][0]


def node_has(node: str, city: str, beaten_at: object) -> bool:
    return bool(sql(node, "SELECT 1 FROM nodes_nodeheartbeat WHERE city_code = %s AND beaten_at >= %s",
                    (city, beaten_at)))


def update_burst(province: str, path: str, rows: int) -> tuple[float, float]:
    """``rows`` enrolment updates of one city in one transaction (repeating over the city's rows if it
    has fewer): returns (start, commit end) on the perf counter."""
    with psycopg.connect(province) as conn:
        started = time.perf_counter()
        done = 0
        while done < rows:
            cur = conn.execute(
                "UPDATE students_enrolment SET updated_at = clock_timestamp() WHERE id IN (SELECT id FROM "
                "students_enrolment WHERE region_path LIKE %s ORDER BY id LIMIT %s)", (path + "%", rows - done))
            done += cur.rowcount
        conn.commit()
        return started, time.perf_counter()


def main() -> None:
    if not (PG_BIN / "initdb").exists() or (os.geteuid() == 0 and shutil.which("runuser") is None):
        print("replication: skipped (needs PostgreSQL 15's initdb and, as root, runuser)")
        return
    base = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    base.chmod(0o755)
    ports = {"province": free_port(), "node": free_port()}
    try:
        for name, port in ports.items():
            # The province commits as in production (synchronous_commit=on): with it off, WAL reaches
            # the sender only at the WAL writer's next flush (200 ms), which the lag would measure.
            env = {**os.environ, "PG_CLUSTER_OPTIONS": "-c synchronous_commit=on"} if name == "province" else None
            run(["bash", str(CLUSTER), "start", str(base / name), str(port)], timeout=120, env=env)
        measure(ports)
    finally:
        for name in ports:
            subprocess.run(["bash", str(CLUSTER), "destroy", str(base / name)], capture_output=True, timeout=120)  # noqa: S603, S607
        shutil.rmtree(base, ignore_errors=True)


def measure(ports: dict[str, int]) -> None:
    province = f"postgres://postgres@127.0.0.1:{ports['province']}/province"
    node = f"postgres://postgres@127.0.0.1:{ports['node']}/node_4401"
    for url in (province, node):
        admin, db = url.rsplit("/", 1)
        sql(admin + "/postgres", f'CREATE DATABASE "{db}"')
    manage(province, "migrate", "--verbosity", "0")
    manage(province, "load_reference")
    manage(province, "generate_demo", "--scale", "0.02", "--students", "0.2", "--bulk")
    manage(province, "node_publish", "--city", "4401", "--city", "4403")
    gz_rows = sql(province, "SELECT count(*) FROM students_enrolment WHERE region_path LIKE '44/4401/%'")[0][0]
    total_rows = sql(province, "SELECT count(*) FROM students_enrolment")[0][0]
    print(f"\nCity node replication (province: {total_rows:,} enrolments, {gz_rows:,} in Guangzhou)")

    # The node's schema by its migrations (what node_subscribe runs first), then the initial copy,
    # which runs in the background after CREATE SUBSCRIPTION.
    started = time.perf_counter()
    manage(node, "migrate", "--verbosity", "0")
    migrate_s = time.perf_counter() - started
    started = time.perf_counter()
    manage(node, "node_subscribe", "--no-migrate", "--province-dsn",
           f"host=127.0.0.1 port={ports['province']} dbname=province user=postgres", "--city", "4401")

    def copied() -> bool:
        ((ready, total),) = sql(node, "SELECT count(*) FILTER (WHERE srsubstate IN ('r','s')), count(*) "
                                      "FROM pg_subscription_rel")
        return total > 0 and ready == total

    copy_done = wait(copied, 600, "the initial copy")
    node_rows = sql(node, "SELECT count(*) FROM students_enrolment")[0][0]
    assert node_rows == gz_rows, (node_rows, gz_rows)
    dump_started = time.perf_counter()
    run([str(PG_BIN / "pg_dump"), "--data-only", "-f", os.devnull, province], timeout=600)
    dump_s = time.perf_counter() - dump_started
    report("node: subscribe + initial copy", f"{copy_done - started:.1f} s", f"{dump_s:.1f} s", (copy_done - started) / dump_s,
           f"baseline: pg_dump --data-only of the whole province; node migrate before: {migrate_s:.1f} s")

    # One big commit: 50,000 enrolment updates in Guangzhou.
    start, committed = update_burst(province, "44/4401/", BURST)
    mark = beat(province, "4401")
    arrived = wait(lambda: node_has(node, "4401", mark), 300, "the burst on the node")
    commit_s, lag_s = committed - start, arrived - committed
    report(f"{BURST:,} updates, one commit: lag after commit", f"{lag_s:.2f} s", f"{commit_s:.2f} s", lag_s / commit_s,
           "baseline: the burst's own time at the province")
    same = sql(province, "SELECT count(*), max(updated_at) FROM students_enrolment WHERE region_path LIKE '44/4401/%'")[0]
    assert sql(node, "SELECT count(*), max(updated_at) FROM students_enrolment")[0] == same

    # Many small commits, as an API client or clerks produce them.
    ids = [r[0] for r in sql(province, "SELECT id FROM students_enrolment WHERE region_path LIKE %s "
                                       "ORDER BY id LIMIT %s", ("44/4401/%", SMALL_COMMITS))]
    with psycopg.connect(province, autocommit=True) as conn:
        start = time.perf_counter()
        for pk in ids:
            conn.execute("UPDATE students_enrolment SET updated_at = clock_timestamp() WHERE id = %s", (pk,))
        committed = time.perf_counter()
    mark = beat(province, "4401")
    arrived = wait(lambda: node_has(node, "4401", mark), 300, "the small commits on the node")
    report(f"{len(ids):,} single-row commits: lag after last", f"{arrived - committed:.2f} s", f"{committed - start:.2f} s",
           (arrived - committed) / (committed - start), "baseline: the commits' own time at the province")

    # A burst of another city: decoded and filtered out at the province, never sent to this node.
    start, committed = update_burst(province, "44/4403/", BURST)
    mark = beat(province, "4401")
    arrived = wait(lambda: node_has(node, "4401", mark), 300, "the node to pass the Shenzhen burst")
    report(f"{BURST:,} Shenzhen updates: GZ node passes", f"{arrived - committed:.2f} s", f"{committed - start:.2f} s",
           (arrived - committed) / (committed - start), "filtered out at the province (row filter)")

    # Steady state: a beat every 0.2 s while a clerk-like trickle of writes goes on.
    samples = []
    with psycopg.connect(province, autocommit=True) as conn:
        for i in range(50):
            conn.execute("UPDATE students_enrolment SET updated_at = clock_timestamp() WHERE id = %s", (ids[i],))
            mark = beat(province, "4401")
            wait(lambda m=mark: node_has(node, "4401", m), 30, "a heartbeat")
            samples.append(sql(node, "SELECT extract(epoch FROM received_at - beaten_at) FROM nodes_nodeheartbeat "
                                     "WHERE city_code = '4401'")[0][0])
            time.sleep(0.2)
    samples = sorted(float(s) for s in samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    median_ms = statistics.median(samples) * 1000
    report("steady heartbeat lag (median, p95)", f"{median_ms:.0f} ms / {p95 * 1000:.0f} ms", "2,000 ms",
           median_ms / 2000, "baseline: the 2 s goal of the acceptance test")
    status = manage(node, "node_status")
    print("  " + status.strip().replace("\n", "\n  "))


if __name__ == "__main__":
    main()
