"""The API's resources, each described once: the routes, the OpenAPI schemas, the grants a client
can hold and the data-standard document (数据标准) are all generated from these descriptions.

A record resource (students, staff, buildings …) takes its fields from the spreadsheet import's
columns (``imports.registry.ImportKind.schema``): one definition of each field — its name, Chinese
label, type, code table, whether it is required — serves the template, the file import, the API
payload and the data standard. Read-only resources (code tables, statistics) declare theirs here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResourceField:
    name: str  # JSON member, e.g. "student_number"
    label: str  # 学籍号
    type: str  # "string" | "integer" | "number" | "date" | "boolean" | "code"
    required: bool = False
    code_table: str = ""  # standards code table key when type == "code"
    personal: bool = False  # masked unless the client may see personal data
    help: str = ""
    example: str = ""
    writable: bool = True  # False: read-only (derived, e.g. the class size)


@dataclass(frozen=True)
class ApiResource:
    key: str  # URL segment and grant name, e.g. "students"
    label: str  # 学生
    description: str  # one paragraph for the data standard
    natural_key: tuple[str, ...]  # fields that identify a record, e.g. ("student_number",)
    fields: tuple[ResourceField, ...]
    feed_resources: tuple[str, ...] = ()  # ChangeFeedEntry.resource values of this resource
    read_capability: str = ""  # orgs.capabilities.* the acting account needs to read
    write_capability: str = ""  # … to write; "" = read-only resource
    import_kind: str = ""  # imports registry key used by batch upsert ("" = not writable)
    rules: tuple[str, ...] = ()  # checks beyond the fields' own (listed in the data standard)
    extra: Mapping[str, Any] = field(default_factory=dict)  # per-resource hooks (list, get, serialize …)

    @property
    def writable(self) -> bool:
        return bool(self.write_capability and self.import_kind)


_RESOURCES: dict[str, ApiResource] = {}


def register(resource: ApiResource) -> ApiResource:
    if resource.key in _RESOURCES and _RESOURCES[resource.key] != resource:
        raise ValueError(f"API resource {resource.key!r} registered twice")
    _RESOURCES[resource.key] = resource
    return resource


def get(key: str) -> ApiResource:
    return _RESOURCES[key]


def all_resources() -> Iterator[ApiResource]:
    """In registration order (the data standard's order)."""
    return iter(list(_RESOURCES.values()))


Hook = Callable[..., Any]
