"""长期未使用账号封存: seal person accounts without a login for ACCOUNT_DORMANT_DAYS days (run daily)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.accounts.services import seal_dormant_accounts


class Command(BaseCommand):
    help = gettext_lazy("封存长期未使用的账号（默认 ACCOUNT_DORMANT_DAYS 天未登录）；由安全管理员在账号页解封。")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None, help=gettext("未登录天数（默认取 ACCOUNT_DORMANT_DAYS）"))

    def handle(self, *args, days: int | None = None, **options) -> None:
        days = days or settings.ACCOUNT_DORMANT_DAYS
        sealed = seal_dormant_accounts(days=days)
        for user in sealed:
            self.stdout.write(gettext("已封存：%(username)s") % {"username": user.username})
        self.stdout.write(self.style.SUCCESS(gettext("共封存 %(count)s 个超过 %(days)s 天未登录的账号") % {"count": len(sealed), "days": days}))
