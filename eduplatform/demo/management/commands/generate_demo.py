import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from eduplatform.demo import anomalies as demo_anomalies
from eduplatform.demo import assets as demo_assets
from eduplatform.demo import bulk as demo_bulk
from eduplatform.demo import exchange as demo_exchange
from eduplatform.demo import facilities as demo_facilities
from eduplatform.demo import higher_ed as demo_higher_ed
from eduplatform.demo import province
from eduplatform.demo import reporting as demo_reporting
from eduplatform.demo import staff as demo_staff
from eduplatform.demo import students as demo_students
from eduplatform.orgs.models import Region
from eduplatform.stats.rollup import rebuild_all

PROVINCE = "province"


def _scale(text: str) -> float | str:
    if text == PROVINCE:
        return PROVINCE
    try:
        return float(text)
    except ValueError:
        raise CommandError(f"--scale 应为数字或 {PROVINCE}，而不是「{text}」") from None


class Command(BaseCommand):
    help = "生成演示数据：教育行政部门、各类学校、学生与各角色演示账号（固定随机种子，可重复执行）"

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=_scale, default=0.05,
                            help=f"学校规模，1.0 = 全省规模（约 {province.PROVINCE_SIZE:,} 所），默认 0.05；"
                                 f"{PROVINCE} = 全省学校与足额学生（约 2,700 万名），即 --scale 1 --students 1 --bulk")
        parser.add_argument("--students", type=float, default=0.05,
                            help="学生规模：按此比例缩放每个年级的班数（每校每个年级至少 1 个班），"
                                 "1.0 = 足额班数，0 = 不生成学生，默认 0.05")
        parser.add_argument("--bulk", action="store_true",
                            help="批量写入（仅 PostgreSQL）：学生、学籍、教职工整表写入，不逐校走登记服务，"
                                 "不写入学事件与审计记录；结束时重建汇总表并生成统计快照（见 eduplatform/demo/bulk.py）")
        parser.add_argument("--anomalies", action="store_true",
                            help="另外植入数据质量检查样例：每条质量规则至少一处异常，多在天河区、福田区"
                                 "（见 eduplatform/demo/anomalies.py）")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, scale: float | str, students: float, bulk: bool, seed: int, anomalies: bool = False,
               **options):
        if settings.IS_PRODUCTION:
            raise CommandError(province.PRODUCTION_REFUSAL)
        if scale == PROVINCE:
            scale, students, bulk = 1.0, 1.0, True
        if bulk:
            try:
                demo_bulk.require_postgresql()
            except demo_bulk.BulkUnavailable as exc:
                raise CommandError(str(exc)) from exc
        if not Region.objects.exists():
            call_command("load_reference", stdout=self.stdout)
        started = time.perf_counter()
        created, accounts = province.generate(scale, seed)
        took = time.perf_counter() - started
        if created:
            self.stdout.write(f"已生成学校 {created:,} 所（规模 {scale}，用时 {took:.1f} 秒）")
        else:
            self.stdout.write("演示数据已存在，未重复生成。")
        if bulk:
            self._bulk(students, seed)
        else:
            self._by_service(students, seed)
        # The data-quality anomalies (demo/anomalies.py) go in last, before the roll-ups are rebuilt. They
        # are asked for: the generators' own tests check that what they write is valid.
        if anomalies:
            line = demo_anomalies.plant(seed=seed)
            if line:
                self.stdout.write(line)
        # The generators write in bulk; the statistics are rebuilt from what they wrote.
        started = time.perf_counter()
        if connection.vendor == "postgresql":
            # Tables just filled in bulk have no planner statistics yet; without them the rebuild's
            # joins are mis-costed (23 s instead of 1 s for the classes at demo scale).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        rebuild_all()
        self.stdout.write(f"统计汇总表已按记录重建（用时 {time.perf_counter() - started:.1f} 秒）")
        if not bulk:  # forms are prefilled from the roll-ups just rebuilt
            line = demo_reporting.generate(seed=seed, progress=self.stdout.write)
            if line:
                self.stdout.write(line)
        if bulk:
            self._snapshot()
        self.stdout.write(f"\n演示账号（密码均为 {province.DEMO_PASSWORD}）：")
        self.stdout.write(f"  {'用户名':<14}{'角色':<12}{'所属单位'}")
        for a in accounts:
            note = f"（{a.note}）" if a.note else ""
            self.stdout.write(f"  {a.username:<16}{a.role:<10}{a.organization}{note}")
            if a.totp_secret:
                self.stdout.write(f"  {'':<16}动态口令密钥 {a.totp_secret}")
        self.stdout.write("  带「动态口令密钥」的账号（三员、省级用户）须双因素登录：在手机身份验证器中手动添加该密钥"
                          "（基于时间，6 位，30 秒），登录时输入显示的验证码。")
        api_client = demo_exchange.generate(seed=seed)
        if api_client is not None:
            for line in demo_exchange.describe(api_client):
                self.stdout.write(line)

    def _by_service(self, students: float, seed: int) -> None:
        if students <= 0:
            self.stdout.write("未生成学生（--students 0）。")
        else:
            summary = demo_students.generate_students(scale=students, seed=seed, progress=self._progress)
            if summary.skipped:
                self.stdout.write("学生数据已存在，未重复生成。")
            else:
                self.stdout.write(
                    f"已生成学生 {summary.students:,} 名、班级 {summary.classes:,} 个，覆盖学校 {summary.schools:,} 所"
                    f"（学生规模 {students}，用时 {summary.seconds:.1f} 秒）"
                )
        # Staff, buildings and equipment follow the schools (and the students, for the planted
        # anomaly of a school with students but no teachers).
        for generate in (demo_staff.generate, demo_facilities.generate, demo_assets.generate, demo_higher_ed.generate):
            line = generate(seed=seed, progress=self.stdout.write)
            if line:
                self.stdout.write(line)

    def _bulk(self, students: float, seed: int) -> None:
        """Students, staff (``demo.bulk``), buildings (``demo.facilities``) and the colleges' categories
        (``demo.higher_ed``, a few hundred institutions through the service) for a province-size set."""
        if students <= 0:
            self.stdout.write("未生成学生（--students 0）。")
            return
        started = time.perf_counter()
        self.stdout.write("批量生成学生、学籍与教职工（PostgreSQL）…")
        summary = demo_bulk.generate(scale=students, seed=seed, progress=self.stdout.write)
        if summary.skipped:
            self.stdout.write("学生数据已存在，未重复生成。")
            return
        self.stdout.write(
            f"已生成学生 {summary.students:,} 名、班级 {summary.classes:,} 个（{summary.schools:,} 所学校），"
            f"教职工 {summary.staff:,} 人（用时 {time.perf_counter() - started:.0f} 秒）")
        for generate in (demo_facilities.generate, demo_higher_ed.generate):
            line = generate(seed=seed, progress=self.stdout.write)
            if line:
                self.stdout.write(line)
        self.stdout.write("仪器设备与资产汇总：批量生成时不生成。")

    def _snapshot(self) -> None:
        """The census snapshot of this school year, as the province's statistics office takes it."""
        import datetime as dt

        from django.utils import timezone

        from eduplatform.accounts.models import User
        from eduplatform.stats.rollup import school_year_of
        from eduplatform.stats.snapshots import take_snapshot

        today = timezone.localdate()
        started = time.perf_counter()
        snapshot = take_snapshot(actor=User.objects.get(username="province"),
                                 census_date=dt.date(school_year_of(today), 9, 1), title="全省规模演示快照")
        self.stdout.write(f"统计快照：{snapshot}，在校生 {snapshot.totals['students']:,}"
                          f"（用时 {time.perf_counter() - started:.1f} 秒）")

    def _progress(self, done: int, total: int) -> None:
        # A default run takes a minute or two: say how far it is at every fifth of the schools.
        if done < total and done * 5 // total != (done - 1) * 5 // total:
            self.stdout.write(f"  学生生成中：已完成 {done:,} / {total:,} 所学校")
