"""The data standard (统一数据标准) external systems follow, generated — never written by hand.

Everything in it comes from three sources that the platform itself runs on:

- the resource registry (``exchange.resources.all_resources``): every resource, its fields (name,
  Chinese label, type, required, code table, personal or not), natural key and rules — the same
  definitions that build the spreadsheet templates, the imports and the API payloads;
- the code tables (``standards``): the values every coded field takes;
- the OpenAPI document of ``/api/v1/``: the routes of each resource and the request bodies the
  example requests are built from.

A field added to a resource therefore appears in the page, the PDF and the workbook at once
(``tests/test_data_standard.py``). The page and the document carry no records: only definitions.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext_noop

from eduplatform.exchange.resources import ApiResource, ResourceField, all_resources
from eduplatform.standards.models import Code, CodeTable

# The standard is built in Chinese (the document and workbook systems exchange data by, and its
# fingerprint); its texts are marked (``gettext_noop`` here, in ``resources`` and the schemas) and shown
# translated on the page in an English session (``exchange.templatetags.standard_text``).
TYPE_LABELS = {
    "string": gettext_noop("字符串"), "integer": gettext_noop("整数"), "number": gettext_noop("数值"),
    "date": gettext_noop("日期（YYYY-MM-DD）"), "boolean": gettext_noop("布尔（true/false）"), "code": gettext_noop("代码"),
}
TITLE = gettext_noop("广东省教育信息平台统一数据标准（开放接口）")
OWN_LIST = gettext_noop("本平台取值表")
FEED_PATH = "/api/v1/changes"
TOKEN_PATH = "/oauth/token/"  # noqa: S105 — a URL, not a secret
EXAMPLE_HOST = "https://edu.example.gd.cn"
# Code tables short enough to print in the document's appendix; longer ones are named with a link.
PRINTED_CODES_LIMIT = 120


@dataclass(frozen=True)
class FieldDoc:
    name: str
    label: str
    type: str
    type_label: str
    required: bool
    code_table: str
    code_table_name: str
    personal: bool
    writable: bool
    help: str
    example: str
    code_table_url: str = ""  # a national table's public page, or the anchor of a schema's list


@dataclass(frozen=True)
class RouteDoc:
    method: str
    path: str
    summary: str


@dataclass(frozen=True)
class ResourceDoc:
    key: str
    label: str
    description: str
    natural_key: tuple[str, ...]
    natural_key_labels: tuple[str, ...]
    writable: bool
    in_feed: bool
    fields: tuple[FieldDoc, ...]
    rules: tuple[str, ...]
    routes: tuple[RouteDoc, ...]


@dataclass(frozen=True)
class CodeTableDoc:
    key: str
    name: str
    standard: str
    count: int
    used_by: tuple[str, ...]  # "students.gender"
    codes: tuple[tuple[str, str], ...] = ()  # (code, name), when short enough to print
    national: bool = True  # a standards code table (its own page); else a list of the resource's schema
    parts: tuple[str, ...] = ()  # a list of a schema: its resource's and its field's labels (the name's parts)

    @property
    def anchor(self) -> str:
        return code_anchor(self.key)


@dataclass(frozen=True)
class Example:
    title: str
    explanation: str
    command: str
    title_template: str = ""  # the title's marked text, with %(resource)s for ``subject``
    subject: str = ""  # a resource's label


# The example requests' titles and explanations.
READ_TITLE = gettext_noop("读取%(resource)s（游标分页）")
BATCH_TITLE = gettext_noop("批量提交%(resource)s（新增或更新，幂等）")
TOKEN_TITLE = gettext_noop("获取访问令牌")
TOKEN_TEXT = gettext_noop("安全管理员登记接口客户端后发放 client_id 与 client_secret；令牌有效期内每个请求都带上它。")
READ_TEXT = gettext_noop("每页返回 next_cursor；下一页把它作为 cursor 参数传回，直到为空。")
BATCH_TEXT = gettext_noop("同一 Idempotency-Key 的重试不会重复生效，返回与第一次相同的逐条结果；每次新的提交使用新的键。")
FEED_TITLE = gettext_noop("读取变更流")
FEED_TEXT = gettext_noop("按提交顺序返回新增、修改、删除和键变更；保存 next_cursor，下次用 after 传回。"
                         "has_more 为 true 时立即继续读取，为 false 时稍后再轮询。")


@dataclass(frozen=True)
class DataStandard:
    title: str
    api_version: str
    fingerprint: str  # changes whenever anything the standard says changes
    resources: tuple[ResourceDoc, ...]
    code_tables: tuple[CodeTableDoc, ...]
    examples: tuple[Example, ...]
    feed_resources: tuple[str, ...] = field(default=())


def openapi_document() -> dict[str, Any]:
    from config.api import api  # the assembled API (imported late: it imports every app's router)

    return api.get_openapi_schema()


def _routes_of(resource: ApiResource, paths: dict[str, Any]) -> tuple[RouteDoc, ...]:
    routes = []
    for path, operations in paths.items():
        segments = path.removeprefix("/api/v1/").split("/")
        if segments[0] != resource.key:
            continue
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                routes.append(RouteDoc(method.upper(), path, operation.get("summary", "")))
    return tuple(routes)


def code_anchor(key: str) -> str:
    return "code-" + key.replace(".", "-").replace("_", "-")


def _field_doc(f: ResourceField, table_names: dict[str, str]) -> FieldDoc:
    url = ""
    if f.code_table:
        url = (reverse("exchange_standard:code_table", args=(f.code_table,)) if f.code_table in table_names
               else "#" + code_anchor(f.code_table))
    return FieldDoc(name=f.name, label=f.label, type=f.type, type_label=TYPE_LABELS.get(f.type, f.type),
                    required=f.required, code_table=f.code_table, code_table_name=table_names.get(f.code_table, ""),
                    personal=f.personal, writable=f.writable, help=f.help, example=f.example, code_table_url=url)


def _example_value(f: ResourceField) -> Any:
    if f.example:
        return f.example
    return {"integer": 0, "number": 0, "boolean": False, "date": "2025-09-01"}.get(f.type, "")


def _example_record(resource: ApiResource) -> dict[str, Any]:
    return {f.name: _example_value(f) for f in resource.fields if f.writable and (f.required or f.example)}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return document.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[1], {})
    return schema


def _batch_body(document: dict[str, Any], operation: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """A request body for a batch route from its OpenAPI schema: array members hold the example
    record, enumerations their first value, the rest their default."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = _resolve(document, next(iter(content.values()), {}).get("schema", {}))
    body: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(document, prop)
        if prop.get("type") == "array":
            body[name] = [record]
        elif "enum" in prop:
            body[name] = prop["enum"][0]
        elif "default" in prop:
            body[name] = prop["default"]
    return body or {"records": [record]}


