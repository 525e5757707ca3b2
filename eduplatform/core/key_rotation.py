"""Field-key rotation while the platform runs: every sealed column re-encrypted with the current key.

Put a new key first in ``FIELD_ENCRYPTION_KEYS`` (old keys stay after it, so every row still reads),
restart, then ``manage.py rotate_field_keys`` walks each sealed column below in primary-key order
(keyset paging: no OFFSET, no long scan held open). A batch is one short transaction that locks only
the rows that still need work and re-reads them under the lock, so a service that changed a row
between the scan and the write is never overwritten with a value read before its change. When
``sealed_census`` finds no ciphertext under any other key, the old key can be removed.

The blind index does not change here: it has its own key. Changing that key (or the suite, which
changes its HMAC) is the offline ``rebuild_blind_index`` below (docs/personal-data.md says why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils.translation import gettext_noop

from eduplatform.core import crypto

TEXT = "text"  # a "<key id>:<base64>" ciphertext in a text column
GUARDIANS = "guardians"  # a JSON list of family members, each with a sealed "phone_cipher"
FILE = "file"  # a sealed file (``crypto.seal_file``) in a binary column


@dataclass(frozen=True)
class SealedColumn:
    model: str  # "app_label.ModelName"
    field: str
    kind: str
    label: str

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)


# Every column that holds ciphertext. A new sealed column is added here, or rotation and the check
# below would leave it behind (tests/test_key_rotation.py checks every model field named *_cipher).
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    SealedColumn("students.Student", "id_number_cipher", TEXT, gettext_noop("学生身份证件号")),
    SealedColumn("students.Student", "phone_cipher", TEXT, gettext_noop("学生联系电话")),
    SealedColumn("students.Student", "guardians", GUARDIANS, gettext_noop("学生家庭成员电话")),
    SealedColumn("staff.StaffMember", "id_number_cipher", TEXT, gettext_noop("教职工身份证件号")),
    SealedColumn("staff.StaffMember", "phone_cipher", TEXT, gettext_noop("教职工联系电话")),
    SealedColumn("core.ImportJob", "content", FILE, gettext_noop("导入文件")),
    SealedColumn("core.ExportJob", "content", FILE, gettext_noop("导出文件")),
)


def _stale_guardians(value: Any, current: str) -> bool:
    return any(isinstance(g, dict) and crypto.key_id_of(g.get("phone_cipher", "")) not in ("", current)
               for g in value or [])


def _is_stale(column: SealedColumn, value: Any, current: str) -> bool:
    if column.kind == GUARDIANS:
        return _stale_guardians(value, current)
    return crypto.key_id_of(value) not in ("", current)


def _reseal(column: SealedColumn, value: Any, cipher: crypto.Cipher) -> Any:
    current = cipher.key_id
    if column.kind == TEXT:
        return cipher.encrypt(cipher.decrypt(value)) if crypto.key_id_of(value) not in ("", current) else value
    if column.kind == FILE:
        return crypto.seal_file(crypto.open_file(value)) if crypto.key_id_of(value) not in ("", current) else value
    return [{**g, "phone_cipher": _reseal(SealedColumn("", "", TEXT, ""), g.get("phone_cipher", ""), cipher)}
            if isinstance(g, dict) else g for g in value or []]


def _candidates(column: SealedColumn, current: str) -> models.QuerySet:
    """Rows that may hold an old ciphertext, narrowed in SQL where the column allows it."""
    qs = column.model_class().objects.all()
    if column.kind == TEXT:
        return qs.exclude(**{column.field: ""}).exclude(**{f"{column.field}__startswith": f"{current}:"})
    if column.kind == FILE:
        return qs.exclude(**{column.field: b""})
    return qs.exclude(**{column.field: []})


def scan_batch(column: SealedColumn, *, after: int, size: int, current: str) -> tuple[list[int], int | None]:
    """The next ``size`` candidate rows after ``after``: the primary keys of those holding an old
    ciphertext (read without locks; ``reseal_rows`` re-reads them under a lock), and the last primary
    key looked at (``None`` past the end)."""
    rows = list(_candidates(column, current).filter(pk__gt=after).order_by("pk")
                .values_list("pk", column.field)[:size])
    stale = [pk for pk, value in rows if _is_stale(column, bytes(value) if column.kind == FILE else value, current)]
    return stale, (rows[-1][0] if len(rows) == size else None)


def reseal_rows(column: SealedColumn, pks: list[int], cipher: crypto.Cipher) -> int:
    """Re-encrypt ``pks`` in one short transaction; returns how many rows were rewritten.

    The rows are locked and read again: a value a service wrote after the scan is the one re-sealed
    (or, being already under the current key, left alone), never the value seen by the scan.
    """
    if not pks:
        return 0
    model = column.model_class()
    changed = 0
    with transaction.atomic():
        for pk, value in model.objects.select_for_update().filter(pk__in=pks).order_by("pk").values_list(
                "pk", column.field):
            if column.kind == FILE:
                value = bytes(value)
            if not _is_stale(column, value, cipher.key_id):
                continue
            changed += model.objects.filter(pk=pk).update(**{column.field: _reseal(column, value, cipher)})
    return changed


@dataclass
class RotationProgress:
    column: SealedColumn
    last_pk: int
    rewritten: int


def rotate_column(column: SealedColumn, *, batch_size: int = 1000, start_after: int = 0,
                  progress: Callable[[RotationProgress], None] | None = None) -> int:
    """Walk ``column`` from ``start_after`` to its end; returns the rows rewritten. Interrupted, it is
    resumed by running again (rows already under the current key are skipped) or from the last
    primary key it reported."""
    cipher = crypto.Cipher()
    current = cipher.key_id
    size = max(1, batch_size if column.kind != FILE else min(batch_size, 20))  # files: megabytes each
    after, rewritten = start_after, 0
    while True:
        stale, last = scan_batch(column, after=after, size=size, current=current)
        rewritten += reseal_rows(column, stale, cipher)
        if last is None:  # fewer than ``size`` candidates were left: this was the last batch
            if progress:
                progress(RotationProgress(column, stale[-1] if stale else after, rewritten))
            return rewritten
        after = last
        if progress:
            progress(RotationProgress(column, after, rewritten))


def rotate_all(*, batch_size: int = 1000, progress: Callable[[RotationProgress], None] | None = None,
               columns: tuple[SealedColumn, ...] = SEALED_COLUMNS) -> dict[str, int]:
    """Every sealed column rotated to the current key: ``{"students.Student.phone_cipher": rows, …}``."""
    return {f"{c.model}.{c.field}": rotate_column(c, batch_size=batch_size, progress=progress) for c in columns}


def _key_ids(column: SealedColumn, value: Any) -> Iterator[str]:
    if column.kind == GUARDIANS:
        for g in value or []:
            if isinstance(g, dict) and g.get("phone_cipher"):
                yield crypto.key_id_of(g["phone_cipher"])
    elif value:
        yield crypto.key_id_of(bytes(value) if column.kind == FILE else value)


def sealed_census(*, batch_size: int = 5000, columns: tuple[SealedColumn, ...] = SEALED_COLUMNS
                  ) -> dict[str, dict[str, int]]:
    """How many ciphertexts each key id still seals, per column: ``{column: {key id: count}}``, only
    for keys other than the current one (empty everywhere = the old keys can be removed)."""
    current = crypto.field_keys().current_id
    found: dict[str, dict[str, int]] = {}
    for column in columns:
        counts: dict[str, int] = {}
        after = 0
        while True:
            rows = list(_candidates(column, current).filter(pk__gt=after).order_by("pk")
                        .values_list("pk", column.field)[:batch_size])
            for _pk, value in rows:
                for key_id in _key_ids(column, value):
                    if key_id and key_id != current:
                        counts[key_id] = counts.get(key_id, 0) + 1
            if len(rows) < batch_size:
                break
            after = rows[-1][0]
        found[f"{column.model}.{column.field}"] = counts
    return found


# --------------------------------------------------------------------------------------------
# Blind-index rebuild (offline)

# (model, id type field, ciphertext field, index field): the ID-number index 一人一号 rests on.
INDEXED_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("students.Student", "id_type", "id_number_cipher", "id_number_index"),
    ("staff.StaffMember", "id_type", "id_number_cipher", "id_number_index"),
)


@dataclass
class IndexRebuild:
    rewritten: int = 0  # held the old index, now the new one
    current: int = 0  # already held the new index (a resumed run)
    unexpected: int = 0  # held neither: named, not touched (a defect or a third key)


def rebuild_blind_index(*, old_index_key: bytes, old_suite: str, batch_size: int = 2000,
                        progress: Callable[[str, int, IndexRebuild], None] | None = None) -> dict[str, IndexRebuild]:
    """Recompute every ID-number blind index under the configured ``FIELD_INDEX_KEY`` and
    ``FIELD_CRYPTO_SUITE`` from the old key and suite. Run with the services stopped: between the
    first and the last batch, a look-up by ID number would miss the rows of the other kind.
    Resumable: a row already under the new index is recognised and left alone."""
    from eduplatform.core.identity import Sealer

    new_keys = crypto.field_keys()
    old_keys = crypto.FieldKeys(new_keys.current_id, new_keys.keys, new_keys.algorithms, old_index_key, old_suite)
    new_sealer, old_sealer = Sealer(new_keys), Sealer(old_keys)
    opened = crypto.Cipher(new_keys).decrypt
    results: dict[str, IndexRebuild] = {}
    for label, type_field, cipher_field, index_field in INDEXED_COLUMNS:
        model = apps.get_model(label)
        result = results[label] = IndexRebuild()
        after = 0
        while True:
            with transaction.atomic():
                rows = list(model.objects.select_for_update().filter(pk__gt=after).exclude(**{cipher_field: ""})
                            .order_by("pk").values_list("pk", type_field, cipher_field, index_field)[:batch_size])
                for pk, id_type, cipher, stored in rows:
                    number = opened(cipher)
                    new = new_sealer.id_index(id_type, number)
                    if stored == new:
                        result.current += 1
                    elif stored == old_sealer.id_index(id_type, number):
                        model.objects.filter(pk=pk).update(**{index_field: new})
                        result.rewritten += 1
                    else:
                        result.unexpected += 1
            if not rows:
                break
            after = rows[-1][0]
            if progress:
                progress(label, after, result)
    return results
