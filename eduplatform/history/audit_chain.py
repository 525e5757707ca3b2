"""The audit log's hash chain: sealing committed entries and verifying the chain.

Writers only insert (set-based, no lock, no hash). ``seal_entries`` — run by the worker task
``history.tasks.seal_audit`` every minute, by ``manage.py seal_audit`` and before every verification —
takes the entries not yet chained whose transactions have all ended, in ``(txid, id)`` order, and
gives each the next chain position, the previous entry's hash and its own hash:

    entry_hash = SHA-256(prev_hash + "\\n" + canonical JSON of the entry, chain position included)

Why this order and not a lock at write time: docs/decisions/0008-audit-chain.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from eduplatform.history.models import AuditArchive, AuditEntry
from eduplatform.history.partitions import add_months, month_of, month_start
from eduplatform.history.selectors import HORIZON_SQL

GENESIS = "0" * 64  # the "previous hash" of the first entry ever sealed
SEAL_LOCK = (5108, 1)  # one sealer at a time (pg_advisory_xact_lock); writers never take it
SEAL_BATCH = 20_000
# Every column a writer sets, plus the chain position: what the hash covers.
HASHED_FIELDS = ("id", "occurred_at", "actor_id", "actor_name", "actor_org_id", "actor_org_name", "client_ip",
                 "action", "object_type", "object_id", "object_label", "changes", "region_path", "school_id",
                 "note", "txid", "chain_seq")
FIELD_LABELS = {"prev_hash": "上一条哈希", "entry_hash": "本条哈希", "chain_seq": "链序号"}


def _moment(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def archive_record(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry as plain JSON values (what the canonical form and the archive files hold)."""
    record = dict(entry)
    if isinstance(record["occurred_at"], dt.datetime):
        record["occurred_at"] = _moment(record["occurred_at"])
    return record


# One encoder for every entry: json.dumps with options builds a new encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The entry as sorted, compact UTF-8 JSON of the hashed fields (timestamps in UTC, µs)."""
    record = {name: entry[name] for name in HASHED_FIELDS}
    if isinstance(record["occurred_at"], dt.datetime):
        record["occurred_at"] = _moment(record["occurred_at"])
    return _encode(record).encode()


def compute_hash(entry: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(entry)).hexdigest()