def _examples(resources: tuple[ResourceDoc, ...], registry: list[ApiResource], document: dict[str, Any],
              host: str) -> tuple[Example, ...]:
    examples = [Example(
        TOKEN_TITLE, TOKEN_TEXT,
        f"curl -s -X POST {host}{TOKEN_PATH} \\\n  -u \"$CLIENT_ID:$CLIENT_SECRET\" \\\n"
        "  -d grant_type=client_credentials\n# 返回 {\"access_token\": \"…\", \"expires_in\": 36000, …}\n"
        "TOKEN=<access_token>")]
    readable = next((r for r in resources if any(x.method == "GET" for x in r.routes) and r.key != "codes"), None)
    if readable is not None:
        list_route = next(x for x in readable.routes if x.method == "GET")
        examples.append(Example(
            READ_TITLE % {"resource": readable.label}, READ_TEXT,
            f"curl -s -H \"Authorization: Bearer $TOKEN\" \\\n  \"{host}{list_route.path}?limit=100\"",
            READ_TITLE, readable.label))
    writable = next((r for r in registry if r.writable), None)
    if writable is not None:
        doc = next(d for d in resources if d.key == writable.key)
        batch = next((x for x in doc.routes if x.method in {"POST", "PUT"}), None)
        if batch is not None:
            operation = document["paths"][batch.path][batch.method.lower()]
            body = json.dumps(_batch_body(document, operation, _example_record(writable)), ensure_ascii=False, indent=2)
            examples.append(Example(
                BATCH_TITLE % {"resource": writable.label}, BATCH_TEXT,
                f"curl -s -X {batch.method} {host}{batch.path} \\\n  -H \"Authorization: Bearer $TOKEN\" \\\n"
                f"  -H \"Idempotency-Key: $(uuidgen)\" \\\n  -H \"Content-Type: application/json\" \\\n"
                f"  -d '{body}'", BATCH_TITLE, writable.label))
    examples.append(Example(
        FEED_TITLE, FEED_TEXT,
        f"curl -s -H \"Authorization: Bearer $TOKEN\" \\\n  \"{host}{FEED_PATH}?resources=students,staff&limit=500\"\n"
        f"curl -s -H \"Authorization: Bearer $TOKEN\" \\\n  \"{host}{FEED_PATH}?resources=students,staff&after=$NEXT_CURSOR\""))
    return tuple(examples)


