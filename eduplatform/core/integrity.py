"""Unique violations as messages for people.

A service checks "is this number free?" before it inserts, and says so in Chinese. Two clerks saving
the same number at the same moment both pass that check; the database's unique index then refuses
the second insert. ``unique_or_invalid`` turns that refusal into the same ``RecordInvalid`` the check
would have raised, naming the record, instead of a 500. The insert runs in a savepoint, so the
caller's transaction stays usable (and is rolled back as a whole when the error propagates).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from eduplatform.core.errors import FieldProblem, RecordInvalid

_UNIQUE_VIOLATION = "23505"  # PostgreSQL SQLSTATE


def is_unique_violation(exc: IntegrityError) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == _UNIQUE_VIOLATION or getattr(cause, "pgcode", None) == _UNIQUE_VIOLATION:
        return True
    return "UNIQUE constraint failed" in str(exc)  # SQLite


@contextmanager
def unique_or_invalid(record: str, *, field: str, label: str, message: str,
                      code: str = "value.taken") -> Iterator[None]:
    """Run the insert or update inside; a unique violation raises ``RecordInvalid(record, …)`` with
    ``message`` on ``field``. Other integrity errors (a broken foreign key …) stay defects."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise RecordInvalid(record, [FieldProblem(field, code, message, gettext(label))]) from exc
