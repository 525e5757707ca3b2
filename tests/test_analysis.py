"""Analysis that answers the questions people ask (issue 18, point 6): 大班额 classes and their
schools per region and stage, indicators under a stage filter (each still its one definition),
exports with number formats, and saved analyses shared within scope — a reader of another
jurisdiction is refused, a reader below sees only their own data."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from python_calamine import CalamineWorkbook

from eduplatform.core.errors import NotPermitted, RecordInvalid
from eduplatform.history.models import AuditEntry
from eduplatform.orgs.models import Region
from eduplatform.orgs.stages import Stage
from eduplatform.stats import definitions, indicators, selectors, services
from eduplatform.stats.links import size_band_range
from eduplatform.stats.models import SavedAnalysis
from eduplatform.stats.rollup import school_year_of
from eduplatform.students import services as students
from eduplatform.students.grades import BY_CODE
from tests.students_support import make_id, student_row
from tests.test_rollups import committed
from tests.world import TOWN_A

pytestmark = pytest.mark.django_db

GRADE_BY_NAME = {g.name: g for g in BY_CODE.values()}
COUNTY_A, COUNTY_B, CITY_GZ, PROVINCE = "440106000000", "440104000000", "440100000000", "440000000000"


def enrol_class(capture, world, school, grade: str, size: int, class_number: str, first_seq: int) -> None:
    year = school_year_of(timezone.localdate())
    actor = world.user("county_b_stat" if school.pk == world.school_b1.pk else "county_a_stat")

    def write():
        for n in range(first_seq, first_seq + size):
            birth = dt.date(year - GRADE_BY_NAME[grade].typical_age, 3, 1)
            students.enrol_student(actor=actor, school=school, data=student_row(
                n, grade=grade, class_number=class_number, entered_on=f"{year}-09", birth_date=birth.isoformat(),
                id_number=make_id(birth, n % 400, female=n % 2 == 0), gender="女" if n % 2 == 0 else "男"))

    committed(capture, write)


@pytest.fixture
def large_classes(world, django_capture_on_commit_callbacks):
    """天河测试小学: a 大班额 class of 57 and a normal one of 3; 越秀's school (county B): one of 66."""
    capture = django_capture_on_commit_callbacks
    enrol_class(capture, world, world.school_a1, "一年级", 57, "1", 10_000)
    enrol_class(capture, world, world.school_a1, "一年级", 3, "2", 10_100)
    enrol_class(capture, world, world.school_b1, "一年级", 66, "1", 10_200)
    return world


# --------------------------------------------------------------------------------------------
# Definitions: one of each, labelled bands, stage filters


def test_labelled_bands_are_the_official_ones_and_open_their_class_sizes():
    assert definitions.NAMED_BANDS["大班额"] == definitions.LARGE_BANDS
    assert (definitions.LARGE_CLASS_SIZE, definitions.SUPER_LARGE_CLASS_SIZE) == (56, 66)
    assert size_band_range("大班额") == (56, 65)
    assert size_band_range("超大班额") == (66, None)
    assert size_band_range("56人以上") == (56, None)
    assert size_band_range("55人及以下") == (1, 55)
    assert size_band_range("56-60") == (56, 60)
    assert definitions.band_name("61-65") == "大班额" and definitions.band_name("≥66") == "超大班额"
    assert definitions.band_name("51-55") == ""


def test_a_stage_filter_picks_the_one_definition_of_each_indicator_of_that_stage():
    primary = indicators.groups_for(Stage.PRIMARY)
    shown = [i for _title, group in primary for i in group]
    assert {i.key for i in shown} == {"pupil_teacher_primary", "large_classes_primary", "super_large_classes_primary",
                                      "classes_over_55_primary"}
    # The very indicators of the unfiltered page, not new ones.
    everything = {i.key: i for _t, group in indicators.groups_for(None) for i in group}
    assert all(everything[i.key] is i for i in shown)
    assert [r.key for r in definitions.of_stage(definitions.PUPIL_TEACHER_RATIOS, Stage.JUNIOR)] == [
        "pupil_teacher_junior"]
    assert Stage.PRIMARY in indicators.FILTER_STAGES and Stage.HIGHER in indicators.FILTER_STAGES


