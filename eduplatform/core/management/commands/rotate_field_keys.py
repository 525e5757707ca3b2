"""Re-encrypt every sealed column with the current field key (the first of FIELD_ENCRYPTION_KEYS).

Runbook (docs/personal-data.md): put the new key first, keep the old ones after it, restart the
services, run this command while they keep working, run it with ``--check`` until no old ciphertext
remains, then remove the old key. Interrupted, it is simply run again (rows already under the
current key are skipped), or resumed with ``--column`` and ``--start-after`` from the last line printed.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

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
    help = gettext_lazy("用当前密钥重新加密全部加密字段（字段密钥轮换，可在服务运行时执行、可中断后续跑）")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--check", action="store_true", help=gettext("只统计仍由旧密钥加密的密文，不做修改"))
        parser.add_argument("--column", help=gettext("只处理一列，如 students.Student.phone_cipher"))
        parser.add_argument("--start-after", type=int, default=0, help=gettext("从该主键之后继续（与 --column 同用）"))

    def handle(self, *args, batch_size: int, check: bool, column: str | None, start_after: int, **options):
        columns = SEALED_COLUMNS
        if column:
            columns = tuple(c for c in SEALED_COLUMNS if f"{c.model}.{c.field}" == column)
            if not columns:
                names = "、".join(f"{c.model}.{c.field}" for c in SEALED_COLUMNS)
                raise CommandError(gettext("没有名为 %(column)s 的加密列；可选：%(names)s") % {"column": column, "names": names})
        elif start_after:
            raise CommandError(gettext("--start-after 须与 --column 同用"))
        current = crypto.field_keys().current_id
        if not check:
            self.stdout.write(gettext("当前密钥：%(current)s") % {"current": current})
            total = 0
            for c in columns:
                def report(p: RotationProgress, c=c) -> None:
                    self.stdout.write(gettext("  %(label)s（%(model)s.%(field)s）：已重新加密 %(rewritten)s 行，已处理到主键 %(last_pk)s") % {"label": gettext(c.label), "model": c.model, "field": c.field, "rewritten": format(p.rewritten, ","), "last_pk": p.last_pk})

                done = rotate_column(c, batch_size=batch_size, start_after=start_after if column else 0,
                                     progress=report)
                total += done
                self.stdout.write(gettext("%(label)s：共重新加密 %(done)s 行") % {"label": gettext(c.label), "done": format(done, ",")})
            if total:
                record_event(actor=None, action=AuditAction.UPDATE, object_type="core.fieldkey",
                             object_label="字段加密密钥轮换", note=f"以密钥 {current} 重新加密 {total} 行")
        remaining = sealed_census(columns=columns)
        left = {name: counts for name, counts in remaining.items() if counts}
        if left:
            for name, counts in left.items():
                detail = "，".join(gettext("密钥 %(k)s：%(n)s") % {"k": k, "n": format(n, ",")} for k, n in sorted(counts.items()))
                self.stdout.write(gettext("仍有旧密钥密文 — %(name)s：%(detail)s") % {"name": name, "detail": detail})
            self.stdout.write(gettext("旧密钥仍在使用，暂不能从 FIELD_ENCRYPTION_KEYS 中移除（可再次运行本命令）。"))
            if check:
                raise SystemExit(1)
        else:
            old = [k for k in crypto.field_keys().keys if k != current]
            self.stdout.write(gettext("已无旧密钥密文：全部由当前密钥 %(current)s 加密。") % {"current": current}
                              + (gettext("可从 FIELD_ENCRYPTION_KEYS 中移除：%(items)s。") % {"items": '、'.join(old)} if old else ""))
