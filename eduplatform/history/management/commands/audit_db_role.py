"""Grant the application's database role (``AUDIT_APP_DB_ROLE``) its rights, the audit log read and
append only. Run as the owner after every ``migrate`` (docs/audit.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, gettext_lazy

from eduplatform.history.db_role import app_role, apply_app_role_grants


class Command(BaseCommand):
    help = gettext_lazy("为应用数据库角色授权：业务表读写，审计日志只可查询和追加")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--role", help=gettext("角色名（默认取 AUDIT_APP_DB_ROLE）"))

    def handle(self, *args, **options) -> None:
        role = options["role"] or app_role()
        if not role:
            raise CommandError(gettext("未配置应用数据库角色：请设置 AUDIT_APP_DB_ROLE 或使用 --role"))
        if not apply_app_role_grants(role):
            self.stdout.write(gettext("非 PostgreSQL 数据库：无角色可授权"))
            return
        self.stdout.write(gettext("已授权角色 %(role)s：审计日志只可查询和追加（封存列可填写一次），不可修改或删除") % {"role": role})