def test_the_indicator_page_filters_by_stage_and_exports_shares_with_a_percentage_format(client, large_classes):
    client.force_login(large_classes.user("county_a_stat"))
    page = client.get("/statistics/indicators/", {"stage": int(Stage.PRIMARY)})
    assert page.status_code == 200
    html = page.content.decode()
    assert "大班额比例（小学）" in html and "生师比（小学）" in html
    tables = html.split('id="formulas"')[0]  # the formulas below explain every indicator
    assert "生师比（初中）" not in tables and "生均校舍建筑面积" not in tables
    export = client.get("/statistics/indicators/", {"stage": int(Stage.PRIMARY), "format": "xlsx"})
    rows = CalamineWorkbook.from_filelike(io.BytesIO(export.content)).get_sheet_by_index(0).to_python()
    header = rows[0]
    total = rows[-1]
    share = total[header.index("大班额比例（小学）（%）")]
    assert share == pytest.approx(0.5)  # one 大班额 class of two, as a fraction shown as 50.00%
    assert "0.00%" in number_formats(export.content)


def number_formats(content: bytes) -> set[str]:
    """The custom number formats a workbook declares (xl/styles.xml)."""
    import re
    import zipfile

    styles = zipfile.ZipFile(io.BytesIO(content)).read("xl/styles.xml").decode()
    return {m.replace("&quot;", '"') for m in re.findall(r'formatCode="([^"]*)"', styles)}


# --------------------------------------------------------------------------------------------
# 班额分析


def test_the_class_size_page_lists_the_countys_large_classes_and_their_schools_only(client, large_classes):
    client.force_login(large_classes.user("county_a_stat"))
    response = client.get("/statistics/class-sizes/")
    assert response.status_code == 200
    html = response.content.decode()
    schools = response.context["schools"]
    assert [(s.name, s.large, s.super_large, s.classes) for s in schools] == [("天河测试小学", 1, 0, 2)]
    assert [(c.school.name, c.size) for c in response.context["classes"]] == [("天河测试小学", 57)]
    assert "越秀泄漏检测小学" not in html
    # The county's share: the official ratio, the same number the indicator page shows.
    row, values = response.context["table"][-1]
    assert row.label == "天河区" and values[:3] == [2, 1, pytest.approx(50.0)]
    # Each school opens its 大班额 classes in the class list, which counts them by the labelled band.
    listed = client.get(schools[0].classes_url)
    assert listed.status_code == 200 and listed.context["page"].count.value == 1
    # Another county is refused.
    assert client.get("/statistics/class-sizes/", {"region": COUNTY_B}).status_code == 404


def test_the_class_size_page_of_a_city_ranks_schools_and_exports_with_number_formats(client, large_classes):
    client.force_login(large_classes.user("city_stat"))
    response = client.get("/statistics/class-sizes/")
    assert [s.name for s in response.context["schools"]] == ["越秀泄漏检测小学", "天河测试小学"]  # 超大班额 first
    export = client.get("/statistics/class-sizes/", {"format": "xlsx"})
    book = CalamineWorkbook.from_filelike(io.BytesIO(export.content))
    assert book.sheet_names == ["班额分析", "学校", "班级"]
    summary = book.get_sheet_by_name("班额分析").to_python()
    assert summary[-1][:3] == ["广州市", 3, 1] and summary[-1][3] == pytest.approx(1 / 3)
    classes = book.get_sheet_by_name("班级").to_python()
    assert sorted((r[1], r[4], r[5]) for r in classes[1:]) == [("天河测试小学", 57, "大班额"),
                                                              ("越秀泄漏检测小学", 66, "超大班额")]
    assert {"0.00%", "#,##0"} <= number_formats(export.content)


def test_a_stage_filter_on_the_class_size_page_uses_that_stages_classes(client, large_classes):
    client.force_login(large_classes.user("county_a_stat"))
    junior = client.get("/statistics/class-sizes/", {"stage": int(Stage.JUNIOR)})
    assert junior.context["schools"] == [] and junior.context["classes"] == []
    assert [r.key for r in junior.context["ratios"]] == ["large_classes_junior", "super_large_classes_junior",
                                                         "classes_over_55_junior"]


def test_the_home_page_counts_the_large_classes_and_links_to_them(client, large_classes):
    client.force_login(large_classes.user("county_a_stat"))
    html = client.get("/").content.decode()
    assert 'data-testid="key-large-classes"' in html and 'href="/statistics/class-sizes/"' in html
    figures = client.get("/").context["figures"]["key"]["class_sizes"]
    assert (figures["classes"], figures["large"], figures["super_large"]) == (2, 1, 0)


# --------------------------------------------------------------------------------------------
# The pivot: filters and labelled bands


