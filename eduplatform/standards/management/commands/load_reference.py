from django.core.management.base import BaseCommand

from eduplatform.funding.loading import load_default_rates
from eduplatform.orgs.loading import load_divisions
from eduplatform.standards import codebook
from eduplatform.standards.loading import load_code_tables


class Command(BaseCommand):
    help = "载入国家标准代码表与广东省行政区划（可重复执行，不会产生重复）"

    def handle(self, *args, **options):
        codes = load_code_tables()
        codebook.forget()
        regions = load_divisions()
        rate_sets = load_default_rates()
        self.stdout.write(
            f"代码表：新增表 {codes.tables_created}，新增代码 {codes.codes_created}，"
            f"更新 {codes.codes_updated}，删除 {codes.codes_deleted}（共 {len(codes.per_table)} 张表）\n"
            f"代码的其他写法：新增 {codes.synonyms_created}，更新 {codes.synonyms_updated}，删除 {codes.synonyms_deleted}\n"
            f"行政区划：新增 {regions.created}，更新 {regions.updated}（共 {regions.total} 个）\n"
            f"生均公用经费默认定额：新写入 {rate_sets} 个年度（已有定额的年度不覆盖）"
        )
