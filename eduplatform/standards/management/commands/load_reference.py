from django.core.management.base import BaseCommand
from django.utils.translation import gettext, gettext_lazy

from eduplatform.funding.loading import load_default_rates
from eduplatform.orgs.loading import load_divisions
from eduplatform.standards import codebook
from eduplatform.standards.loading import load_code_tables


class Command(BaseCommand):
    help = gettext_lazy("载入国家标准代码表与广东省行政区划（可重复执行，不会产生重复）")

    def handle(self, *args, **options):
        codes = load_code_tables()
        codebook.forget()
        regions = load_divisions()
        rate_sets = load_default_rates()
        self.stdout.write(
            gettext("代码表：新增表 %(tables_created)s，新增代码 %(codes_created)s，更新 %(codes_updated)s，删除 %(codes_deleted)s（共 %(count)s 张表）\n代码的其他写法：新增 %(synonyms_created)s，更新 %(synonyms_updated)s，删除 %(synonyms_deleted)s\n行政区划：新增 %(created)s，更新 %(updated)s（共 %(total)s 个）\n生均公用经费默认定额：新写入 %(rate_sets)s 个年度（已有定额的年度不覆盖）") % {"tables_created": codes.tables_created, "codes_created": codes.codes_created, "codes_updated": codes.codes_updated, "codes_deleted": codes.codes_deleted, "count": len(codes.per_table), "synonyms_created": codes.synonyms_created, "synonyms_updated": codes.synonyms_updated, "synonyms_deleted": codes.synonyms_deleted, "created": regions.created, "updated": regions.updated, "total": regions.total, "rate_sets": rate_sets}
        )
