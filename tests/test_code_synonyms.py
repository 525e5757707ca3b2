"""Values as people write them: official short names, superseded names and common spellings of
every code, kept in one table beside the code tables (data/reference/code_synonyms.csv) and read
by every import kind and form; an unmatched value is answered with the closest allowed values."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from eduplatform.assets.schema import check_equipment
from eduplatform.core.models import ImportMode, JobStatus
from eduplatform.core.normalize import CodeMatcher
from eduplatform.facilities.schema import check_building, check_land
from eduplatform.imports import registry, runner
from eduplatform.staff.schema import check_administrator_row, check_staff_row
from eduplatform.standards import codebook
from eduplatform.standards.loading import SynonymError, load_code_tables
from eduplatform.standards.models import CodeSynonym
from eduplatform.students.schema import SCHEMA as STUDENT_SCHEMA
from eduplatform.students.schema import RowChecker, clean_student

from .assets_support import line
from .facilities_support import BUILDING_HEADERS, building_cells, building_row
from .staff_support import STAFF_FIELDS, STAFF_HEADERS, admin_row, staff_row
from .students_support import student_row, xlsx_file

REFERENCE = Path(settings.DATA_DIR) / "reference"
TODAY = dt.date(2026, 3, 1)
PRIMARY = 2  # Stage.PRIMARY: the student rows below are primary pupils


class Context:
    """What an import batch passes to a kind's row check."""

    def __init__(self) -> None:
        self.today, self.memo = TODAY, {}


def synonym_lines() -> list[dict[str, str]]:
    with (REFERENCE / "code_synonyms.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def code_columns() -> list[tuple[str, object, str, str]]:
    """(import kind, schema, field, synonym key) of every code column of every import kind."""
    found = []
    for kind in registry.all_kinds():
        schema = kind.schema
        for col in schema.columns:
            if col.kind == "code" and col.field in schema.code_tables:
                found.append((kind.key, schema, col.field, schema.code_tables[col.field]))
    return found


# --------------------------------------------------------------------------------------------
# The table and its loading


@pytest.mark.django_db
def test_the_synonyms_file_is_loaded_beside_the_code_tables():
    lines = synonym_lines()
    assert CodeSynonym.objects.count() == len(lines) > 250
    assert {(s.table_key, s.synonym, s.code) for s in CodeSynonym.objects.all()} == {
        (r["table"], r["synonym"], r["code"]) for r in lines}
    assert all(r["source"] for r in lines), "every synonym says where it comes from"
    assert codebook.synonyms_of("political_status")["中共党员"] == "01"
    assert codebook.synonyms_of("staff_title")["中小学一级教师"] == "13"


@pytest.mark.django_db
def test_a_changed_synonym_line_updates_in_place_and_a_removed_one_goes(tmp_path):
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE, folder)
    path = folder / "code_synonyms.csv"
    text = path.read_text(encoding="utf-8")
    text = text.replace("building_use,22,饭堂,常见写法", "building_use,22,饭堂,常见写法（修订）")
    text = text.replace("building_use,31,行政楼,常见写法\n", "")
    path.write_text(text, encoding="utf-8")
    before = CodeSynonym.objects.get(table_key="building_use", synonym="饭堂").pk

    report = load_code_tables(folder)

    assert (report.synonyms_created, report.synonyms_updated, report.synonyms_deleted) == (0, 1, 1)
    assert report.codes_created == report.codes_updated == report.codes_deleted == 0
    updated = CodeSynonym.objects.get(table_key="building_use", synonym="饭堂")
    assert (updated.pk, updated.source) == (before, "常见写法（修订）")
    assert not CodeSynonym.objects.filter(synonym="行政楼").exists()
    assert not load_code_tables(folder).changed


@pytest.mark.django_db
@pytest.mark.parametrize("bad_line, reason", [
    ("building_structure,7,钢混土,常见写法", "没有代码 7"),  # a code the table lacks
    ("building_use,11,食堂,常见写法", "已是代码 22"),  # another code's own name
    ("political_status,02,01,常见写法", "已是代码 01"),  # another code's own code
    ("building_use,21,饭堂,常见写法", "重复"),  # one spelling, two codes
])
def test_a_synonym_that_would_redirect_a_value_is_refused_and_nothing_changes(tmp_path, bad_line, reason):
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE, folder)
    path = folder / "code_synonyms.csv"
    path.write_text(path.read_text(encoding="utf-8") + bad_line + "\n", encoding="utf-8")
    before = sorted(CodeSynonym.objects.values_list("table_key", "synonym", "code"))

    with pytest.raises(SynonymError, match=reason):
        load_code_tables(folder)

    assert sorted(CodeSynonym.objects.values_list("table_key", "synonym", "code")) == before


