"""Verify the audit log's hash chain; exit status 1 and the first broken link when it does not hold.

    manage.py verify_audit                  seal what is committed, then verify the whole chain
    manage.py verify_audit --no-seal        verify only (e.g. on a read-only copy)
    manage.py verify_audit --archive FILE   verify one archived month's file on its own
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from eduplatform.history.audit_chain import verify_archive_file, verify_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链，指出第一处断链（条目、时间、不符之处）"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-seal", action="store_true", help="不先封存新条目，只校验已封存的")
        parser.add_argument("--archive", help="校验一个归档文件（.jsonl.gz）")

    def handle(self, *args, **options) -> None:
        if options["archive"]:
            checked, broken = verify_archive_file(options["archive"])
            if broken:
                raise CommandError(f"归档文件 {options['archive']}：{broken}（此前 {checked} 条完好）", returncode=1)
            self.stdout.write(f"归档文件完好：{checked} 条，哈希与链接均相符")
            return
        result = verify_chain(seal=not options["no_seal"])
        if result.broken:
            raise CommandError(f"{result.broken}（此前 {result.checked} 条完好）", returncode=1)
        self.stdout.write(f"审计链完好：已校验 {result.checked} 条，链头序号 {result.head_seq}，"
                          f"链头哈希 {result.head_hash}")
