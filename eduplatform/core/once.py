"""Once-only submissions: a POST that changes many rows takes effect once, however often it arrives.

A double click, a browser resending a form, or a form posted again from the back button can put two
identical requests on two connections at the same moment. A SELECT ("has this been done?") before
the work cannot stop that: both requests read "no" before either commits. What stops it is the
database: each such form carries a one-time token (``{% once_token %}``), and the view claims it —
an INSERT into ``Submission``, whose key is unique — in the same transaction as the work:

* the first request inserts the key and does the work; both commit together;
* the second request's INSERT waits on the unique index until the first commits, then fails, and
  the person is told "该操作已提交，请勿重复提交" and sent to the first request's result;
* if the first request fails (a refused promotion, say) its claim rolls back with it, and the same
  form may be submitted again once corrected.

Actions that have no form token of their own (committing a checked import) claim a key derived from
what they act on (``import-commit:<job id>``): that key is the same on every submission, whoever sends it.

The services keep their own guard as well — a row lock or a constraint on what they change — so a
script calling a service twice is safe too; the token gives the person a clear answer and one result.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.core.models import Submission

FIELD = "once_token"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_token() -> str:
    """A token for one rendering of a form (rendered by ``{% once_token %}``)."""
    return secrets.token_urlsafe(24)


def posted_token(request: HttpRequest) -> str | None:
    """The form's token, or None when the post carries none (or something that is not one)."""
    value = request.POST.get(FIELD, "")
    return value if _TOKEN.fullmatch(value) else None


class AlreadySubmitted(Exception):
    """The same submission arrived before and took effect (or is taking effect right now)."""

    def __init__(self, earlier: Submission | None) -> None:
        self.earlier = earlier
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.earlier is None:
            return gettext("该操作已提交，请勿重复提交")
        at = timezone.localtime(self.earlier.submitted_at)
        return gettext("该操作已提交，请勿重复提交（%(by)s 于 %(when)s 提交）") % {
            "by": self.earlier.submitted_by, "when": f"{at:%Y-%m-%d %H:%M:%S}"}

    @property
    def result_url(self) -> str:
        return self.earlier.result_url if self.earlier is not None else ""


def claim(*, key: str, action: str, submitted_by: str) -> Submission:
    """Insert ``key``; raise ``AlreadySubmitted`` when it is there already (committed by another
    transaction, which this insert waited for). Call inside the transaction that does the work."""
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction goes on after a refusal
            return Submission.objects.create(key=key[:100], action=action[:60], submitted_by=submitted_by[:150])
    except IntegrityError:
        raise AlreadySubmitted(Submission.objects.filter(key=key[:100]).first()) from None


@contextmanager
def submitted_once(*, key: str | None, action: str, submitted_by: str) -> Iterator[Submission | None]:
    """One transaction around the work, holding the claim of ``key`` (no claim when ``key`` is None:
    a post without a token — a script, an old page — is guarded by the service alone).

        with submitted_once(key=posted_token(request), action="stats.take_snapshot", submitted_by=…) as s:
            snapshot = take_snapshot(…)
            record_result(s, reverse("stats:snapshot", args=(snapshot.pk,)))
    """
    with transaction.atomic():
        yield claim(key=key, action=action, submitted_by=submitted_by) if key else None


def record_result(submission: Submission | None, url: str) -> None:
    """Where a repeated submission is sent: the page showing what the first one did."""
    if submission is not None:
        submission.result_url = url[:300]
        submission.save(update_fields=["result_url"])
