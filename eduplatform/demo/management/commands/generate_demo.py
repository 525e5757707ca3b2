import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from eduplatform.demo import assets as demo_assets
from eduplatform.demo import facilities as demo_facilities
from eduplatform.demo import higher_ed as demo_higher_ed
from eduplatform.demo import province
from eduplatform.demo import staff as demo_staff
from eduplatform.demo import students as demo_students
from eduplatform.orgs.models import Region
from eduplatform.stats.rollup import rebuild_all


class Command(BaseCommand):
    help = "生成演示数据：教育行政部门、各类学校、学生与各角色演示账号（固定随机种子，可重复执行）"

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=float, default=0.05,
                            help=f"学校规模，1.0 = 全省规模（约 {province.PROVINCE_SIZE:,} 所），默认 0.05")
        parser.add_argument("--students", type=float, default=0.05,
                            help="学生规模：按此比例缩放每个年级的班数（每校每个年级至少 1 个班），"
                                 "1.0 = 足额班数，0 = 不生成学生，默认 0.05")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, scale: float, students: float, seed: int, **options):
        if not Region.objects.exists():
            call_command("load_reference", stdout=self.stdout)
        started = time.perf_counter()
        created, accounts = province.generate(scale, seed)
        took = time.perf_counter() - started
        if created:
            self.stdout.write(f"已生成学校 {created:,} 所（规模 {scale}，用时 {took:.1f} 秒）")
        else:
            self.stdout.write("演示数据已存在，未重复生成。")
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
        # The generators write in bulk; the statistics are rebuilt from what they wrote.
        started = time.perf_counter()
        rebuild_all()
        self.stdout.write(f"统计汇总表已按记录重建（用时 {time.perf_counter() - started:.1f} 秒）")
        self.stdout.write(f"\n演示账号（密码均为 {province.DEMO_PASSWORD}）：")
        self.stdout.write(f"  {'用户名':<14}{'角色':<12}{'所属单位'}")
        for a in accounts:
            note = f"（{a.note}）" if a.note else ""
            self.stdout.write(f"  {a.username:<16}{a.role:<10}{a.organization}{note}")

    def _progress(self, done: int, total: int) -> None:
        # A default run takes a minute or two: say how far it is at every fifth of the schools.
        if done < total and done * 5 // total != (done - 1) * 5 // total:
            self.stdout.write(f"  学生生成中：已完成 {done:,} / {total:,} 所学校")
