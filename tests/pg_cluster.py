"""Throwaway PostgreSQL 15 clusters for the tests that need servers of their own: backup and
point-in-time restore (test_backup_restore.py) and the streaming replica (test_replica_reads.py).

- ``workspace()`` gives a temporary directory whose clusters are destroyed at the end, even when a
  test fails; ``Workspace.cluster(name)`` a cluster on a free port (started by scripts/pg-cluster.sh:
  fsync off, never for production).
- ``copy_test_database`` loads the migrated test database (schema and reference data) into a cluster:
  much faster than migrating it again.
- ``App`` is a Django process whose ``DATABASE_URL`` is such a cluster, driven step by step: each
  step is a function ``_app_<step>`` of the test module, run in that process (it keeps its state —
  logged-in test clients — between steps) and answering JSON.

PostgreSQL refuses to run as root: as root, the servers and the tools that write their directories
run as the postgres OS user (runuser), which owns the directories made here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
CLUSTER_SCRIPT = ROOT / "scripts" / "pg-cluster.sh"
AS_ROOT = os.geteuid() == 0
# Tables a copy of the test database keeps when its records are emptied: reference data.
REFERENCE_TABLES = ("django_migrations", "django_content_type", "auth_permission")
REFERENCE_PREFIXES = ("orgs_region%", "standards_%", "funding_%")


def missing_tools(*tools: str) -> str:
    """Why these tests cannot run here ('' if they can)."""
    for tool in ("initdb", "pg_ctl", "pg_dump", "psql", *tools):
        if not (PG_BIN / tool).exists():
            return f"{PG_BIN / tool} not found: this test starts its own PostgreSQL 15 clusters"
    if AS_ROOT and shutil.which("runuser") is None:
        return "runuser not found: as root the clusters must be started as the postgres OS user"
    return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if AS_ROOT else args


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
    kwargs.setdefault("timeout", 120)
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)  # noqa: S603 — our own commands
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(query, params or None)
        return rows.fetchall() if rows.description else []


def wait_for(condition: Callable[[], object], *, what: str, timeout: float, interval: float = 0.05) -> float:
    """Seconds until ``condition()`` is true; fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Cluster:
    directory: Path
    port: int

    def url(self, db: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def start(self, options: str = "") -> None:
        """initdb if the directory holds no cluster yet (a base backup or a restore does), then start."""
        env = {**os.environ, "PG_BIN": str(PG_BIN), "PG_CLUSTER_OPTIONS": options}
        run(["bash", str(CLUSTER_SCRIPT), "start", str(self.directory), str(self.port)], env=env)

    def stop(self) -> None:
        run(["bash", str(CLUSTER_SCRIPT), "stop", str(self.directory)], env={**os.environ, "PG_BIN": str(PG_BIN)})

    def log(self) -> str:
        path = self.directory / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class Workspace:
    base: Path
    clusters: list[Cluster] = field(default_factory=list)
    apps: list[App] = field(default_factory=list)

    def cluster(self, name: str) -> Cluster:
        cluster = Cluster(self.base / name, free_port())
        self.clusters.append(cluster)
        return cluster

    def directory(self, name: str) -> Path:
        """An empty directory the postgres OS user owns (an archive, a backup store)."""
        path = self.base / name
        path.mkdir(mode=0o700)
        if AS_ROOT:
            shutil.chown(path, "postgres", "postgres")
        return path

    def app(self, module: str, database_url: str, **env: str) -> App:
        app = App(module, {"DATABASE_URL": database_url, **env}, log=self.base / f"app-{len(self.apps)}.log")
        self.apps.append(app)
        return app


@contextmanager
def workspace(prefix: str) -> Iterator[Workspace]:
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # the postgres OS user must reach the cluster directories
    space = Workspace(base)
    try:
        yield space
    finally:
        for app in space.apps:
            app.close()
        # Side by side: each stop waits for its server, and the machine may be busy.
        stops = [subprocess.Popen(["bash", str(CLUSTER_SCRIPT), "destroy", str(c.directory)],  # noqa: S603, S607
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**os.environ, "PG_BIN": str(PG_BIN)}) for c in space.clusters]
        for stop in stops:
            stop.wait(timeout=120)
        shutil.rmtree(base, ignore_errors=True)


_dumps: dict[tuple, str] = {}


def copy_test_database(settings_dict: dict, target: Cluster, db: str) -> None:
    """Create ``db`` on ``target`` as a copy of the (migrated) test database."""
    dump = [str(PG_BIN / "pg_dump"), "-h", settings_dict["HOST"] or "127.0.0.1", "-p", str(settings_dict["PORT"] or 5432),
            "-U", settings_dict["USER"] or "postgres", "--no-owner", "--no-privileges", settings_dict["NAME"]]
    key = tuple(dump)
    if key not in _dumps:  # the test database does not change under a module's fixture: dumped once a run
        _dumps[key] = run(dump).stdout
    script = _dumps[key]
    sql(target.url(), f'CREATE DATABASE "{db}"')
    run([str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", target.url(db)], input=script)


def empty_records() -> None:
    """In an app process: empty every table but the reference data (a copy of the test database may
    hold a committing test's rows)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> ALL(%s) "
                       "AND NOT tablename LIKE ANY (%s)", [list(REFERENCE_TABLES), list(REFERENCE_PREFIXES)])
        tables = [r[0] for r in cursor.fetchall()]
        cursor.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")


_BOOT = """
import importlib, json, sys, traceback
import django
django.setup()
from django.conf import settings
from django.test.utils import setup_test_environment
setup_test_environment()  # response.context in test clients, the 'testserver' host
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as in tests/conftest.py
module = importlib.import_module(sys.argv[1])
print("\\x1eREADY", flush=True)
for line in sys.stdin:
    call = json.loads(line)
    try:
        answer = {"result": getattr(module, "_app_" + call["step"])(**call["kwargs"])}
    except Exception:
        answer = {"error": traceback.format_exc()}
    print("\\x1e" + json.dumps(answer, default=str), flush=True)
"""


class App:
    """A Django process of the project on other databases than the test run's (see module docstring)."""

    def __init__(self, module: str, env: dict[str, str], *, log: Path) -> None:
        self.log_path = log
        self._log = log.open("w")
        full_env = {k: v for k, v in os.environ.items() if k != "REPLICA_DATABASE_URL"}
        full_env.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
        self.process = subprocess.Popen(  # noqa: S603 — our own interpreter and code
            [sys.executable, "-c", _BOOT, module], cwd=ROOT, env=full_env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        # Not waited for here: Django starts (seconds) while the caller prepares the database.
        self._ready = False

    def _answer(self) -> dict:
        while True:
            line = self.process.stdout.readline()
            if not line:
                self.process.wait(timeout=30)
                raise AssertionError(f"the app process ended ({self.process.returncode}):\n{self.log_tail()}")
            if line.startswith("\x1e"):
                body = line[1:].strip()
                return {} if body == "READY" else json.loads(body)

    def __call__(self, step: str, **kwargs: Any) -> Any:
        if not self._ready:
            self._answer()
            self._ready = True
        self.process.stdin.write(json.dumps({"step": step, "kwargs": kwargs}) + "\n")
        self.process.stdin.flush()
        answer = self._answer()
        if "error" in answer:
            raise AssertionError(f"step {step} failed in the app process:\n{answer['error']}")
        return answer["result"]

    def log_tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()
