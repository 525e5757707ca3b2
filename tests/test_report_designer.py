"""The form designer (报表设计): a province officer builds a form through the pages — tables, prefill
and computed cells, hard and soft rules — previews it for a school and publishes it; broken
expressions are shown with their position and never saved; definitions export and import as JSON,
and a hostile file changes nothing and says why."""

from __future__ import annotations

import io
import json

import pytest

from eduplatform.reporting.models import FormDefinition, FormVersion, FormVersionStatus

pytestmark = pytest.mark.django_db


def officer(client, world, name: str = "province"):
    client.force_login(world.user(name))
    return client


def create_form(client, code: str = "JC442", title: str = "教师培训情况") -> FormVersion:
    response = client.post("/reports/designer/new/", {"code": code, "title": title})
    assert response.status_code == 302, response.content.decode()[:2000]
    return FormVersion.objects.get(form__code=code, status=FormVersionStatus.DRAFT)


def table_post(**cells) -> dict[str, str]:
    """The table section's form for T1 (合计, 其中：女, 其中：男 × 参加培训人数, 培训学时)."""
    data = {
        "section": "table", "index": "0", "t_code": "T1", "t_title": "专任教师培训情况", "t_unit": "人",
        "t_rows": "R1 合计\nR2 其中：女\nR3 其中：男",
        "col_code_0": "C1", "col_label_0": "参加培训人数", "col_type_0": "integer", "col_unit_0": "人",
        "col_code_1": "C2", "col_label_1": "培训学时", "col_type_1": "decimal", "col_decimals_1": "1",
        "col_code_2": "", "col_label_2": "", "col_type_2": "integer",
    }
    for n, (key, spec) in enumerate(cells.items()):
        data[f"cell_key_{n}"] = key.replace("_", ".")
        data[f"cell_prefill_{n}"] = spec.get("prefill", "")
        data[f"cell_computed_{n}"] = spec.get("computed", "")
        if spec.get("disabled"):
            data[f"cell_disabled_{n}"] = "1"
    return data


RULES = {
    "section": "rules",
    "rule_code_0": "V1", "rule_kind_0": "hard", "rule_expression_0": "[T1.R1.C1] >= [T1.R2.C1]",
    "rule_message_0": "女教师参加培训人数不能大于合计", "rule_cells_0": "T1.R2.C1",
    "rule_code_1": "E1", "rule_kind_1": "soft", "rule_expression_1": "[T1.R1.C1] <= RECORD('measure:teachers')",
    "rule_message_1": "参加培训人数超过了专任教师数", "rule_cells_1": "T1.R1.C1, T1.R2.C1",
}


def build_form(client) -> FormVersion:
    version = create_form(client)
    response = client.post(f"/reports/designer/{version.pk}/", table_post(
        R1_C1={"computed": "[T1.R2.C1] + [T1.R3.C1]"},
        R2_C1={"prefill": "RECORD('measure:teachers')"},
        R3_C2={"disabled": True},
    ))
    assert response.status_code == 302, response.content.decode()[:3000]
    response = client.post(f"/reports/designer/{version.pk}/", RULES)
    assert response.status_code == 302, response.content.decode()[:3000]
    return FormVersion.objects.get(pk=version.pk)


def test_officer_builds_a_form_with_prefill_computed_cells_and_rules_and_publishes_it(client, world):
    officer(client, world)
    version = build_form(client)
    definition = version.definition
    table = definition["tables"][0]
    assert [r["code"] for r in table["rows"]] == ["R1", "R2", "R3"]
    assert [(c["code"], c["type"]) for c in table["columns"]] == [("C1", "integer"), ("C2", "decimal")]
    assert table["columns"][1]["decimals"] == 1
    assert table["cells"]["R1.C1"] == {"computed": "[T1.R2.C1] + [T1.R3.C1]"}
    assert table["cells"]["R2.C1"] == {"prefill": "RECORD('measure:teachers')"}
    assert table["cells"]["R3.C2"] == {"disabled": True}
    assert [(r["code"], r["kind"]) for r in definition["rules"]] == [("V1", "hard"), ("E1", "soft")]
    assert definition["rules"][1]["cells"] == ["T1.R1.C1", "T1.R2.C1"]

    page = client.get(f"/reports/designer/{version.pk}/").content.decode()
    assert "[T1.R2.C1] + [T1.R3.C1]" in page
    assert "RECORD(&#x27;measure:teachers&#x27;)" in page  # the measure picker lists the measure store
    assert "RECORD(&#x27;staff.staff&#x27;)" in page and "post_category" in page  # and the roll-ups' fields, dims

    preview = client.get(f"/reports/designer/{version.pk}/preview/", {"school_code": world.school_a1.school_code})
    assert preview.status_code == 200
    text = preview.content.decode()
    assert world.school_a1.name in text and 'data-cell="T1.R2.C1"' in text

    # Publishing needs the confirmation; then the version is frozen.
    client.post(f"/reports/designer/{version.pk}/publish/", {})
    assert FormVersion.objects.get(pk=version.pk).status == FormVersionStatus.DRAFT
    client.post(f"/reports/designer/{version.pk}/publish/", {"confirm": "yes"})
    assert FormVersion.objects.get(pk=version.pk).status == FormVersionStatus.PUBLISHED
    before = FormVersion.objects.get(pk=version.pk).definition
    client.post(f"/reports/designer/{version.pk}/", {**RULES, "rule_message_0": "改过"})
    assert FormVersion.objects.get(pk=version.pk).definition == before


