import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from eduplatform.accounts.models import User
from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.stats.snapshots import SnapshotExists, take_snapshot


class Command(BaseCommand):
    help = gettext_lazy("按当前数据生成统计快照（在统计时点当天由定时任务运行），以指定的省级统计人员账号署名。"
            "同一统计时点只生成一次：重复运行或两处同时运行，后到者发现已有快照即不再生成；如确需新版本，加 --new-version")

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help=gettext("省级统计人员的用户名（快照以其名义生成并记入审计日志）"))
        parser.add_argument("--date", help=gettext("统计时点 YYYY-MM-DD，默认今天"))
        parser.add_argument("--title", default="")
        parser.add_argument("--new-version", action="store_true",
                            help=gettext("该统计时点已有快照时仍生成新的版本（默认不重复生成）"))

    def handle(self, *args, user: str, date: str | None, title: str, new_version: bool = False, **options):
        actor = User.objects.select_related("organization").filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(gettext("用户「%(user)s」不存在或已停用") % {"user": user})
        try:
            census_date = dt.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError as exc:
            raise CommandError(gettext("统计时点「%(date)s」不是 YYYY-MM-DD 格式的日期") % {"date": date}) from exc
        try:
            snapshot = take_snapshot(actor=actor, census_date=census_date, title=title, if_absent=not new_version)
        except SnapshotExists as exc:  # a scheduler's second run: done already, not a failure
            self.stdout.write(exc.problems[0].message)
            return
        except NotPermitted as exc:
            raise CommandError(exc.message) from exc
        except RecordInvalid as exc:
            raise CommandError("；".join(p.message for p in exc.problems)) from exc
        self.stdout.write(gettext("已生成%(snapshot)s：在校生 %(students)s，教职工 %(staff)s") % {"snapshot": snapshot, "students": format(snapshot.totals['students'], ","), "staff": format(snapshot.totals['staff'], ",")})
        self.stdout.write(gettext("各级基表已排入后台任务生成（manage.py db_worker）；也可运行 manage.py store_base_tables --snapshot %(pk)s") % {"pk": snapshot.pk})
