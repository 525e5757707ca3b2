"""Verify the audit log's hash chain; exit status 1 and the first broken link when it does not hold.

    manage.py verify_audit                  seal what is committed, then verify the whole chain
    manage.py verify_audit --no-seal        verify only (e.g. on a read-only copy)
    manage.py verify_audit --archive FILE   verify one archived month's file on its own
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from eduplatform.history.audit_chain import verify_archive_file, verify_chain


class Command(BaseCommand):
    help = gettext_lazy("校验审计日志哈希链，指出第一处断链（条目、时间、不符之处）")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-seal", action="store_true", help=gettext("不先封存新条目，只校验已封存的"))
        parser.add_argument("--archive", help=gettext("校验一个归档文件（.jsonl.gz）"))

    def handle(self, *args, **options) -> None:
        if options["archive"]:
            checked, broken = verify_archive_file(options["archive"])
            if broken:
                raise CommandError(gettext("归档文件 %(archive)s：%(broken)s（此前 %(checked)s 条完好）") % {"archive": options['archive'], "broken": broken, "checked": checked}, returncode=1)
            self.stdout.write(gettext("归档文件完好：%(checked)s 条，哈希与链接均相符") % {"checked": checked})
            return
        result = verify_chain(seal=not options["no_seal"])
        if result.broken:
            raise CommandError(gettext("%(broken)s（此前 %(checked)s 条完好）") % {"broken": result.broken, "checked": result.checked}, returncode=1)
        self.stdout.write(gettext("审计链完好：已校验 %(checked)s 条，链头序号 %(head_seq)s，链头哈希 %(head_hash)s") % {"checked": result.checked, "head_seq": result.head_seq, "head_hash": result.head_hash})