def test_a_broken_expression_is_shown_with_its_position_and_not_saved(client, world):
    officer(client, world)
    version = build_form(client)
    before = FormVersion.objects.get(pk=version.pk).definition
    broken = {**RULES, "rule_expression_0": "[T1.R1.C1] >= ([T1.R2.C1] +"}
    response = client.post(f"/reports/designer/{version.pk}/", broken)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="expression-error"' in page and "个字符" in page
    assert "[T1.R1.C1] &gt;= ([T1.R2.C1] +" in page  # what was typed comes back
    assert FormVersion.objects.get(pk=version.pk).definition == before

    # A cell reference to a cell that does not exist: refused by the engine, nothing saved.
    response = client.post(f"/reports/designer/{version.pk}/", {**RULES, "rule_expression_0": "[T1.R9.C1] >= 0"})
    assert response.status_code == 400
    assert "R9" in response.content.decode()
    assert FormVersion.objects.get(pk=version.pk).definition == before

    # The live check (htmx) answers as it is typed, with the position.
    check = client.post(f"/reports/designer/{version.pk}/check/", {"section": "rules", "rule_code_0": "V1",
                                                                   "rule_expression_0": "1 + * 2"},
                        headers={"HX-Trigger-Name": "rule_expression_0"})
    assert "第 5 个字符处：此处不能出现「*」" in check.content.decode()
    assert "expression-error" not in client.post(f"/reports/designer/{version.pk}/check/",
                                                  {"cell_prefill_0": "SUM([T1.R2.C1], 3)"}).content.decode()


def upload(client, data: bytes | str, name: str = "form.json"):
    raw = data.encode("utf-8") if isinstance(data, str) else data
    handle = io.BytesIO(raw)
    handle.name = name
    return client.post("/reports/designer/import/", {"file": handle})


def test_json_export_and_import_round_trip(client, world):
    officer(client, world)
    version = build_form(client)
    exported = client.get(f"/reports/designer/{version.pk}/json/")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/json")
    data = json.loads(exported.content)
    assert data == FormVersion.objects.get(pk=version.pk).definition
    client.post(f"/reports/designer/{version.pk}/publish/", {"confirm": "yes"})

    data["code"] = "SQ001"
    data["title"] = "随迁子女入学情况"
    response = upload(client, json.dumps(data, ensure_ascii=False))
    assert response.status_code == 302, response.content.decode()[:3000]
    imported = FormVersion.objects.get(form__code="SQ001")
    again = json.loads(client.get(f"/reports/designer/{imported.pk}/json/").content)
    assert again == data


HOSTILE = [
    ("unknown key", lambda d: d["tables"][0].update({"__class__": "x"}), ["__class__"]),
    ("bad expression", lambda d: d["rules"][0].update({"expression": "__import__('os').system('id')"}), ["V1"]),
    ("cycle", lambda d: d["tables"][0]["cells"].update({"R2.C1": {"computed": "[T1.R1.C1] - [T1.R3.C1]"}}), ["T1.R1.C1"]),
    ("bad code", lambda d: d["tables"][0]["rows"][1].update({"code": "r2; drop"}), ["第 2 行", "r2; drop"]),
]


@pytest.mark.parametrize(("what", "spoil", "named"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_json_is_refused_with_the_reason_and_changes_nothing(client, world, what, spoil, named):
    officer(client, world)
    version = build_form(client)
    data = json.loads(client.get(f"/reports/designer/{version.pk}/json/").content)
    spoil(data)
    versions, forms = FormVersion.objects.count(), FormDefinition.objects.count()
    definition = FormVersion.objects.get(pk=version.pk).definition
    response = upload(client, json.dumps(data, ensure_ascii=False))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="import-problems"' in page
    problems = page.split('data-testid="import-problems"', 1)[1].split("</div>", 2)[1]
    assert any(n in problems for n in named), problems
    assert (FormVersion.objects.count(), FormDefinition.objects.count()) == (versions, forms)
    assert FormVersion.objects.get(pk=version.pk).definition == definition


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", "表".encode("gbk"), b""])
def test_a_file_that_is_not_a_definition_says_so(client, world, raw):
    officer(client, world)
    count = FormVersion.objects.count()
    response = upload(client, raw)
    assert response.status_code == 400
    assert 'data-testid="import-problems"' in response.content.decode()
    assert FormVersion.objects.count() == count


def test_only_form_designers_reach_the_designer(client, world):
    for name in ("county_a_stat", "clerk_a1", "city_stat"):
        client.force_login(world.user(name))
        assert client.get("/reports/designer/").status_code == 403
        assert client.post("/reports/designer/new/", {"code": "X1", "title": "x"}).status_code == 403
    assert not FormDefinition.objects.exists()

