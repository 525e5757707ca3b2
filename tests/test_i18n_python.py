"""No Chinese interface text in the Python code goes untranslated (docs/i18n.md, "Not yet translated").

An AST scan of eduplatform/**/*.py (migrations and tests left out) lists every string literal holding
Chinese that is not inside a translation call (gettext, gettext_lazy, gettext_noop, pgettext, ngettext,
format_lazy …). What it finds must be one of:

- ``ON_PURPOSE``: modules, functions or constants whose Chinese is data or a stored / official text
  and stays Chinese in both languages (the reasons are beside each entry);
- ``PENDING``: modules not marked yet, with the number of literals they hold today. The number may only
  fall: new Chinese in those modules fails the test as well, and a module brought to zero must leave the
  list. Modules not listed must have none.

Docstrings are skipped; comments are not in the AST. Column definitions (``Column(...)`` in
``*/schema.py``) are skipped as a whole: their labels are marked with gettext_noop, and their aliases,
examples and help are the import templates' Chinese, which the imports match.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "eduplatform"
HAN = re.compile(r"[\u3400-\u9fff]")
MARKING_CALLS = frozenset({
    "gettext", "gettext_lazy", "gettext_noop", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy",
    "npgettext", "npgettext_lazy", "format_lazy", "_",
})
# Calls whose literal arguments stay Chinese: column definitions (import-template text, see the module
# docstring) and audit entries (records, written in the platform's language; docs/i18n.md), the modules'
# thin wrappers over record_change included.
TEMPLATE_CALLS = frozenset({"Column", "C"})
AUDIT_CALLS = frozenset({"record_change", "record_event", "_audit", "_audit_account", "_audit_request", "_audit_transfer",
                         "_audit_by_school", "_trace"})

# (path under eduplatform/, qualified name or prefix; "" = the whole module) → why it stays Chinese.
ON_PURPOSE: dict[tuple[str, str], str] = {
    # Demo data generators: names, addresses, notes written into the database as data.
    ("demo/", ""): "demo data (records)",
    # 基表: the official statistical forms, reproduced as issued (another branch marks their chrome).
    ("stats/basetables/", ""): "official statistical forms (基表)",
    ("stats/templatetags/base_tables.py", "_AGE"): "pattern matching the 基表's own age headings (N岁) to translate them",
    # Code lists kept in Python (docs/i18n.md, "Code tables"): shown as the standard names them.
    ("staff/codes.py", ""): "code lists (titles, ranks, backbone levels)",
    ("assets/codes.py", ""): "code lists (equipment categories)",
    ("students/grades.py", ""): "grade names (a code list the imports match)",
    ("students/schema.py", "NATIONALITIES"): "code list (GB/T 2659 names)",
    ("students/schema.py", "LEVELS"): "code list (student levels)",
    ("students/schema.py", "_CLASS_NUMBER"): "pattern matching the Chinese of class numbers in files",
    ("students/schema.py", "SCHEMA"): "blank_codes: cell texts that mean 'none' in files",
    ("staff/schema.py", "_schema"): "blank_codes: cell texts that mean 'none' in files",
    ("facilities/schema.py", "USE_CATEGORIES"): "the use categories of 基础基512 (official form rows)",
    ("facilities/schema.py", "SEISMIC_RESULTS"): "code list (seismic appraisal results)",
    ("core/rows.py", "_SEX_SHOWN"): "GB/T 2261.1 sex code names",
    # What the parsers accept in cells: dates written 2015年9月1日, 是/否, the suffixes of place names.
    ("core/normalize.py", "_SEPARATED_DATE"): "pattern for dates written in Chinese",
    ("core/normalize.py", "_SEPARATED_MONTH"): "pattern for months written in Chinese",
    ("core/normalize.py", "_SEPARATOR_PAIRS"): "date separators written in Chinese",
    ("core/normalize.py", "_TRUE"): "yes in cells",
    ("core/normalize.py", "_FALSE"): "no in cells",
    ("core/normalize.py", "_NAME_SUFFIXES"): "suffixes of code names that files leave out",
    # The unified data standard: a normative Chinese document for the systems that exchange data.
    ("exchange/standard.py", ""): "the data standard's body",
    # Stored texts: audit notes and labels are records, written in the platform's language.
    ("imports/runner.py", "_run"): "the import's audit note and source label (built before the call)",
    ("core/exports.py", "PersonalDataExport.audit_note"): "the export's audit note",
    # The import template's title and file name go with the Chinese headers imports match.
    ("imports/registry.py", "ImportKind.template_name"): "import template title",
    # SQL installed in the city database: its message is raised by PostgreSQL to any client.
    ("nodes/services.py", "GUARD_FUNCTION"): "database trigger text",
    # 基表 files written for the statistics offices: the official forms' own headings.
    ("stats/management/commands/export_base_tables.py", ""): "official statistical forms (基表 xlsx)",
    ("stats/views.py", "base_tables"): "official statistical forms (基表 xlsx and PDF)",
    # A value of the class-size filter in a link (a data key the class list reads).
    ("stats/analysis_views.py", "class_size_page"): "size band key in a URL",
    # The import template (sheets, hints, example marker) and what the reader matches in files
    # (footer words, column-number rows): the Chinese that imports must find.
    ("core/imports.py", "DATA_SHEET"): "import template sheet names",
    ("core/imports.py", "_KIND_HINTS"): "import template hints",
    ("core/imports.py", "_FOOTER"): "words of footer rows in files",
    ("core/imports.py", "_FOOTER_INITIALS"): "initials of footer words in files",
    ("core/imports.py", "EXAMPLE_MARKER"): "the template's example marker header",
    ("core/imports.py", "EXAMPLE_CELL"): "the template's example marker",
    ("core/imports.py", "_is_footer"): "total rows in files",
    ("core/imports.py", "_is_column_numbers"): "column-number rows in files (甲乙丙…)",
    ("core/imports.py", "_column_help"): "import template help",
    ("core/imports.py", "template_xlsx"): "import template",
    # Values compared or stored as data: the class-size groups the pivot's expression yields and links
    # carry, the title grades the staff records hold, the stage names data files write.
    ("stats/pivot.py", "SIZE_CLASSES"): "size-class keys (grouping values and URL parameters)",
    ("stats/pivot.py", "_TITLE_ORDER"): "title grades as the records hold them (a sort key)",
    ("orgs/stages.py", "STAGE_SOURCE_NAMES"): "stage names as data files write them (default_rates.csv)",
    ("orgs/stages.py", "_SOURCE_STAGE"): "stage names as school_type.csv writes them",
    # Stored texts (records): who acted, review reasons and notes written on submissions and
    # approval requests, approval step titles, audit notes and change labels.
    ("reporting/services.py", "_act"): "the review log's actor name for the system (stored)",
    ("reporting/services.py", "remind_due_tasks"): "the reminder's review-log reason (stored)",
    ("reporting/services.py", "review_submission"): "return reasons stored on the submission, and the audit note",
    ("students/approvals.py", "apply_transfer"): "approval step titles (stored)",
    ("students/approvals.py", "apply_drop_out"): "approval step title (stored)",
    ("students/approvals.py", "_move_registration"): "audit change labels",
    ("staff/transfers.py", "apply_transfer"): "approval step titles (stored)",
    ("staff/transfers.py", "_complete"): "audit change labels",
    ("students/promotion.py", "promotion_scope"): "the promotion batch's scope label (stored)",
    ("students/promotion.py", "execute_promotion"): "class names written by SQL (data)",
    ("students/promotion.py", "_audit_by_school"): "audit labels",
    ("accounts/services.py", "USER_LABELS"): "audit change labels",
    ("accounts/models.py", "User.audit_name"): "the actor's name as audit entries and records store it",
    ("accounts/twofactor.py", ""): "the issuer and device names stored in authenticator apps and the database",
    ("orgs/services.py", "school_snapshot"): "audit values",
    ("orgs/services.py", "create_school"): "version reason (stored)",
    ("orgs/services.py", "update_school"): "version reason (stored)",
    ("orgs/services.py", "create_authority"): "version reason (stored)",
    ("orgs/services.py", "register_schools"): "version reason (stored)",
    ("stats/snapshots.py", "take_snapshot"): "the snapshot's default title (stored)",
    ("funding/conditions.py", "STANDARDS"): "level keys (本科/专科, translated where shown)",
    ("funding/conditions.py", "institution_checks"): "level keys (本科/专科, translated where shown)",
    ("funding/loading.py", "DEFAULT_BASIS"): "the default rates' basis (stored)",
    ("funding/services.py", "TRUE_WORDS"): "yes/no words in files",
    ("funding/services.py", "revise_rates"): "creator name and audit labels (stored)",
    ("funding/services.py", "set_institution_category"): "audit change label",
    # Audit values and labels, import summaries (the import's audit note, imports/runner.py), sources
    # and reasons stored on records, class names (data).
    ("assets/services.py", "_audit_values"): "audit values",
    ("assets/services.py", "write_equipment_rows"): "record labels and summary of the import's audit entries",
    ("facilities/services.py", "_snapshot"): "audit values",
    ("facilities/services.py", "_finish_batch"): "import summary (audit note)",
    ("staff/services.py", "AUDIT_LABELS"): "audit labels",
    ("staff/services.py", "write_posts"): "source (audit note), audit labels and import summary",
    ("staff/services.py", "_post_snapshot"): "audit values",
    ("staff/services.py", "_post_changes"): "audit labels",
    ("staff/services.py", "hire"): "source (audit note)",
    ("students/importing.py", "_write"): "import summary (audit note)",
    ("students/services.py", "AUDIT_LABELS"): "audit labels",
    ("students/services.py", "register_students"): "source (audit note)",
    ("students/services.py", "enrol_student"): "source (audit note)",
    ("students/services.py", "_classes_for"): "class names (data)",
    ("students/services.py", "create_class"): "class name (data)",
    ("students/services.py", "_Trace.rows"): "audit values",
    ("students/services.py", "replace_temporary_number"): "event reason (stored)",
    ("history/services.py", "record_change"): "the audit entry's actor name for the system (stored)",
    ("history/services.py", "audit_many"): "the audit entry's actor name for the system (stored)",
    ("history/selectors.py", "FeedCursorInvalid"): "API problem detail of the change feed (Chinese, issue 15)",
    ("stats/definitions.py", "NAMED_BANDS"): "size band keys (URL parameters and list filters)",
    ("stats/services.py", "_described"): "audit labels",
    ("history/audit_chain.py", "FIELD_LABELS"): "audit labels",
    ("nodes/plan.py", "NOT_REPLICATED"): "the replication plan's reasons, documentation shown nowhere (docs/decisions/0007)",
    # Configuration errors raised while settings are read, before translations can be loaded.
    ("core/crypto.py", "_parse_keys"): "configuration errors (raised before translations are available)",
    ("core/crypto.py", "_keys_for"): "configuration errors (raised before translations are available)",
    ("core/crypto.py", "_aead_for"): "configuration error (a missing key)",
    # Data-quality findings: their messages and record labels are stored on the issues (the rules'
    # titles and descriptions are marked); the workflow's notes are stored on the issue history.
    ("quality/checks/", ""): "finding messages and record labels stored on issues",
    ("quality/issues.py", "SYSTEM_NAME"): "the issue history's actor name for scans (stored)",
    ("quality/issues.py", "RESOLVED_NOTE"): "the issue history's note (stored)",
    ("quality/issues.py", "_act"): "audit label",
    ("quality/issues.py", "check_attachment"): "the Chinese wording of core.uploads' message, replaced in Chinese only",
    ("quality/issues.py", "mark_corrected"): "the default history note (stored)",
    ("quality/issues.py", "confirm"): "the default history note (stored)",
    ("quality/issues.py", "keep_person"): "the review notes stored on the issues",
    # The API's problem details (RFC 9457): the normative Chinese detail and message (issue 15).
    ("orgs/api.py", ""): "API problem details (Chinese, issue 15)",
    ("core/api.py", ""): "the API's title, description and problem titles and details (Chinese, issue 15)",
    ("exchange/api_feed.py", ""): "the change feed API's problem details and OpenAPI descriptions (Chinese, issue 15)",
    ("exchange/api_records.py", ""): "the records API's problem details and OpenAPI descriptions (Chinese, issue 15)",
    ("exchange/api_reference.py", ""): "the reference API's problem details and OpenAPI descriptions (Chinese, issue 15)",
    ("exchange/auth.py", ""): "the API's authentication problem details (Chinese, issue 15)",
    ("exchange/idempotency.py", ""): "the API's idempotency problem details (Chinese, issue 15)",
    ("exchange/ratelimit.py", ""): "the API's rate-limit problem detail (Chinese, issue 15)",
    ("exchange/rights.py", ""): "the API's authorisation problem details (Chinese, issue 15)",
    ("exchange/serializers.py", ""): "the API's schema descriptions and cell texts (Chinese, issue 15)",
    ("exchange/upsert.py", ""): "the API's write problem details (Chinese, issue 15)",
    ("exchange/calllog.py", ""): "the call log's route value for unknown routes (stored)",
    ("exchange/record_resources.py", "CLASS_FIELDS"): "an example value of the data standard (a class name as data)",
    ("exchange/standard_views.py", "standard_page"): "the file name of the normative Chinese data standard",
    ("exchange/clients.py", "describe_grants"): "audit value (the grants as the audit entry stores them)",
}

# Modules not marked yet → literals they hold today (may only fall; see the module docstring).
PENDING: dict[str, int] = {}


@dataclass(frozen=True)
class Found:
    path: str
    line: int
    where: str  # function/class path, or the module-level name assigned
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.where or '<module>'}] {self.text[:80]!r}"


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def unmarked_chinese(source: str, path: str = "<source>") -> list[Found]:
    """Chinese string literals of ``source`` outside translation calls, docstrings and column definitions."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    found: list[Found] = []

    def visit(node: ast.AST, skipped: bool, where: tuple[str, ...]) -> None:
        if isinstance(node, ast.Call) and _call_name(node.func) in MARKING_CALLS | TEMPLATE_CALLS | AUDIT_CALLS:
            skipped = True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            where = (*where, node.name)
        elif not where and isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)] + [
                e.id for t in targets if isinstance(t, ast.Tuple) for e in t.elts if isinstance(e, ast.Name)]
            if names:
                where = (names[0],)
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and HAN.search(node.value)
                and not skipped and id(node) not in docstrings):
            found.append(Found(path, node.lineno, ".".join(where), node.value))
        for child in ast.iter_child_nodes(node):
            visit(child, skipped, where)

    visit(tree, False, ())
    return found


