"""Background job of the audit log: sealing (chaining) the committed entries. A scheduler enqueues
it every minute (or cron runs ``manage.py seal_audit``); it may run as the application's role."""

from __future__ import annotations

import logging

from django_tasks import task

from eduplatform.history.audit_chain import seal_entries

log = logging.getLogger(__name__)


@task()
def seal_audit() -> None:
    sealed = seal_entries()
    if sealed:
        log.info("audit chain: %s entries sealed", sealed)