def test_the_pivot_labels_the_large_bands_and_groups_classes_by_them(client, large_classes):
    client.force_login(large_classes.user("city_stat"))
    response = client.get("/statistics/pivot/", {"subject": "classes", "rows": "area", "cols": "size_class",
                                                  "measure": "classes"})
    table = response.context["table"]
    assert [label for _v, label in table.columns] == ["55 人及以下", "大班额（56–65 人）", "超大班额（66 人及以上）"]
    assert table.column_totals == [1, 1, 1]
    # The 大班额 cell opens exactly that class.
    links = [href for value, href in response.context["total_cells"]]
    assert client.get(links[1]).context["page"].count.value == 1
    bands = client.get("/statistics/pivot/", {"subject": "classes", "rows": "size_band", "measure": "classes"})
    assert "56-60（大班额）" in [row.label for row in bands.context["table"].rows]


def test_pivot_filters_narrow_to_the_stage_and_the_schools_attributes(client, large_classes,
                                                                       django_capture_on_commit_callbacks):
    from eduplatform.orgs import services as orgs
    from tests.world import school_row

    world = large_classes
    (private,) = orgs.register_schools(actor=None, rows=[
        school_row("2144000031", "天河民办分析小学", "211", TOWN_A, sponsor_code="999", urban_rural_code="220")])
    enrol_class(django_capture_on_commit_callbacks, world, private, "一年级", 4, "1", 10_350)
    client.force_login(world.user("county_a_stat"))
    base = {"subject": "students", "rows": "area", "cols": "", "measure": "enrolled"}

    def total(**filters) -> int:
        return client.get("/statistics/pivot/", {**base, **filters}).context["table"].grand_total

    assert total() == 64
    assert total(stage=int(Stage.PRIMARY)) == 64 and total(stage=int(Stage.PRESCHOOL)) == 0
    assert total(sponsor="民办") == 4 and total(sponsor="教育部门") == 60
    assert total(urban_rural="乡村") == 4 and total(urban_rural="城区") == 60
    assert total(school_type="211") == 64 and total(school_type="111") == 0
    assert total(school_type="211", sponsor="民办", stage=int(Stage.PRIMARY)) == 4
    # A stage filter keeps the cells' record links (the lists filter by stage); attributes drop them.
    staged = client.get("/statistics/pivot/", {**base, "stage": int(Stage.PRIMARY)})
    assert all(href and "stage=2" in href for value, href in staged.context["total_cells"] if value)
    typed = client.get("/statistics/pivot/", {**base, "school_type": "211"})
    assert all(href is None for _value, href in typed.context["total_cells"])
    about = dict(CalamineWorkbook.from_filelike(io.BytesIO(client.get(
        "/statistics/pivot/", {**base, "school_type": "211", "format": "xlsx"}).content)).get_sheet_by_name(
        "说明").to_python()[1:])
    assert about["筛选"].startswith("办学类型：211")


# --------------------------------------------------------------------------------------------
# Saved analyses


PIVOT = {"subject": "students", "rows": "area", "cols": "stage", "measure": "enrolled", "stage": "2"}


def test_saving_an_analysis_is_audited_and_checked(client, world):
    county = world.user("county_a_stat")
    region = Region.objects.get(code=COUNTY_A)
    analysis = services.save_analysis(actor=county, title="天河区小学在校生", region=region,
                                      params={**PIVOT, "format": "xlsx", "junk": "x"}, shared=False)
    assert analysis.params == {**PIVOT, "region": COUNTY_A}  # only the pivot's own parameters are kept
    created = AuditEntry.objects.get(object_type="saved_analysis", object_id=str(analysis.pk), action="create")
    # In the audit log's shape (label, before, after per field): the auditor's page and export read it.
    assert created.changes["title"] == {"label": "名称", "before": None, "after": "天河区小学在校生"}
    assert created.changes["params"]["after"] == {**PIVOT, "region": COUNTY_A}
    with pytest.raises(RecordInvalid):
        services.save_analysis(actor=county, title=" ", region=region, params=PIVOT)
    with pytest.raises(NotPermitted):
        services.save_analysis(actor=county, title="越秀", region=Region.objects.get(code=COUNTY_B), params=PIVOT)
    with pytest.raises(NotPermitted):
        services.delete_analysis(actor=world.user("city_stat"), analysis=analysis)
    services.set_sharing(actor=county, analysis=analysis, shared=True)
    assert AuditEntry.objects.filter(object_type="saved_analysis", action="update").count() == 1
    services.delete_analysis(actor=county, analysis=analysis)
    assert not SavedAnalysis.objects.exists()
    deleted = AuditEntry.objects.get(object_type="saved_analysis", action="delete")
    assert deleted.changes["title"] == {"label": "名称", "before": "天河区小学在校生", "after": None}
    client.force_login(world.user("auditor"))
    assert "天河区小学在校生" in client.get("/accounts/audit/").content.decode()
    assert client.get("/accounts/audit/", {"format": "xlsx"}).status_code == 200


