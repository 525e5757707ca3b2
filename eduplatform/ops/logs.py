"""Structured logs: one JSON object per line on standard error, each stamped with the request id.

``config/settings.py`` wires ``JsonFormatter`` and ``RequestContextFilter`` into ``LOGGING``
(``LOG_FORMAT=json``, the default in production and under ``make serve``). The platform logs under
``eduplatform.*``: ``eduplatform.access`` (one line per request: route, status, duration, user id),
``eduplatform.security`` (logins and their failures, lockouts), ``eduplatform.jobs`` (each
background job's start and end with its duration and outcome), ``eduplatform.scheduler``; Django's
own ``django.request`` logs every server error with its traceback. Personal data (names, ID
numbers) is never put in a log line: users are named by id and login name only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

from eduplatform.core.request_context import current_client_ip, current_request_id

security_log = logging.getLogger("eduplatform.security")
jobs_log = logging.getLogger("eduplatform.jobs")

# Attributes every LogRecord has: whatever else a record carries came from ``extra=`` and is logged.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id",
                                                                         "client_ip"}


class RequestContextFilter(logging.Filter):
    """Stamps the current request id and client IP on every record (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = current_request_id()
        if not getattr(record, "client_ip", ""):
            record.client_ip = current_client_ip()
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", "request_id", …extra fields, "exc"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if getattr(record, "request_id", ""):
            entry["request_id"] = record.request_id
        if getattr(record, "client_ip", ""):
            entry["client_ip"] = record.client_ip
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(*, fmt: str, level: str) -> dict:
    """The ``LOGGING`` dict: JSON or plain text on standard error (journald and docker collect it)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": "eduplatform.ops.logs.RequestContextFilter"}},
        "formatters": {
            "json": {"()": "eduplatform.ops.logs.JsonFormatter"},
            "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": fmt, "filters": ["request_context"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # The platform's own lines at INFO whatever the root level: they are the operations log.
            "eduplatform": {"level": min(level, "INFO", key=logging.getLevelName), "propagate": True},
            # django-tasks logs each job too; ours (eduplatform.jobs) carries the duration.
            "django_tasks": {"level": "WARNING", "propagate": True},
            # runserver's own access lines duplicate eduplatform.access.
            "django.server": {"level": "WARNING", "propagate": True},
        },
    }


# ------------------------------------------------------------------------------------------------
# What the application logs at its key points (connected in OpsConfig.ready).

_job_started: dict[str, float] = {}


def _login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    from django.contrib.auth import get_user_model

    typed = str(credentials.get("username", ""))[:150]
    # A name that is no account is not written down: it is often a password typed one field early.
    known = bool(typed) and get_user_model().objects.filter(username=typed).exists()
    security_log.warning("login failed", extra={"event": "login_failed", "username": typed if known else "",
                                                "account_exists": known})


def _logged_in(sender, request, user, **kwargs) -> None:
    security_log.info("login", extra={"event": "login", "user_id": user.pk, "username": user.get_username()})


def _locked_out(sender, request=None, username: str = "", ip_address: str = "", **kwargs) -> None:
    security_log.warning("account locked out", extra={"event": "locked_out", "username": str(username)[:150]})


def _task_started(sender, task_result, **kwargs) -> None:
    _job_started[str(task_result.id)] = time.monotonic()
    jobs_log.info("job started", extra={"event": "job_started", "job_id": str(task_result.id),
                                        "task": task_result.task.module_path})


def _task_finished(sender, task_result, **kwargs) -> None:
    started = _job_started.pop(str(task_result.id), None)
    status = str(getattr(task_result.status, "value", task_result.status))
    extra = {"event": "job_finished", "job_id": str(task_result.id), "task": task_result.task.module_path,
             "status": status}
    if started is not None:
        extra["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    if status == "FAILED":
        errors = getattr(task_result, "errors", None) or []
        extra["error"] = errors[-1].exception_class_path if errors else ""
        jobs_log.error("job failed", extra=extra)
    else:
        jobs_log.info("job finished", extra=extra)


def connect_signals() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed
    from django_tasks.signals import task_finished, task_started

    user_login_failed.connect(_login_failed, dispatch_uid="ops-login-failed")
    user_logged_in.connect(_logged_in, dispatch_uid="ops-logged-in")
    user_locked_out.connect(_locked_out, dispatch_uid="ops-locked-out")
    task_started.connect(_task_started, dispatch_uid="ops-task-started")
    task_finished.connect(_task_finished, dispatch_uid="ops-task-finished")
