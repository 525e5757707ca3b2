"""The rule page lists every registered rule with its description (and exports them), the 三员 do
not read it, and docs/quality.md documents every rule code."""

from __future__ import annotations

import io
from pathlib import Path

from python_calamine import CalamineWorkbook

from eduplatform.quality.rules import RULES

DOC = Path(__file__).resolve().parent.parent / "docs" / "quality.md"


def test_every_rule_is_listed_with_its_description(client, world):
    client.force_login(world.user("clerk_a1"))
    body = client.get("/quality/rules/").content.decode()
    assert len(RULES) >= 23
    for code, rule in RULES.items():
        assert f'id="{code}"' in body, code
        assert rule.description[:20] in body, code


def test_the_rule_list_exports_one_row_per_rule(client, world):
    client.force_login(world.user("county_a_stat"))
    response = client.get("/quality/rules/?format=xlsx")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert rows[0][0] == "规则代码"
    assert sorted(r[0] for r in rows[1:]) == sorted(RULES)


def test_security_roles_do_not_read_the_rules_page(client, world):
    client.force_login(world.user("secadmin"))
    assert client.get("/quality/rules/").status_code == 403


def test_the_documentation_names_every_rule():
    text = DOC.read_text(encoding="utf-8")
    missing = [code for code in RULES if f"`{code}`" not in text]
    assert not missing, f"docs/quality.md does not document {missing}"