def test_a_shared_analysis_is_offered_within_scope_and_refused_to_another_jurisdiction(client, large_classes):
    world = large_classes
    county = world.user("county_a_stat")
    mine = services.save_analysis(actor=county, title="天河区分析", region=Region.objects.get(code=COUNTY_A),
                                  params=PIVOT, shared=True)
    private = services.save_analysis(actor=county, title="天河区私有", region=Region.objects.get(code=COUNTY_A),
                                     params=PIVOT, shared=False)
    assert set(selectors.analyses_visible_to(county)) == {mine, private}
    assert list(selectors.analyses_visible_to(world.user("city_stat"))) == [mine]  # above: shared only
    assert list(selectors.analyses_visible_to(world.user("county_b_stat"))) == []  # a neighbour: nothing
    assert list(selectors.analyses_visible_to(world.user("clerk_a1"))) == [mine]  # below, inside the county

    client.force_login(world.user("county_b_stat"))
    assert client.get(f"/statistics/analyses/{mine.pk}/").status_code == 404
    assert "天河区分析" not in client.get("/statistics/analyses/").content.decode()
    assert client.post(f"/statistics/analyses/{mine.pk}/change/", {"action": "delete"}).status_code == 404

    client.force_login(world.user("city_stat"))
    opened = client.get(f"/statistics/analyses/{mine.pk}/", follow=True)
    assert opened.status_code == 200
    assert opened.context["region"].code == COUNTY_A and opened.context["table"].grand_total == 57 + 3
    assert client.get(f"/statistics/analyses/{private.pk}/").status_code == 404
    client.post(f"/statistics/analyses/{mine.pk}/change/", {"action": "delete"})
    assert SavedAnalysis.objects.filter(pk=mine.pk).exists()  # not the city's to delete


def test_a_province_analysis_opened_by_a_county_shows_only_the_countys_data(client, large_classes):
    world = large_classes
    province = world.user("province")
    analysis = services.save_analysis(actor=province, title="全省小学", region=Region.objects.get(code=PROVINCE),
                                      params={**PIVOT, "cols": ""}, shared=True)
    client.force_login(province)
    assert client.get(f"/statistics/analyses/{analysis.pk}/", follow=True).context["table"].grand_total == 57 + 3 + 66
    client.force_login(world.user("county_a_stat"))
    opened = client.get(f"/statistics/analyses/{analysis.pk}/", follow=True)
    table = opened.context["table"]
    assert opened.context["region"].code == COUNTY_A and table.grand_total == 60
    assert table.column_dimension is None  # saved without a column dimension, reopened without one
    assert "越秀泄漏检测小学" not in opened.content.decode()


def test_the_pivot_page_saves_its_current_query(client, world):
    client.force_login(world.user("county_a_stat"))
    page = client.get("/statistics/pivot/", {**PIVOT, "sponsor": "民办"}).content.decode()
    assert 'data-testid="save-analysis"' in page and 'name="sponsor" value="民办"' in page
    response = client.post("/statistics/analyses/save/", {**PIVOT, "sponsor": "民办", "region": COUNTY_A,
                                                          "title": "民办小学", "shared": "on"})
    analysis = SavedAnalysis.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/statistics/analyses/{analysis.pk}/"
    assert analysis.shared and analysis.params["sponsor"] == "民办" and analysis.region_path.endswith("440106/")
    listed = client.get("/statistics/analyses/").content.decode()
    assert "民办小学" in listed
    # A region outside the jurisdiction cannot be saved.
    assert client.post("/statistics/analyses/save/", {**PIVOT, "region": COUNTY_B, "title": "x"}).status_code == 404


def test_the_province_page_lists_the_schools_but_not_every_class(client, large_classes):
    client.force_login(large_classes.user("province"))
    response = client.get("/statistics/class-sizes/")
    assert {s.name for s in response.context["schools"]} == {"天河测试小学", "越秀泄漏检测小学"}
    assert response.context["classes"] == [] and not response.context["lists_classes"]
    assert "全省范围不逐班列出" in response.content.decode()
    city = client.get("/statistics/class-sizes/", {"region": CITY_GZ})
    assert sorted(c.size for c in city.context["classes"]) == [57, 66]
