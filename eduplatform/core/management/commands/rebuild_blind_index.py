"""Recompute every ID-number blind index after FIELD_INDEX_KEY or FIELD_CRYPTO_SUITE changed (offline).

Unlike the encryption keys, the index key cannot rotate while the platform runs: every index value
changes, and a look-up or the 一人一号 check made in between would compare old and new values. So:
stop the web and worker processes, set the new FIELD_INDEX_KEY (and/or FIELD_CRYPTO_SUITE), run

    manage.py rebuild_blind_index --old-index-key <base64 old key> --old-suite aes

then start again and run the quality scan (its duplicate-person groups are keyed by the index).
Interrupted, it is run again: rows already under the new index are recognised.
"""

from __future__ import annotations

import base64
import binascii

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from eduplatform.core import crypto
from eduplatform.core.key_rotation import IndexRebuild, rebuild_blind_index
from eduplatform.history.models import AuditAction
from eduplatform.history.services import record_event


class Command(BaseCommand):
    help = gettext_lazy("更换盲索引密钥或算法套件后，重新计算全部身份证件号盲索引（须停机执行，可中断后续跑）")

    def add_arguments(self, parser):
        parser.add_argument("--old-index-key", required=True, help=gettext("原 FIELD_INDEX_KEY（base64）"))
        parser.add_argument("--old-suite", choices=sorted(crypto.SUITES), default="aes", help=gettext("原 FIELD_CRYPTO_SUITE"))
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, old_index_key: str, old_suite: str, batch_size: int, **options):
        try:
            old_key = base64.b64decode(old_index_key, validate=True)
        except binascii.Error as exc:
            raise CommandError(gettext("--old-index-key 须为 base64")) from exc
        keys = crypto.field_keys()
        if old_key == keys.index_key and old_suite == keys.suite:
            raise CommandError(gettext("原盲索引密钥和套件与当前配置相同：请先在配置中设置新的 FIELD_INDEX_KEY 或 FIELD_CRYPTO_SUITE"))

        def report(label: str, last_pk: int, r: IndexRebuild) -> None:
            self.stdout.write(gettext("  %(label)s：已改写 %(rewritten)s，已是新索引 %(current)s，无法识别 %(unexpected)s；已处理到主键 %(last_pk)s") % {"label": label, "rewritten": format(r.rewritten, ","), "current": format(r.current, ","), "unexpected": format(r.unexpected, ","), "last_pk": last_pk})

        results = rebuild_blind_index(old_index_key=old_key, old_suite=old_suite, batch_size=batch_size,
                                      progress=report)
        total = sum(r.rewritten for r in results.values())
        record_event(actor=None, action=AuditAction.UPDATE, object_type="core.fieldkey", object_label="盲索引重建",
                     note=f"以新的盲索引密钥（套件 {keys.suite}）重算 {total} 个身份证件号索引")
        unexpected = sum(r.unexpected for r in results.values())
        for label, r in results.items():
            self.stdout.write(gettext("%(label)s：改写 %(rewritten)s，已是新索引 %(current)s，无法识别 %(unexpected)s") % {"label": label, "rewritten": format(r.rewritten, ","), "current": format(r.current, ","), "unexpected": format(r.unexpected, ",")})
        if unexpected:
            raise CommandError(gettext("有 %(unexpected)s 条记录的索引既不是原索引也不是新索引，未改动：请核对原密钥与套件") % {"unexpected": format(unexpected, ",")})
        self.stdout.write(gettext("完成：全部身份证件号盲索引已按新密钥计算，可以启动服务，并运行一次数据质量检查。"))
