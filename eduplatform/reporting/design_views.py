"""The form designer (报表设计) and the completeness pages (上报进度).

The designer lets a province officer build a form without code: every section of the editor (the
header, one table, the rules) is a plain form whose POST rewrites that part of the draft's JSON
definition and hands the whole definition to ``services.save_form_draft``, which validates it with
the engine. A definition the engine refuses is not saved: the section is shown again with what was
typed and each problem beside it. Expressions are also checked live, as they are typed (htmx), with
the position of the error.

The completeness page shows, per child region of a task, how many schools were expected, have
submitted, were approved, returned, are overdue, reported zero, and the on-time share — one grouped
read by ``selectors.completeness``; at the bottom of the tree, each school's status.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eduplatform.core import once
from eduplatform.core.errors import RecordInvalid
from eduplatform.core.exports import respond as export_xlsx
from eduplatform.core.spreadsheets import attachment, csv_response
from eduplatform.core.views import require_capability
from eduplatform.orgs import capabilities
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.page_regions import region_in_scope, trail
from eduplatform.orgs.scope import scoped
from eduplatform.orgs.selectors import scope_root
from eduplatform.reporting.models import (
    FormDefinition,
    FormVersion,
    FormVersionStatus,
    Submission,
    SubmissionStatus,
)

NAV = "forms"
# Designing forms: the province officers (accounts.roles).
DESIGN_FORMS = capabilities.DESIGN_FORMS
COLUMN_TYPES = (("integer", gettext_lazy("整数")), ("decimal", gettext_lazy("小数")), ("text", gettext_lazy("文本")), ("code", gettext_lazy("代码")), ("date", gettext_lazy("日期")))
RULE_KINDS = (("hard", gettext_lazy("逻辑校验（必须满足）")), ("soft", gettext_lazy("经验校验（不满足须说明）")))
BLANK_ROWS = 3  # empty lines offered under each list of the editor, to add columns, cells, rules
MAX_IMPORT_BYTES = 2 * 1024 * 1024
EXPRESSION_FIELD = re.compile(r"^(rule_expression|cell_prefill|cell_computed)_\d+$")


def _may_design(user) -> bool:
    return user.can(DESIGN_FORMS)


def design_required(view):
    """Pages of the designer: the province officers who design forms (DESIGN_FORMS)."""
    return require_capability(DESIGN_FORMS)(view)


# --------------------------------------------------------------------------------------------
# Reads (scoped: forms are the designing unit's; tasks through the workflow's selectors)


def forms_in_scope(actor) -> list[FormDefinition]:
    return list(scoped(FormDefinition.objects.all(), actor, with_focus=False).prefetch_related("versions"))


def version_for(actor, version_id: int) -> FormVersion:
    forms = scoped(FormDefinition.objects.all(), actor, with_focus=False)
    version = FormVersion.objects.select_related("form").filter(pk=version_id, form__in=forms).first()
    if version is None:
        raise Http404(_("报表版本不存在或不在您的管辖范围内"))
    return version


def school_for_preview(actor, code: str) -> Organization | None:
    code = code.strip()
    if not code:
        return None
    return scoped(Organization.objects.filter(kind=OrgKind.SCHOOL, school_code=code), actor, with_focus=False).first()


# --------------------------------------------------------------------------------------------
# The engine and the services, in one place (their modules are built beside this one)


def _services():
    from eduplatform.reporting import services

    return services


def _selectors():
    from eduplatform.reporting import selectors

    return selectors


def _evaluation():
    from eduplatform.reporting import evaluation

    return evaluation


def problems_of(err: Exception) -> list[str]:
    """The Chinese messages of a refusal (RecordInvalid, the engine's DefinitionInvalid or ExpressionError)."""
    problems = getattr(err, "problems", None)
    if problems:
        return [getattr(p, "message", str(p)) for p in problems]
    return [str(err)]


def check_expression(text: str) -> str:
    """'' when ``text`` parses, else the engine's message with the position of the error."""
    if not text.strip():
        return ""
    from eduplatform.reporting import expressions

    try:
        expressions.parse(text)
    except expressions.ExpressionError as err:
        message = str(getattr(err, "message", "") or err)
        position = getattr(err, "position", None)
        if position is not None and f"{position}" not in message:
            return _("第 %(pos)s 个字符处：%(msg)s") % {"pos": int(position) + 1, "msg": message}
        return message
    return ""


def measure_choices() -> list[tuple[str, str]]:
    """RECORD('measure:…') entries of the expression picker: the measure store's keys and labels."""
    from eduplatform.stats.measures import MEASURES

    return [(f"RECORD('measure:{key}')", f"{figure.label}（{key}）") for key, figure in MEASURES.items()]


def rollup_choices() -> list[dict[str, Any]]:
    """RECORD('<roll-up>.<field>') entries of the picker, by roll-up, with the dimensions a condition
    may name (the engine's whitelist: record_refs.catalogue)."""
    from eduplatform.reporting import record_refs

    # The catalogue is cached in the language of its first reader: the labels are read again from the
    # models' (marked) verbose names, in the reader's language.
    def label(model, field: str) -> str:
        return str(model._meta.get_field(field).verbose_name)

    return [{"name": name, "label": str(rollup.model._meta.verbose_name),
             "fields": [(f"RECORD('{name}.{field}')", f"{label(rollup.model, field)}（{name}.{field}）")
                        for field in rollup.measures],
             "dims": [f"{dim}（{label(rollup.model, dim)}）" for dim in rollup.dims]}
            for name, rollup in record_refs.rollups().items()]


def code_tables() -> list[tuple[str, str]]:
    """The national code tables a code column may take its values from (the data dictionary's)."""
    from eduplatform.standards.models import CodeTable

    return list(CodeTable.objects.order_by("key").values_list("key", "name"))


def cell_keys(definition: dict) -> list[str]:
    keys = []
    for table in definition.get("tables", []) or []:
        for row in table.get("rows", []) or []:
            for column in table.get("columns", []) or []:
                keys.append(f"{table.get('code')}.{row.get('code')}.{column.get('code')}")
    return keys


def save_draft(request: HttpRequest, version: FormVersion, definition: dict) -> FormVersion:
    """Hand the rewritten definition to the service (which validates it); raises what it refuses."""
    from eduplatform.reporting.formdef import DefinitionInvalid

    try:
        return _services().save_form_draft(actor=request.user, code=version.form.code, definition=definition)
    except DefinitionInvalid as err:
        raise RecordInvalid(_("报表定义"), list(getattr(err, "problems", []))) from err


# --------------------------------------------------------------------------------------------
# Editing the definition: each section's form ↔ its part of the JSON


@dataclass
class SectionState:
    """What a section of the editor shows: the values (as typed when refused) and the problems."""

    values: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    expression_errors: dict[str, str] = field(default_factory=dict)


def _lines(prefix: str, post, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """The numbered lines ``prefix_<field>_<n>`` of a posted list, in order, empty lines dropped."""
    numbers = sorted({int(k.rsplit("_", 1)[1]) for k in post if k.startswith(prefix + "_") and k.rsplit("_", 1)[1].isdigit()})
    out = []
    for n in numbers:
        line = {f: post.get(f"{prefix}_{f}_{n}", "").strip() for f in fields}
        if any(v for f, v in line.items() if f not in {"kind", "type"}):
            out.append(line)
    return out


def table_from_post(post) -> tuple[dict, dict[str, str]]:
    """A table of the definition from its section's form, and the expression errors found live."""
    table: dict[str, Any] = {"code": post.get("t_code", "").strip().upper(), "title": post.get("t_title", "").strip()}
    if post.get("t_unit", "").strip():
        table["unit"] = post["t_unit"].strip()
    rows = []
    for raw in post.get("t_rows", "").splitlines():
        raw = raw.strip()
        if not raw:
            continue
        code, _sep, label = raw.replace("\t", " ").partition(" ")
        rows.append({"code": code.strip().upper(), "label": label.strip()})
    table["rows"] = rows
    columns = []
    for line in _lines("col", post, ("code", "label", "type", "unit", "decimals", "code_table")):
        column: dict[str, Any] = {"code": line["code"].upper(), "label": line["label"], "type": line["type"] or "integer"}
        if line["unit"]:
            column["unit"] = line["unit"]
        if line["decimals"]:
            column["decimals"] = int(line["decimals"]) if line["decimals"].isdigit() else line["decimals"]
        if line["code_table"]:
            column["code_table"] = line["code_table"]
        columns.append(column)
    table["columns"] = columns
    cells: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for n, line in enumerate(_lines("cell", post, ("key", "prefill", "computed", "disabled"))):
        key = line["key"].upper()
        spec: dict[str, Any] = {}
        for kind in ("prefill", "computed"):
            if line[kind]:
                spec[kind] = line[kind]
                problem = check_expression(line[kind])
                if problem:
                    errors[f"{kind}:{key or n}"] = problem
        if line["disabled"]:
            spec["disabled"] = True
        if key:
            cells[key] = spec
    table["cells"] = cells
    return table, errors


def rules_from_post(post) -> tuple[list[dict], dict[str, str]]:
    rules, errors = [], {}
    for line in _lines("rule", post, ("code", "kind", "expression", "message", "cells")):
        rule = {"code": line["code"].upper(), "kind": line["kind"] or "hard", "expression": line["expression"],
                "message": line["message"],
                "cells": [c.strip().upper() for c in line["cells"].replace("，", ",").split(",") if c.strip()]}
        problem = check_expression(line["expression"])
        if problem:
            errors[rule["code"] or line["expression"]] = problem
        rules.append(rule)
    return rules, errors


def table_form_values(table: dict) -> dict[str, Any]:
    """The section form's values of a table of the definition (plus empty lines to add to)."""
    columns = [{"code": c.get("code", ""), "label": c.get("label", ""), "type": c.get("type", "integer"),
                "unit": c.get("unit", ""), "decimals": c.get("decimals", ""), "code_table": c.get("code_table", "")}
               for c in table.get("columns", []) or []]
    columns += [{"code": "", "label": "", "type": "integer", "unit": "", "decimals": "", "code_table": ""}
                for _n in range(BLANK_ROWS)]
    cells = [{"key": k, "prefill": v.get("prefill", ""), "computed": v.get("computed", ""),
              "disabled": bool(v.get("disabled"))} for k, v in (table.get("cells") or {}).items()]
    cells += [{"key": "", "prefill": "", "computed": "", "disabled": False} for _n in range(BLANK_ROWS)]
    return {"code": table.get("code", ""), "title": table.get("title", ""), "unit": table.get("unit", ""),
            "rows": "\n".join(f"{r.get('code', '')} {r.get('label', '')}".strip() for r in table.get("rows", []) or []),
            "columns": columns, "cells": cells}


def rules_form_values(rules: list[dict]) -> list[dict[str, Any]]:
    out = [{"code": r.get("code", ""), "kind": r.get("kind", "hard"), "expression": r.get("expression", ""),
            "message": r.get("message", ""), "cells": ", ".join(r.get("cells", []) or [])} for r in rules]
    return out + [{"code": "", "kind": "hard", "expression": "", "message": "", "cells": ""} for _n in range(BLANK_ROWS)]


def starter_definition(code: str, title: str) -> dict:
    """A new form: one table with one row and one column, which the officer then edits."""
    return {"code": code, "title": title, "description": "",
            "tables": [{"code": "T1", "title": title, "rows": [{"code": "R1", "label": gettext("合计")}],
                        "columns": [{"code": "C1", "label": gettext("人数"), "type": "integer", "unit": gettext("人")}], "cells": {}}],
            "rules": []}


# --------------------------------------------------------------------------------------------
# Designer pages


def _latest(form: FormDefinition) -> FormVersion | None:
    versions = sorted(form.versions.all(), key=lambda v: v.version)
    return versions[-1] if versions else None


@login_required
@design_required
def designer(request: HttpRequest) -> HttpResponse:
    forms = [{"form": f, "versions": sorted(f.versions.all(), key=lambda v: -v.version), "latest": _latest(f)}
             for f in forms_in_scope(request.user)]
    return render(request, "reporting/design/list.html", {"nav_active": NAV, "forms": forms, "import_problems": []})


@login_required
@require_POST
@design_required
def designer_new(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("code", "").strip().upper()
    title = request.POST.get("title", "").strip()
    try:
        version = _services().save_form_draft(actor=request.user, code=code, definition=starter_definition(code, title))
    except Exception as err:  # noqa: BLE001 — RecordInvalid or the engine's DefinitionInvalid: shown, nothing saved
        if not hasattr(err, "problems"):
            raise
        messages.error(request, _("未能新建报表：") + "；".join(problems_of(err)))
        return redirect("reporting:designer")
    messages.success(request, _("已新建报表 %(code)s 的草稿") % {"code": version.form.code})
    return redirect("reporting:designer_edit", version_id=version.pk)


def _editor_context(version: FormVersion, definition: dict, states: dict[str, SectionState] | None = None) -> dict:
    states = states or {}
    tables = []
    for index, table in enumerate(definition.get("tables", []) or []):
        state = states.get(f"table:{index}")
        tables.append({"index": index, "state": state or SectionState(table_form_values(table))})
    new_state = states.get("table:new") or SectionState(table_form_values({"code": "", "title": ""}))
    rules_state = states.get("rules") or SectionState({"rules": rules_form_values(definition.get("rules", []) or [])})
    header_state = states.get("header") or SectionState({"title": definition.get("title", ""),
                                                         "description": definition.get("description", "")})
    return {
        "nav_active": NAV, "version": version, "definition": definition, "tables": tables, "new_table": new_state,
        "rules_state": rules_state, "header_state": header_state, "column_types": COLUMN_TYPES, "rule_kinds": RULE_KINDS,
        "picker_cells": cell_keys(definition), "picker_measures": measure_choices(), "picker_rollups": rollup_choices(), "code_tables": code_tables(),
        "editable": version.status == FormVersionStatus.DRAFT,
    }


@login_required
@design_required
def designer_edit(request: HttpRequest, version_id: int) -> HttpResponse:
    version = version_for(request.user, version_id)
    definition = copy.deepcopy(version.definition or {})
    if request.method != "POST":
        return render(request, "reporting/design/edit.html", _editor_context(version, definition))
    if version.status != FormVersionStatus.DRAFT:
        messages.error(request, _("已发布的版本不能修改，请先新建版本"))
        return redirect("reporting:designer_edit", version_id=version.pk)
    section = request.POST.get("section", "")
    key, state = section, None
    if section == "header":
        definition["title"] = request.POST.get("title", "").strip()
        definition["description"] = request.POST.get("description", "").strip()
        state = SectionState({"title": definition["title"], "description": definition["description"]})
    elif section == "table":
        index = request.POST.get("index", "new")
        tables = definition.setdefault("tables", [])
        position = int(index) if index.isdigit() and int(index) < len(tables) else None
        key = f"table:{index if position is not None else 'new'}"
        if request.POST.get("delete") and position is not None:
            removed = tables.pop(position)
            state = SectionState(table_form_values(removed))
        else:
            table, errors = table_from_post(request.POST)
            if position is None:
                tables.append(table)
            else:
                tables[position] = table
            state = SectionState(table_form_values(table), expression_errors=errors)
            state.values["rows"] = request.POST.get("t_rows", "")
            for line in state.values["cells"]:
                line["prefill_error"] = errors.get(f"prefill:{line['key']}", "")
                line["computed_error"] = errors.get(f"computed:{line['key']}", "")
    elif section == "rules":
        rules, errors = rules_from_post(request.POST)
        definition["rules"] = rules
        state = SectionState({"rules": rules_form_values(rules)}, expression_errors=errors)
        for line in state.values["rules"]:
            line["error"] = errors.get(line["code"] or line["expression"], "") if line["expression"] else ""
    else:
        raise Http404(_("未知的编辑部分"))
    if state.expression_errors:
        # A broken expression is not saved: the section comes back as typed, each error beside its field.
        state.problems = [f"{where.partition(':')[2] or where}：{msg}" for where, msg in state.expression_errors.items()]
        return render(request, "reporting/design/edit.html",
                      _editor_context(version, version.definition, {key: state}), status=400)
    try:
        saved = save_draft(request, version, definition)
    except RecordInvalid as err:
        state.problems = problems_of(err)
        return render(request, "reporting/design/edit.html",
                      _editor_context(version, version.definition, {key: state}), status=400)
    messages.success(request, _("草稿已保存"))
    anchor = "#rules" if section == "rules" else ""
    return redirect(reverse("reporting:designer_edit", kwargs={"version_id": saved.pk}) + anchor)


@login_required
@require_POST
@design_required
def designer_check(request: HttpRequest, version_id: int) -> HttpResponse:
    """Live check of one expression as it is typed (htmx): the field's value is the posted one."""
    version_for(request.user, version_id)
    # htmx posts the whole section's form with the box that changed; HX-Trigger-Name says which one.
    name = request.headers.get("HX-Trigger-Name", "")
    if not EXPRESSION_FIELD.match(name):
        name = next((k for k in request.POST if EXPRESSION_FIELD.match(k)), "")
    text = request.POST.get(name, "")
    problem = check_expression(text)
    return render(request, "reporting/design/_check.html", {"problem": problem, "text": text})


@login_required
@require_POST
@design_required
def designer_new_version(request: HttpRequest, version_id: int) -> HttpResponse:
    """A new draft from a published version (a published version never changes)."""
    version = version_for(request.user, version_id)
    draft = next((v for v in version.form.versions.all() if v.status == FormVersionStatus.DRAFT), None)
    if draft is None:
        try:
            draft = save_draft(request, version, copy.deepcopy(version.definition))
        except RecordInvalid as err:
            messages.error(request, "；".join(problems_of(err)))
            return redirect("reporting:designer_edit", version_id=version.pk)
    return redirect("reporting:designer_edit", version_id=draft.pk)


@login_required
@require_POST
@design_required
def designer_publish(request: HttpRequest, version_id: int) -> HttpResponse:
    version = version_for(request.user, version_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("请勾选确认后再发布：发布后该版本不能再修改"))
        return redirect("reporting:designer_edit", version_id=version.pk)
    try:
        with once.submitted_once(key=once.posted_token(request), action="reporting.publish_form",
                                 submitted_by=request.user.audit_name()) as claim:
            published = _services().publish_form_version(actor=request.user, version=version)
            once.record_result(claim, reverse("reporting:designer_edit", kwargs={"version_id": published.pk}))
    except once.AlreadySubmitted as err:
        messages.info(request, err.message)
        return redirect(err.result_url or reverse("reporting:designer_edit", kwargs={"version_id": version.pk}))
    except RecordInvalid as err:
        messages.error(request, "；".join(problems_of(err)))
        return redirect("reporting:designer_edit", version_id=version.pk)
    messages.success(request, _("已发布 %(v)s") % {"v": published})
    return redirect("reporting:designer_edit", version_id=published.pk)


@login_required
@design_required
def designer_json(request: HttpRequest, version_id: int) -> HttpResponse:
    version = version_for(request.user, version_id)
    data = _selectors().form_json(request.user, version)
    content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return attachment(content, f"{version.form.code}-v{version.version}.json", "application/json; charset=utf-8")


def import_problems_of(raw: bytes) -> tuple[dict | None, list[str]]:
    """The file as a definition, or why it is not one (before the engine reads it)."""
    if len(raw) > MAX_IMPORT_BYTES:
        return None, [_("文件超过 2 MB，不是报表定义文件")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [_("文件不是 UTF-8 编码的 JSON 文本")]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return None, [_("JSON 格式错误：第 %(line)s 行第 %(col)s 列，%(msg)s") % {"line": err.lineno, "col": err.colno,
                                                                            "msg": err.msg}]
    if not isinstance(data, dict):
        return None, [_("文件的最外层应是一个对象（{…}），包含 code、title、tables、rules")]
    problems = unknown_keys(data)
    return (None, problems) if problems else (data, [])


# The keys a definition may hold at each place (what formdef.parse_definition reads): anything else
# in an imported file is refused, naming where it is, rather than silently dropped.
KNOWN_KEYS = {
    "form": {"code", "title", "description", "tables", "rules", "other_forms"},
    "table": {"code", "title", "unit", "description", "rows", "columns", "cells"},
    "row": {"code", "label"},
    "column": {"code", "label", "type", "unit", "decimals", "code_table", "allow_negative"},
    "rule": {"code", "kind", "expression", "message", "cells"},
}


def unknown_keys(data: dict) -> list[str]:
    def extra(obj: Any, kind: str) -> list[str]:
        return sorted(str(k)[:40] for k in obj if k not in KNOWN_KEYS[kind]) if isinstance(obj, dict) else []

    problems = []
    if found := extra(data, "form"):
        problems.append(_("报表定义有未知的字段：%(k)s") % {"k": "、".join(found)})
    for t, table in enumerate(data.get("tables") or [] if isinstance(data.get("tables"), list) else []):
        where = _("第 %(n)s 张表（%(code)s）") % {"n": t + 1, "code": str(table.get("code", ""))[:20]
                                            if isinstance(table, dict) else ""}
        if found := extra(table, "table"):
            problems.append(_("%(w)s有未知的字段：%(k)s") % {"w": where, "k": "、".join(found)})
        if not isinstance(table, dict):
            continue
        for kind, label in (("row", gettext("行")), ("column", gettext("列"))):
            items = table.get(kind + "s") or []
            for n, item in enumerate(items if isinstance(items, list) else []):
                if found := extra(item, kind):
                    problems.append(_("%(w)s第 %(n)s %(l)s（%(c)s）有未知的字段：%(k)s") % {
                        "w": where, "n": n + 1, "l": label, "c": str(item.get("code", ""))[:20], "k": "、".join(found)})
    rules = data.get("rules") or []
    for n, rule in enumerate(rules if isinstance(rules, list) else []):
        if found := extra(rule, "rule"):
            problems.append(_("第 %(n)s 条规则（%(c)s）有未知的字段：%(k)s") % {
                "n": n + 1, "c": str(rule.get("code", ""))[:20], "k": "、".join(found)})
    return problems


@login_required
@require_POST
@design_required
def designer_import(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    problems: list[str] = []
    data = None
    if upload is None:
        problems = [_("请选择要导入的 JSON 文件")]
    else:
        data, problems = import_problems_of(upload.read(MAX_IMPORT_BYTES + 1))
    if data is not None:
        from eduplatform.reporting.formdef import DefinitionInvalid

        try:
            version = _services().import_form_json(actor=request.user, data=data)
        except (RecordInvalid, DefinitionInvalid) as err:
            problems = problems_of(err)
        else:
            messages.success(request, _("已导入为 %(v)s 的草稿") % {"v": version})
            return redirect("reporting:designer_edit", version_id=version.pk)
    forms = [{"form": f, "versions": sorted(f.versions.all(), key=lambda v: -v.version), "latest": _latest(f)}
             for f in forms_in_scope(request.user)]
    return render(request, "reporting/design/list.html",
                  {"nav_active": NAV, "forms": forms, "import_problems": problems}, status=400)


@login_required
@design_required
def designer_preview(request: HttpRequest, version_id: int) -> HttpResponse:
    """The form as a school sees it, with the prefill evaluated for a school the officer picks."""
    version = version_for(request.user, version_id)
    evaluation = _evaluation()
    school = school_for_preview(request.user, request.GET.get("school_code", ""))
    problems: list[str] = []
    values: dict[str, Any] = {}
    try:
        spec = evaluation.parse_definition(version.definition)
    except Exception as err:  # noqa: BLE001 — an invalid draft is previewed as far as it goes
        if not hasattr(err, "problems"):
            raise
        spec, problems = None, problems_of(err)
    if spec is not None and school is not None:
        prefill = evaluation.prefill_values(spec, school=school)
        values = {**{k: str(v) for k, v in prefill.items()}}
        values.update(evaluation.compute_values(spec, values))
    if request.GET.get("school_code") and school is None:
        problems.append(_("学校标识码「%(c)s」不存在或不在您的管辖范围内") % {"c": request.GET["school_code"][:20]})
    tables = []
    for table in version.definition.get("tables", []) or []:
        cells = table.get("cells") or {}
        grid = []
        for row in table.get("rows", []) or []:
            line = []
            for column in table.get("columns", []) or []:
                key = f"{row.get('code')}.{column.get('code')}"
                full = f"{table.get('code')}.{key}"
                cell = cells.get(key, {})
                line.append({"key": full, "value": values.get(full, ""), "prefill": bool(cell.get("prefill")),
                             "computed": bool(cell.get("computed")), "disabled": bool(cell.get("disabled")),
                             "type": column.get("type", "integer")})
            grid.append({"row": row, "cells": line})
        tables.append({"table": table, "grid": grid})
    return render(request, "reporting/design/preview.html", {
        "nav_active": NAV, "version": version, "tables": tables, "school": school, "problems": problems,
        "school_code": request.GET.get("school_code", "")[:20], "rules": version.definition.get("rules", []) or [],
    })


# --------------------------------------------------------------------------------------------
# Completeness and timeliness (上报进度)

COMPLETENESS_COLUMNS = (
    ("name", gettext_lazy("区划")), ("expected", gettext_lazy("应报")), ("submitted", gettext_lazy("已上报")), ("approved", gettext_lazy("已审核")), ("returned", gettext_lazy("已退回")),
    ("overdue", gettext_lazy("逾期未报")), ("zero", gettext_lazy("零上报")), ("submitted_pct", gettext_lazy("上报率")), ("on_time_pct", gettext_lazy("及时率")),
)
SCHOOL_COLUMNS = (("name", gettext_lazy("学校")), ("school_code", gettext_lazy("学校标识码")), ("status", gettext_lazy("状态")), ("zero", gettext_lazy("零上报")),
                  ("submitted_at", gettext_lazy("上报时间")), ("on_time", gettext_lazy("按时")))
STATUS_LABELS = dict(SubmissionStatus.choices)


def _get(row: Any, name: str, default: Any = 0) -> Any:
    if isinstance(row, dict):
        return row.get(name, default)
    return getattr(row, name, default)


def _pct(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)


def completeness_rows(actor, task, region: Region) -> list[dict[str, Any]]:
    """The workflow's grouped figures per child region (one GROUP BY), with the shares the page and
    the export show. On-time share as DHIS2 computes timeliness: reported by the deadline / expected."""
    found = list(_selectors().completeness(actor, task, region.path))
    codes = dict(Region.objects.filter(path__in=[_get(r, "path", "") for r in found]).values_list("path", "code"))
    out = []
    for row in found:
        expected, submitted = int(_get(row, "expected")), int(_get(row, "submitted"))
        on_time = int(_get(row, "on_time"))
        path = _get(row, "path", "")
        out.append({
            "code": codes.get(path, ""), "name": _get(row, "name", ""), "path": path,
            "expected": expected, "submitted": submitted, "approved": int(_get(row, "approved")),
            "returned": int(_get(row, "returned")), "overdue": int(_get(row, "overdue")), "zero": int(_get(row, "zero")),
            "on_time": on_time, "submitted_pct": _pct(submitted, expected), "on_time_pct": _pct(on_time, expected),
        })
    return out


def _submission_url(pk: int) -> str:
    """The review-chain page of one submission (the pages built beside these)."""
    try:
        return reverse("reporting:submission", kwargs={"submission_id": pk})
    except NoReverseMatch:
        return ""


def school_rows(actor, task, region: Region) -> list[dict[str, Any]]:
    """Each school's status under ``region`` (the bottom of the drill-down)."""
    qs = scoped(Submission.objects.filter(task=task, region_path__startswith=region.path), actor, with_focus=False)
    rows = []
    for s in qs.select_related("school").order_by("school__name", "pk"):
        reported = s.status in (SubmissionStatus.SUBMITTED, SubmissionStatus.APPROVED)
        submitted_day = timezone.localtime(s.submitted_at).date() if s.submitted_at and reported else None
        rows.append({"name": s.school.name, "school_code": s.school.school_code, "status": s.status,
                     "status_label": STATUS_LABELS.get(s.status, s.status), "zero": s.zero_report,
                     "submitted_at": s.submitted_at, "submission_id": s.pk, "url": _submission_url(s.pk),
                     "on_time": None if submitted_day is None else submitted_day <= task.deadline})
    return rows


def _sorted(rows: list[dict], columns: tuple[tuple[str, str], ...], sort: str) -> tuple[list[dict], str]:
    keys = {k for k, _label in columns}
    name = sort.lstrip("-")
    if name not in keys:
        return rows, ""
    reverse_ = sort.startswith("-")

    def key(row: dict) -> tuple:
        value = row.get(name)
        return (value is None, value if value is not None else 0) if name not in {"name", "school_code", "status"} \
            else (False, str(value or ""))

    present = [r for r in rows if r.get(name) is not None]
    missing = [r for r in rows if r.get(name) is None]
    return sorted(present, key=key, reverse=reverse_) + missing, sort


@login_required
@require_capability(capabilities.VIEW_RECORDS)
def completeness(request: HttpRequest, task_id: int) -> HttpResponse:
    user = request.user
    task = _selectors().tasks_for(user).filter(pk=task_id).first()
    if task is None:
        raise Http404(_("填报任务不存在或不在您的管辖范围内"))
    region = region_in_scope(request)
    root = scope_root(user)
    at_schools = not Region.objects.filter(parent=region).exists()
    rows = [] if at_schools else completeness_rows(user, task, region)
    columns = SCHOOL_COLUMNS if at_schools else COMPLETENESS_COLUMNS
    if at_schools:
        rows = school_rows(user, task, region)
    rows, sort = _sorted(rows, columns, request.GET.get("sort", ""))
    fmt = request.GET.get("format", "")
    if fmt in {"xlsx", "csv"}:
        return _completeness_export(task, region, rows, columns, fmt)
    totals = None
    if not at_schools:
        totals = {k: sum(r[k] for r in rows) for k in ("expected", "submitted", "approved", "returned", "overdue",
                                                        "zero", "on_time")}
        totals["submitted_pct"] = _pct(totals["submitted"], totals["expected"])
        totals["on_time_pct"] = _pct(totals["on_time"], totals["expected"])
    map_data = None
    if region.level == "province" and not at_schools:
        map_data = {"label": gettext("上报率"), "unit": "%",
                    "rows": [{"name": r["name"], "code": r["code"], "value": r["submitted_pct"]} for r in rows]}
    base = {"region": region.code} if region != root else {}
    headers = []
    for key, label in columns:
        next_sort = "-" + key if sort == key else key
        headers.append({"key": key, "label": label, "active": sort.lstrip("-") == key, "desc": sort.startswith("-"),
                        "url": "?" + urlencode({**base, "sort": next_sort})})
    return render(request, "reporting/design/completeness.html", {
        "nav_active": NAV, "task": task, "region": region, "trail": trail(region, root) if root else [],
        "rows": rows, "totals": totals, "headers": headers, "at_schools": at_schools, "sort": sort,
        "map_data": map_data, "export_query": urlencode({**base, **({"sort": sort} if sort else {})}),
    })


def _cell(row: dict, key: str) -> Any:
    value = row.get(key)
    if key == "status":
        return row.get("status_label", value)
    if key in {"zero", "on_time"} and isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if key == "submitted_at" and value is not None:
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else value


def _completeness_export(task, region: Region, rows: list[dict], columns, fmt: str) -> HttpResponse:
    headers = [label for _k, label in columns]
    lines = ([_cell(r, k) for k, _l in columns] for r in rows)
    filename = gettext("上报进度-%(pk)s-%(code)s.%(fmt)s") % {"pk": task.pk, "code": region.code, "fmt": fmt}
    if fmt == "xlsx":
        return export_xlsx(filename, headers, lines, sheet=gettext("上报进度"))
    return csv_response(filename, headers, lines)  # formula-like cells neutralised there
