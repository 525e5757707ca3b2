"""Re-encrypt every sealed column with the current field key (the first of FIELD_ENCRYPTION_KEYS).

Runbook (docs/personal-data.md): put the new key first, keep the old ones after it, restart the
services, run this command while they keep working, run it with ``--check`` until no old ciphertext
remains, then remove the old key. Interrupted, it is simply run again (rows already under the
current key are skipped), or resumed with ``--column`` and ``--start-after`` from the last line printed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from eduplatform.core import crypto
from eduplatform.core.key_rotation import (
    SEALED_COLUMNS,
    RotationProgress,
    rotate_column,
    sealed_census,
)
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_event


class Command(BaseCommand):
    help = "用当前密钥重新加密全部加密字段（字段密钥轮换，可在服务运行时执行、可中断后续跑）"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--check", action="store_true", help="只统计仍由旧密钥加密的密文，不做修改")
        parser.add_argument("--column", help="只处理一列，如 students.Student.phone_cipher")
        parser.add_argument("--start-after", type=int, default=0, help="从该主键之后继续（与 --column 同用）")

    def handle(self, *args, batch_size: int, check: bool, column: str | None, start_after: int, **options):
        columns = SEALED_COLUMNS
        if column:
            columns = tuple(c for c in SEALED_COLUMNS if f"{c.model}.{c.field}" == column)
            if not columns:
                names = "、".join(f"{c.model}.{c.field}" for c in SEALED_COLUMNS)
                raise CommandError(f"没有名为 {column} 的加密列；可选：{names}")
        elif start_after:
            raise CommandError("--start-after 须与 --column 同用")
        current = crypto.field_keys().current_id
        if not check:
            self.stdout.write(f"当前密钥：{current}")
            total = 0
            for c in columns:
                def report(p: RotationProgress, c=c) -> None:
                    self.stdout.write(f"  {c.label}（{c.model}.{c.field}）：已重新加密 {p.rewritten:,} 行，"
                                      f"已处理到主键 {p.last_pk}")

                done = rotate_column(c, batch_size=batch_size, start_after=start_after if column else 0,
                                     progress=report)
                total += done
                self.stdout.write(f"{c.label}：共重新加密 {done:,} 行")
            if total:
                record_event(actor=None, action=AuditAction.UPDATE, object_type="core.fieldkey",
                             object_label="字段加密密钥轮换", note=f"以密钥 {current} 重新加密 {total} 行")
        remaining = sealed_census(columns=columns)
        left = {name: counts for name, counts in remaining.items() if counts}
        if left:
            for name, counts in left.items():
                detail = "，".join(f"密钥 {k}：{n:,}" for k, n in sorted(counts.items()))
                self.stdout.write(f"仍有旧密钥密文 — {name}：{detail}")
            self.stdout.write("旧密钥仍在使用，暂不能从 FIELD_ENCRYPTION_KEYS 中移除（可再次运行本命令）。")
            if check:
                raise SystemExit(1)
        else:
            old = [k for k in crypto.field_keys().keys if k != current]
            self.stdout.write(f"已无旧密钥密文：全部由当前密钥 {current} 加密。"
                              + (f"可从 FIELD_ENCRYPTION_KEYS 中移除：{'、'.join(old)}。" if old else ""))