def _on_purpose(found: Found) -> bool:
    for (path, where), _why in ON_PURPOSE.items():
        if (found.path == path or (path.endswith("/") and found.path.startswith(path))) and (
                not where or found.where == where or found.where.startswith(where + ".")):
            return True
    return False


def _scan() -> list[Found]:
    out: list[Found] = []
    for file in sorted(ROOT.rglob("*.py")):
        relative = file.relative_to(ROOT)
        if "migrations" in relative.parts or "tests" in relative.parts:
            continue
        out += [f for f in unmarked_chinese(file.read_text(encoding="utf-8"), relative.as_posix())
                if not _on_purpose(f)]
    return out


def test_the_scanner_flags_a_bare_literal_and_accepts_a_marked_one():
    source = '''
"""模块说明：文档字符串不算。"""
from django.utils.translation import gettext, gettext_lazy, gettext_noop

TITLE = gettext_lazy("学生名册")
BARE = "未翻译的标题"


def check(value):
    """函数说明。"""
    if not value:
        return gettext("请填写%(label)s") % {"label": gettext(LABEL)}
    raise ValueError(f"「{value}」不是数字")


LABEL = gettext_noop("姓名")
COLUMNS = (Column("name", gettext_noop("姓名"), aliases=("学生姓名",)),)
record_event(actor=None, note="审计记录")
ENGLISH = "plain English"
'''
    found = unmarked_chinese(source)
    assert [(f.line, f.where, f.text) for f in found] == [
        (6, "BARE", "未翻译的标题"), (13, "check", "」不是数字")]
    assert not unmarked_chinese('x = gettext("已标记")\ny = format_lazy(gettext_lazy("{a}人"), a=1)\n')


