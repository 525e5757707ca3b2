"""``Idempotency-Key``: a write retried with the same key gets the first answer and changes nothing.

The first request inserts its key (state *in progress*) and commits that row at once, before any
work: the unique (client, key) — or (user, key) for a signed-in user — makes a second request with
the same key fail to insert, whichever connection it comes from. The work and the stored answer
then commit in one transaction, so a key is *done* exactly when its writes are.

A retry with the same key and the same request (method, path, body) replays the stored answer with
``Idempotent-Replayed: true``; the same key with another request is refused (422
``idempotency.key_reused``); a retry while the first is still running is told so (409
``idempotency.in_progress``, ``Retry-After``). A key left *in progress* by a crashed worker
(its transaction rolled back) may be taken over after ``STALE_AFTER``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from eduplatform.core.api import problem
from eduplatform.exchange.models import IdempotencyRecord, IdempotencyState
from eduplatform.exchange.rights import api_client_of

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY = 100
STALE_AFTER = dt.timedelta(minutes=10)
_KEPT_HEADERS = ("Content-Type", "ETag", "Location")


def request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


def _owner(request: HttpRequest) -> dict:
    client = api_client_of(request)
    return {"client": client} if client is not None else {"client": None, "user_id": request.user.pk}


def _stored(record: IdempotencyRecord) -> HttpResponse:
    head, _, body = bytes(record.response or b"").partition(b"\n\n")
    response = HttpResponse(body, status=record.status or 200)
    for line in head.decode().splitlines():
        name, _, value = line.partition(": ")
        if name:
            response[name] = value
    response[REPLAYED] = "true"
    return response


def _pack(response: HttpResponse) -> bytes:
    head = "\n".join(f"{h}: {response[h]}" for h in _KEPT_HEADERS if response.has_header(h))
    return head.encode() + b"\n\n" + response.content


def run_once(request: HttpRequest, work: Callable[[], HttpResponse]) -> HttpResponse:
    """``work()`` under the request's ``Idempotency-Key`` (plain ``work()`` without one). ``work``
    runs inside the transaction that stores its answer."""
    key = request.headers.get(HEADER, "").strip()
    if not key:
        return work()
    if len(key) > MAX_KEY:
        return problem(request, status=422, title="幂等键过长", code="idempotency.key_invalid",
                       detail=f"Idempotency-Key 不能超过 {MAX_KEY} 个字符",
                       errors=[{"field": "header.Idempotency-Key", "code": "idempotency.key_invalid",
                                "message": f"不能超过 {MAX_KEY} 个字符"}])
    digest = request_hash(request)
    owner = _owner(request)
    # The claim commits on its own (autocommit), before the work: a second connection sees it.
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(key=key, request_hash=digest, **owner)
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(key=key, **owner).first()
        if record is None:  # the holder rolled back between our insert and this read
            return run_once(request, work)
        if record.request_hash != digest:
            return problem(request, status=422, title="幂等键已用于其他请求", code="idempotency.key_reused",
                           detail=f"Idempotency-Key「{key}」已用于另一请求（方法、路径或请求体不同）；"
                                  "新的请求请使用新的幂等键",
                           errors=[{"field": "header.Idempotency-Key", "code": "idempotency.key_reused",
                                    "message": "同一幂等键只能用于完全相同的请求"}])
        if record.state == IdempotencyState.DONE:
            return _stored(record)
        if timezone.now() - record.created_at < STALE_AFTER:
            response = problem(request, status=409, title="请求处理中", code="idempotency.in_progress",
                               detail=f"使用 Idempotency-Key「{key}」的相同请求正在处理，请稍后重试以取得其结果")
            response["Retry-After"] = "2"
            return response
        # A claim left by a worker that died: take it over (one taker wins the update).
        taken = IdempotencyRecord.objects.filter(pk=record.pk, state=IdempotencyState.IN_PROGRESS,
                                                 created_at=record.created_at).update(created_at=timezone.now())
        if not taken:
            return run_once(request, work)
        record.refresh_from_db()
    try:
        with transaction.atomic():
            response = work()
            if response.status_code >= 500:
                raise _NotStored(response)
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                state=IdempotencyState.DONE, status=response.status_code, response=_pack(response))
    except _NotStored as exc:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return exc.response
    except BaseException:
        # Nothing was written (the work's transaction rolled back): free the key for a retry.
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        raise
    return response


class _NotStored(Exception):
    def __init__(self, response: HttpResponse) -> None:
        super().__init__("server error: answer not kept")
        self.response = response
