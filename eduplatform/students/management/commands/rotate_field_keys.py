"""Re-encrypt students' ID and phone numbers with the current key (the first of FIELD_ENCRYPTION_KEYS).

Rotation: put the new key first, keep the old one after it (so everything still decrypts), run this
command, then remove the old key. The blind index does not change (it has its own key), so look-ups
and de-duplication keep working throughout. Safe to interrupt and re-run: each batch commits alone
and rows already under the current key are skipped.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from eduplatform.students.services import rotate_field_keys


class Command(BaseCommand):
    help = "用当前密钥重新加密学生身份证件号和电话（密钥轮换）"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args, batch_size: int, **options):
        total = rotate_field_keys(batch_size=batch_size, progress=lambda n: self.stdout.write(f"  已重新加密 {n:,} 名学生"))
        self.stdout.write(f"完成：共重新加密 {total:,} 名学生的个人信息。")