def _horizon() -> int | None:
    """The oldest transaction still in flight (PostgreSQL): entries at or above it may still commit
    below later ones, so they wait for the next run. None on SQLite (one writer at a time)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(HORIZON_SQL.replace("%%", "%"))
        return int(cursor.fetchone()[0])


def _chain_head() -> tuple[int, str]:
    head = (AuditEntry.objects.filter(chain_seq__isnull=False).order_by("-chain_seq")
            .values_list("chain_seq", "entry_hash").first())
    if head is not None:
        return head
    last = AuditArchive.objects.order_by("-month").first()  # everything sealed was archived
    if last is not None and last.seq_ranges:
        top = max(r[1] for r in last.seq_ranges)
        with open_archive(last.file) as lines:
            for record in lines:
                if record["chain_seq"] == top:
                    return top, record["entry_hash"]
    return 0, GENESIS


def seal_entries(*, batch: int = SEAL_BATCH) -> int:
    """Chain every committed entry not yet chained; the number chained."""
    total = 0
    fields = [f for f in HASHED_FIELDS if f != "chain_seq"]
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(SEAL_LOCK))
            # Read before this transaction writes (it has no id of its own yet, so it cannot be the horizon).
            horizon = _horizon()
            seq, prev = _chain_head()
            pending = AuditEntry.objects.filter(chain_seq__isnull=True)
            if horizon is not None:
                pending = pending.filter(txid__lt=horizon)
            rows = list(pending.order_by("txid", "id").values_list(*fields)[:batch])
            if not rows:
                return total
            sealed = []
            for values in rows:
                entry = dict(zip(fields, values, strict=True))
                seq += 1
                entry["chain_seq"] = seq
                digest = compute_hash(entry, prev)
                sealed.append((entry["id"], entry["occurred_at"], seq, prev, digest))
                prev = digest
            _write_seals(sealed)
        total += len(rows)
        if len(rows) < batch:
            return total


def _write_seals(sealed: list[tuple[int, dt.datetime, int, str, str]]) -> None:
    """Fill the chain columns of ``sealed`` (id, occurred_at, seq, prev, hash): one UPDATE per month,
    so PostgreSQL touches only that month's partition."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                "UPDATE history_auditentry SET chain_seq = %s, prev_hash = %s, entry_hash = %s"
                " WHERE id = %s AND chain_seq IS NULL", [(s, p, h, i) for i, _, s, p, h in sealed])
            return
        by_month: dict[dt.date, list] = {}
        for row in sealed:
            by_month.setdefault(month_of(row[1]), []).append(row)
        for month, group in by_month.items():
            ids, moments, seqs, prevs, hashes = (list(c) for c in zip(*group, strict=True))
            cursor.execute(
                "UPDATE history_auditentry AS a SET chain_seq = s.seq, prev_hash = s.prev, entry_hash = s.hash"
                " FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], %s::text[], %s::text[])"
                " AS s(id, occurred_at, seq, prev, hash)"
                " WHERE a.id = s.id AND a.occurred_at = s.occurred_at AND a.chain_seq IS NULL"
                " AND a.occurred_at >= %s AND a.occurred_at < %s",
                [ids, moments, seqs, prevs, hashes, month_start(month), month_start(add_months(month, 1))])
            if cursor.rowcount != len(group):
                raise RuntimeError(f"sealing wrote {cursor.rowcount} of {len(group)} entries of {month:%Y-%m}")


# ---------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class BrokenLink:
    """The first place where the chain does not hold."""

    entry_id: int | None
    chain_seq: int
    occurred_at: dt.datetime | str | None
    problem: str

    def __str__(self) -> str:
        moment = self.occurred_at
        if isinstance(moment, dt.datetime):
            moment = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
        who = gettext("条目 id=%(id)s") % {"id": self.entry_id} if self.entry_id is not None else gettext("条目")
        return gettext("审计链在链序号 %(seq)s 处断开：%(who)s，时间 %(when)s：%(problem)s") % {
            "seq": self.chain_seq, "who": who, "when": moment or "—", "problem": self.problem}


@dataclass(frozen=True)
class Verification:
    checked: int
    head_seq: int
    head_hash: str
    broken: BrokenLink | None


def _archived_positions() -> list[tuple[int, int]]:
    return sorted((a, b) for archive in AuditArchive.objects.all() for a, b in archive.seq_ranges)