@pytest.mark.django_db
def test_every_synonym_reaches_its_code_in_every_import_kind_that_uses_its_table():
    wanted: dict[str, dict[str, str]] = {}
    for row in synonym_lines():
        wanted.setdefault(row["table"], {})[row["synonym"]] = row["code"]
    columns = code_columns()
    assert {kind for kind, *_ in columns} >= {"students", "staff", "administrators", "buildings", "land", "equipment"}
    used = set()
    for kind, schema, field, key in columns:
        schema.forget_codes()
        matcher = schema.matcher(field)
        allowed = {code for code, _name in schema.choices_of(field)}
        for text, code in wanted.get(key, {}).items():
            assert code in allowed, (kind, field, text, code)
            assert matcher.match(text) == code, (kind, field, text)
        used.add(key)
    # No line of the file waits for a column that does not exist (a mistyped key would).
    assert set(wanted) <= used


# --------------------------------------------------------------------------------------------
# The spellings, per import kind, through the row check the import and the form share


@pytest.mark.django_db
def test_students_accept_official_short_names(world):
    row = clean_student(student_row(1, political_status="共青团员", ethnicity="汉", hukou_nature="农业",
                                    health_status="健康", boarding_mode="寄宿"), stage_mask=PRIMARY, today=TODAY)
    assert row.ok, row.problems
    v = row.values
    assert (v["political_status"], v["ethnicity"], v["hukou_nature"], v["health_status"], v["boarding_mode"]) == (
        "03", "01", "1", "10", "2")
    assert clean_student(student_row(2, political_status="中共党员"), stage_mask=PRIMARY,
                         today=TODAY).values["political_status"] == "01"


@pytest.mark.django_db
def test_staff_accept_2015_titles_in_every_spelling_and_party_short_names():
    spelled = {"正高级教师": "11", "中小学一级教师": "13", "一级教师": "13", "中学高级教师": "12", "小学高级教师": "13",
               "小学一级教师": "14", "中小学三级教师": "15", "未评": "90"}
    for seq, (title, code) in enumerate(spelled.items(), start=1):
        row = check_staff_row(staff_row(seq, title=title, political_status="中共党员", education_level="大学本科"),
                              Context())
        assert row.ok, (title, row.problems)
        assert (row.values["title"], row.values["political_status"], row.values["education_level"]) == (
            code, "01", "21"), title
    # 学位 "无" is no degree, not an unknown one.
    assert check_staff_row(staff_row(20, degree="无"), Context()).values["degree"] == ""


@pytest.mark.django_db
def test_administrators_accept_short_names():
    row = check_administrator_row(admin_row(1, political_status="中共预备党员", rank="副科"), Context())
    assert row.ok, row.problems
    assert (row.values["political_status"], row.values["rank"]) == ("02", "32")


@pytest.mark.django_db
@pytest.mark.parametrize("structure, use, codes", [
    ("钢混", "宿舍", ("4", "21")), ("钢筋混凝土", "饭堂", ("4", "22")), ("砖混", "食堂", ("3", "22")),
    ("框架", "学生宿舍", ("4", "21")),
])
def test_buildings_accept_common_structure_and_use_names(structure, use, codes):
    row = check_building(building_row(1, structure=structure, use_code=use, teaching_area="", admin_area="",
                                      living_area="3000"), today=TODAY)
    assert row.ok, row.problems
    assert (row.values["structure"], row.values["use_code"]) == codes


@pytest.mark.django_db
def test_land_and_equipment_accept_short_names():
    parcel = check_land({"name": "主校区", "area": "20000", "property_right": "独立产权", "acquisition_mode": "划拨"},
                        today=TODAY)
    assert parcel.ok, parcel.problems
    assert (parcel.values["property_right"], parcel.values["acquisition_mode"]) == ("1", "9")
    item = check_equipment(line("A1", funding_source="财政", acquisition_mode="采购", category="电脑"), today=TODAY)
    assert item.ok, item.problems
    assert (item.values["funding_source"], item.values["acquisition_mode"], item.values["category"]) == ("1", "1", "01")
    assert check_equipment(line("A2", funding_source="自筹"), today=TODAY).values["funding_source"] == "3"