def test_on_purpose_entries_cover_functions_and_whole_folders():
    assert _on_purpose(Found("demo/names.py", 1, "SURNAMES", "王"))
    assert _on_purpose(Found("imports/runner.py", 1, "_run", "导入"))
    assert _on_purpose(Found("core/imports.py", 1, "template_xlsx.inner", "示例"))
    assert not _on_purpose(Found("imports/runner.py", 1, "run_import", "读取文件"))
    assert not _on_purpose(Found("core/rows.py", 1, "parse_phone", "不是有效的电话号码"))


def test_no_chinese_in_the_python_code_is_left_unmarked():
    by_module = Counter(f.path for f in _scan())
    report = []
    for path, count in sorted(by_module.items()):
        allowed = PENDING.get(path, 0)
        if count > allowed:
            report += [f"{path}: {count} unmarked Chinese literals, {allowed} allowed"]
            report += [f"  {f}" for f in _scan() if f.path == path][:200] if allowed == 0 else []
    stale = [f"{path}: listed in PENDING with {n}, now {by_module.get(path, 0)}: lower the number (or drop it)"
             for path, n in sorted(PENDING.items()) if by_module.get(path, 0) < n]
    assert not report + stale, (
        "Mark these for translation (docs/i18n.md), or — for data and stored or official texts — add them to "
        "ON_PURPOSE with the reason:\n" + "\n".join(report + stale))