def _not_archived(first: int, last: int, ranges: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The first and last positions in ``first..last`` that no archive holds (None: all archived)."""
    uncovered, at = [], first
    for a, b in ranges:
        if b < at or a > last:
            continue
        if a > at:
            uncovered.append((at, a - 1))
        at = max(at, b + 1)
    if at <= last:
        uncovered.append((at, last))
    return (uncovered[0][0], uncovered[-1][1]) if uncovered else None


def verify_chain(*, seal: bool = True) -> Verification:
    """Recompute every sealed entry's hash and link, in chain order; stop at the first break.

    Checks: each entry's stored hash equals the hash of its content (a changed field); its
    ``prev_hash`` equals the previous entry's hash (an entry replaced or re-hashed); no chain
    position is missing unless an archive holds it (a deleted entry); the archived months' files
    still have their recorded digest."""
    if seal:
        seal_entries()
    archived = _archived_positions()
    for archive in AuditArchive.objects.order_by("month"):
        problem = _archive_file_problem(archive)
        if problem:
            first = archive.seq_ranges[0][0] if archive.seq_ranges else 0
            return Verification(0, 0, GENESIS, BrokenLink(None, first, None, problem))
    fields = [*HASHED_FIELDS, "prev_hash", "entry_hash"]
    checked, last_seq, last_hash = 0, 0, GENESIS
    rows = (AuditEntry.objects.filter(chain_seq__isnull=False).order_by("chain_seq", "id")
            .values_list(*fields).iterator(chunk_size=5000))
    for values in rows:
        entry = dict(zip(fields, values, strict=True))
        seq = entry["chain_seq"]
        broken = None
        if seq == last_seq:
            broken = gettext("链序号 %(seq)s 出现两次（条目被复制或插入）") % {"seq": seq}
        else:
            missing = _not_archived(last_seq + 1, seq - 1, archived) if seq > last_seq + 1 else None
            if missing:
                span = f"{missing[0]}…{missing[1]}" if missing[1] > missing[0] else str(missing[0])
                broken = gettext("此前缺少链序号 %(seq)s 的条目（已被删除，且不在任何归档中）") % {"seq": span}
            elif seq == last_seq + 1 and last_seq and entry["prev_hash"] != last_hash:
                broken = gettext("“上一条哈希”%(prev)s 与链序号 %(seq)s 的哈希 %(hash)s 不符"
                                 "（上一条被改动后重新计算了哈希，或本条被替换）") % {
                    "prev": entry["prev_hash"], "seq": last_seq, "hash": last_hash}
            elif last_seq == 0 and seq == 1 and entry["prev_hash"] != GENESIS:
                broken = gettext("第一条的“上一条哈希”应为 %(expected)s，实为 %(found)s") % {
                    "expected": GENESIS, "found": entry["prev_hash"]}
            else:
                recomputed = compute_hash(entry, entry["prev_hash"] or "")
                if recomputed != entry["entry_hash"]:
                    broken = gettext("内容与封存时不符（按现有内容计算的哈希 %(computed)s，封存的哈希 %(sealed)s）："
                                     "有字段被改动") % {"computed": recomputed, "sealed": entry["entry_hash"]}
        if broken:
            return Verification(checked, last_seq, last_hash,
                                BrokenLink(entry["id"], seq, entry["occurred_at"], broken))
        checked += 1
        last_seq, last_hash = seq, entry["entry_hash"]
    return Verification(checked, last_seq, last_hash, None)


def open_archive(path: str) -> Iterator[dict[str, Any]]:
    import contextlib
    import gzip

    @contextlib.contextmanager
    def lines():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            yield (json.loads(line) for line in f)

    return lines()


def _archive_file_problem(archive: AuditArchive) -> str:
    try:
        with open(archive.file, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as exc:
        return gettext("%(month)s 的归档文件 %(file)s 无法读取：%(error)s") % {
            "month": f"{archive.month:%Y-%m}", "file": archive.file, "error": exc.strerror}
    if digest != archive.sha256:
        return gettext("%(month)s 的归档文件 %(file)s 的摘要 %(digest)s 与归档时记录的 %(recorded)s 不符") % {
            "month": f"{archive.month:%Y-%m}", "file": archive.file, "digest": digest, "recorded": archive.sha256}
    return ""


def verify_archive_file(path: str) -> tuple[int, BrokenLink | None]:
    """Recompute the hashes and the links between consecutive positions inside one archive file."""
    checked, last = 0, None
    with open_archive(path) as records:
        for record in records:
            recomputed = compute_hash(record, record["prev_hash"])
            problem = ""
            if recomputed != record["entry_hash"]:
                problem = gettext("内容与封存时不符（计算的哈希 %(computed)s，封存的哈希 %(sealed)s）") % {
                    "computed": recomputed, "sealed": record["entry_hash"]}
            elif last is not None and record["chain_seq"] == last[0] + 1 and record["prev_hash"] != last[1]:
                problem = gettext("“上一条哈希”与链序号 %(seq)s 的哈希不符") % {"seq": last[0]}
            if problem:
                return checked, BrokenLink(record["id"], record["chain_seq"], record["occurred_at"], problem)
            checked += 1
            last = (record["chain_seq"], record["entry_hash"])
    return checked, None