def _own_list(key: str, used_by: list[str], registry: list[ApiResource]) -> CodeTableDoc:
    """A coded field whose values are a list of its resource's schema, not a national table."""
    from eduplatform.exchange.record_resources import choices_of

    resource_key, _, field_name = used_by[0].partition(".")
    resource = next(r for r in registry if r.key == resource_key)
    label = next((f.label for f in resource.fields if f.name == field_name), field_name)
    choices = tuple((str(code), str(name)) for code, name in choices_of(resource, field_name))
    return CodeTableDoc(key=key, name=f"{resource.label}·{label}", standard=OWN_LIST, count=len(choices),
                        used_by=tuple(used_by), codes=choices, national=False, parts=(resource.label, label))


def build(*, host: str = EXAMPLE_HOST, with_codes: bool = True) -> DataStandard:
    """The data standard as the registry, the code tables and the OpenAPI document define it now."""
    registry = list(all_resources())
    document = openapi_document()
    used: dict[str, list[str]] = {}
    for resource in registry:
        for f in resource.fields:
            if f.code_table:
                used.setdefault(f.code_table, []).append(f"{resource.key}.{f.name}")
    tables = {t.key: t for t in CodeTable.objects.filter(key__in=used).annotate(count=Count("codes"))}
    names = {key: t.name for key, t in tables.items()}
    resources = tuple(
        ResourceDoc(key=r.key, label=r.label, description=r.description, natural_key=r.natural_key,
                    natural_key_labels=tuple(next((f.label for f in r.fields if f.name == k), k) for k in r.natural_key),
                    writable=r.writable, in_feed=bool(r.feed_resources),
                    fields=tuple(_field_doc(f, names) for f in r.fields), rules=r.rules,
                    routes=_routes_of(r, document.get("paths", {})))
        for r in registry)
    printed: dict[str, tuple[tuple[str, str], ...]] = {}
    if with_codes:
        short = [k for k, t in tables.items() if t.count <= PRINTED_CODES_LIMIT]
        for key, code, name in (Code.objects.filter(table__key__in=short)
                                .order_by("table__key", "sort_order", "pk").values_list("table__key", "code", "name")):
            printed[key] = (*printed.get(key, ()), (code, name))
    code_tables = tuple(
        CodeTableDoc(key=key, name=tables[key].name, standard=tables[key].standard, count=tables[key].count,
                     used_by=tuple(used[key]), codes=printed.get(key, ()))
        if key in tables else _own_list(key, used[key], registry)
        for key in sorted(used))
    fingerprint_source = json.dumps([[asdict(r) for r in resources], [asdict(t) for t in code_tables],
                                     document.get("info", {})], ensure_ascii=False, sort_keys=True, default=str)
    return DataStandard(
        title=TITLE,
        api_version=str(document.get("info", {}).get("version", "v1")),
        fingerprint=hashlib.sha256(fingerprint_source.encode()).hexdigest()[:12],
        resources=resources, code_tables=code_tables,
        examples=_examples(resources, registry, document, host),
        feed_resources=tuple(r.key for r in resources if r.in_feed))


def workbook_sheets(standard: DataStandard) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The standard as workbook sheets: resources, fields, code tables and their codes, examples."""
    yes = {True: "是", False: "否"}
    return [
        ("资源", ["资源标识", "名称", "说明", "自然键", "可写入", "变更流", "接口"],
         [[r.key, r.label, r.description, "、".join(r.natural_key), yes[r.writable], yes[r.in_feed],
           "\n".join(f"{x.method} {x.path}" for x in r.routes)] for r in standard.resources]),
        ("字段", ["资源标识", "字段", "中文名称", "类型", "必填", "代码表", "个人信息", "可写入", "说明", "示例"],
         [[r.key, f.name, f.label, f.type_label, yes[f.required], f.code_table, yes[f.personal], yes[f.writable],
           f.help, f.example] for r in standard.resources for f in r.fields]),
        ("规则", ["资源标识", "规则"], [[r.key, rule] for r in standard.resources for rule in r.rules]),
        ("代码表", ["代码表标识", "名称", "依据标准", "代码个数", "使用字段"],
         [[t.key, t.name, t.standard, t.count, "、".join(t.used_by)] for t in standard.code_tables]),
        ("代码", ["代码表标识", "代码", "名称"], [[t.key, code, name] for t in standard.code_tables for code, name in t.codes]),
        ("示例请求", ["示例", "说明", "命令"], [[e.title, e.explanation, e.command] for e in standard.examples]),
    ]