@pytest.mark.django_db
def test_a_buildings_file_written_with_common_names_passes_the_dry_run(world):
    rows = [building_row(1, structure="钢混", use_code="宿舍", teaching_area="", admin_area="", living_area="3000"),
            building_row(2, structure="砖混", use_code="饭堂", teaching_area="", admin_area="", living_area="3000")]
    job = runner.submit_import(kind=registry.get("buildings"), actor=world.user("clerk_a1"), unit=world.school_a1,
                               file_name="校舍.xlsx", content=xlsx_file(BUILDING_HEADERS, [building_cells(r) for r in rows]),
                               mode=ImportMode.DRY_RUN)
    job = runner.run_import(job.pk)
    assert job.problems == []
    assert job.status == JobStatus.DONE


@pytest.mark.django_db
def test_a_staff_file_written_with_official_spellings_passes_the_dry_run(world):
    rows = [staff_row(1, title="中小学一级教师"), staff_row(2, title="中学高级教师"), staff_row(3, title="小学高级")]
    job = runner.submit_import(kind=registry.get("staff"), actor=world.user("clerk_a1"), unit=world.school_a1,
                               file_name="教职工.xlsx",
                               content=xlsx_file(STAFF_HEADERS, [[r[f] for f in STAFF_FIELDS] for r in rows]),
                               mode=ImportMode.DRY_RUN)
    job = runner.run_import(job.pk)
    assert job.problems == []
    assert job.status == JobStatus.DONE


# --------------------------------------------------------------------------------------------
# The closest allowed values


@pytest.mark.django_db
def test_an_unmatched_value_names_the_closest_allowed_values():
    found = {f: m for f, _v, m in STUDENT_SCHEMA.clean(student_row(1, political_status="中共预备")).problems}
    assert found["political_status"].startswith(
        "政治面貌「中共预备」不是有效的政治面貌代码或名称；最接近的是：02-中国共产党预备党员")
    building = check_building(building_row(1, use_code="教学综合楼", structure="钢结构混合"), today=TODAY)
    messages = {f: m for f, _v, m in building.problems}
    assert "最接近的是：12-综合楼" in messages["use_code"]
    # A short table lists every allowed value after the closest ones.
    assert "最接近的是：5-钢结构" in messages["structure"] and "可填写：1-土木结构" in messages["structure"]


@pytest.mark.django_db
def test_the_per_file_checker_gives_the_same_closest_values(world):
    fields = ["name", "gender", "birth_date", "id_type", "id_number", "ethnicity", "political_status", "grade",
              "entered_on"]
    checker = RowChecker({f: i for i, f in enumerate(fields)}, stage_mask=PRIMARY, today=TODAY)
    raw = student_row(3, political_status="中共预备", ethnicity="汉民族")
    by_file = checker.check([raw[f] for f in fields])
    by_form = clean_student({f: raw[f] for f in fields}, stage_mask=PRIMARY, today=TODAY)
    assert by_file.problems == by_form.problems
    assert "最接近的是：01-汉族" in dict((f, m) for f, _v, m in by_file.problems)["ethnicity"]


def test_closest_ranks_containment_and_shared_characters_and_keeps_table_order_on_ties():
    matcher = CodeMatcher([("01", "中国共产党党员"), ("02", "中国共产党预备党员"), ("03", "中国共产主义青年团团员"),
                           ("13", "群众")], synonyms={"中共党员": "01", "共青团员": "03"})
    assert matcher.closest("中共党") == (("01", "中国共产党党员"),)
    assert matcher.closest("共青团") == (("03", "中国共产主义青年团团员"),)
    assert [c for c, _n in matcher.closest("共产党")] == ["01", "02"]  # equally alike: table order
    assert matcher.closest("XYZ") == ()


def test_a_value_sharing_nothing_with_any_code_falls_back_to_a_sample_of_codes():
    matcher = CodeMatcher([(f"{i:02d}", f"族{i}") for i in range(1, 57)])
    assert matcher.unmatched("ABC", "民族") == (
        "不是有效的民族代码或名称，可填写代码或名称，如 01-族1、02-族2、03-族3、04-族4、05-族5、06-族6、07-族7、08-族8…（共56项）")


@pytest.mark.django_db
def test_the_data_dictionary_shows_and_finds_the_other_spellings(client, world):
    client.force_login(world.user("clerk_a1"))
    body = client.get("/standards/building_use/").content.decode()
    canteen = body[body.index("<td>22</td>"):]
    canteen = canteen[:canteen.index("</tr>")]
    assert "食堂" in canteen and "饭堂" in canteen and "学生食堂" in canteen
    found = client.get("/standards/?q=饭堂").content.decode()
    matches = found[found.index('data-testid="code-matches"'):]
    matches = matches[:matches.index("</table>")]
    assert "建筑物用途" in matches and "<td>22</td><td>食堂</td>" in matches
