"""Pages whose figures cannot change come from the cache (stats/page_cache.py): a hit computes nothing,
yet never gives one reader what another's scope shows, nor another user's header; a page comparing
with live figures is never cached; publishing a snapshot shows it on the portal at once."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from eduplatform.accounts import services as accounts
from eduplatform.accounts.roles import Role
from eduplatform.stats import basetables, selectors
from eduplatform.stats.basetables import VOCATIONAL
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services as students
from tests.census_support import signed_off_and_published
from tests.students_support import student_row
from tests.test_base_tables_by_level import COUNTY_A, levels  # noqa: F401 (county A with every series)
from tests.test_rollups import committed

pytestmark = pytest.mark.django_db


def _forbid(monkeypatch, module, name: str) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError(f"{name} computed on a cache hit")

    monkeypatch.setattr(module, name, refuse)


def vocational_students(response) -> int:
    return {t.code: t for t in response.context["tables"]}["中职基311"].cell("合计", "合计")


def test_two_readers_of_the_same_url_each_get_their_own_scopes_figures(client, world, levels, monkeypatch):  # noqa: F811
    url = reverse("stats:base_tables", args=(levels.snapshot.pk,))
    query = {"region": COUNTY_A, "series": VOCATIONAL}
    province, k12 = world.user("province"), world.user("k12_officer")
    for user, expected in ((province, 7), (k12, 0), (province, 7), (k12, 0)):  # the second round: hits
        client.force_login(user)
        assert vocational_students(client.get(url, query)) == expected, user
    # The second round was served from the cache: nothing computed.
    _forbid(monkeypatch, basetables, "generate")
    for user, expected in ((province, 7), (k12, 0)):
        client.force_login(user)
        assert vocational_students(client.get(url, query)) == expected, user


def test_readers_with_the_same_scope_share_the_figures_but_not_the_header(client, world, levels, monkeypatch):  # noqa: F811
    colleague = accounts.create_user(actor=None, username="county_a_colleague", password="Test@2026pass",
                                     organization=world.county_a, display_name="天河区另一位统计员")
    accounts.grant_role(actor=None, user=colleague, role=Role.STATISTICIAN)
    url = reverse("stats:base_tables", args=(levels.snapshot.pk,))
    client.force_login(world.user("county_a_stat"))
    first = client.get(url, {"region": COUNTY_A})
    _forbid(monkeypatch, basetables, "generate")
    from eduplatform.stats.basetables import stored

    _forbid(monkeypatch, stored, "read")
    client.force_login(colleague)
    second = client.get(url, {"region": COUNTY_A})
    assert second.context["tables"] == first.context["tables"]
    page = second.content.decode()
    assert "天河区另一位统计员" in page and 'data-testid="current-user">county_a_stat<' not in page
    # The token in the page is the colleague's session's, not the first reader's.
    assert second.context["csrf_token"] != first.context["csrf_token"]


def test_a_snapshot_beside_another_snapshot_is_cached_and_beside_live_figures_never(
        client, world, levels, django_capture_on_commit_callbacks, monkeypatch):  # noqa: F811
    province = world.user("province")
    other = take_snapshot(actor=province, census_date=timezone.localdate())
    client.force_login(province)
    url = reverse("stats:snapshot", args=(levels.snapshot.pk,))

    def students_shown(response, column: int) -> int:
        _row, cells = response.context["table"][-1]  # the total row: (this snapshot, baseline, difference)
        return cells[0][column]

    live_before = students_shown(client.get(url, {"region": COUNTY_A}), 1)
    compared = client.get(url, {"region": COUNTY_A, "compare": other.pk})
    # A new pupil after both snapshots: the live comparison shows it at once, the snapshots do not change.
    clerk = world.user("clerk_a1")
    committed(django_capture_on_commit_callbacks, lambda: students.enrol_student(
        actor=clerk, school=world.school_a1, data=student_row(9911, grade="二年级")))
    assert students_shown(client.get(url, {"region": COUNTY_A}), 1) == live_before + 1
    _forbid(monkeypatch, selectors, "region_overview")
    again = client.get(url, {"region": COUNTY_A, "compare": other.pk})
    assert again.context["table"] == compared.context["table"]


def test_a_published_snapshot_shows_on_the_portal_at_once(client, world, levels):  # noqa: F811
    year = levels.snapshot.census_date.year
    assert client.get(reverse("portal:home")).context["snapshot"] is None
    assert client.get(reverse("portal:year", args=(year,))).status_code == 404
    signed_off_and_published(levels.snapshot, actor=world.user("province"))
    home = client.get(reverse("portal:home"))
    assert home.context["snapshot"] == levels.snapshot and home.context["table"] is not None
    assert client.get(reverse("portal:year", args=(year,))).status_code == 200
    assert client.get(reverse("portal:csv", args=(year,))).status_code == 200
