"""gunicorn settings of the platform's web server (decision 0009): ``gunicorn -c deploy/gunicorn.conf.py``.

Every value can be set from the environment, so one file serves systemd, compose and ``make serve``.
"""

import os
import shutil
from pathlib import Path

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
# Synchronous workers, one request each: the pages are CPU and database work, and nginx in front
# buffers slow clients, so a worker is never held by a slow network. 2 × cores + 1 by default.
workers = int(os.environ.get("WEB_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))
worker_class = "sync"
wsgi_app = "config.wsgi:application"
# Django loaded once in the master, then forked: faster start, shared memory for code.
preload_app = True
# A page of the province database can take seconds (a 基表 of a city); an export bigger than
# EXPORT_BACKGROUND_ROWS goes to the worker, so nothing legitimate needs more than this.
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle each worker after this many requests (± jitter) so a slow leak cannot grow for ever.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# The application logs each request itself (eduplatform.access, JSON with the request id).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "eduplatform-web"
# No control socket: one per user by default, which two servers on one machine would share;
# systemd and serve.sh steer gunicorn by signals (HUP reload, TERM stop).
control_socket_disable = True

# Metrics of every worker process summed at scrape time (eduplatform/ops/metrics.py).
_metrics_dir = Path(os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", str(Path(os.environ.get("EDU_VAR_DIR", "var")) / "prometheus")))

if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "eduplatform.ops.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {"gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False}},
    }


def on_starting(server):
    # Files of a previous run would be summed with this one's.
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
