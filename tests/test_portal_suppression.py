"""Complementary suppression (次级抑制) on the public portal: no hidden count can be worked out by
subtracting the shown counts from a shown total — along rows, down columns, or across both.

The attack in these tests is written independently of ``portal.public``: repeatedly solve any line
(whole = sum of parts) with exactly one unknown left, and any line whose hidden parts sum to the
least or the most they could (a reader who knows which hidden counts are small, 1–4, and which were
hidden beside them, ≥ 5: two small cells summing to 2 are 1 + 1, summing to 8 are 4 + 4)."""

from __future__ import annotations

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eduplatform.orgs.models import Organization
from eduplatform.portal import public
from eduplatform.portal.public import SMALLEST_SHOWN, Line, suppress, table_lines
from eduplatform.stats.snapshots import take_snapshot
from eduplatform.students import services
from tests.census_support import signed_off
from tests.students_support import student_row
from tests.test_rollups import committed


def with_margins(interior: list[list[int]]) -> tuple[dict, list[Line], int, int]:
    """A table of ``interior`` counts with a total column (each row's sum) and a total row (each
    column's sum, the grand total in its corner), and its lines, as the portal lays them out."""
    n_rows, n_cols = len(interior), len(interior[0])
    rows = [[*r, sum(r)] for r in interior]
    rows.append([sum(r[c] for r in rows) for c in range(n_cols + 1)])
    values = {(r, c): v for r, row in enumerate(rows) for c, v in enumerate(row)}
    return values, table_lines(n_rows, n_cols + 1, row_total=n_cols), n_rows, n_cols


def subtraction_attack(values: dict, lines: list[Line], hidden: set) -> dict:
    """What a reader of the published table works out exactly: {cell: value}."""
    known = {c: v for c, v in values.items() if c not in hidden}
    found: dict = {}
    progress = True
    while progress:
        progress = False
        for line in lines:
            unknown = [c for c in (line.whole, *line.parts) if c not in known]
            if not unknown:
                continue
            if len(unknown) == 1:
                (cell,) = unknown
                shown_parts = sum(known[p] for p in line.parts if p in known)
                value = shown_parts if cell == line.whole else known[line.whole] - shown_parts
            elif line.whole in known:
                rest = known[line.whole] - sum(known[p] for p in line.parts if p in known)
                small = [c for c in unknown if values[c] < SMALLEST_SHOWN]
                large = [c for c in unknown if values[c] >= SMALLEST_SHOWN]
                if rest == len(small) + SMALLEST_SHOWN * len(large):  # every cell at its least
                    solved = {**dict.fromkeys(small, 1), **dict.fromkeys(large, SMALLEST_SHOWN)}
                elif not large and rest == len(small) * (SMALLEST_SHOWN - 1):  # every "<5" a 4
                    solved = dict.fromkeys(small, SMALLEST_SHOWN - 1)
                else:
                    continue
                known.update(solved)
                found.update(solved)
                progress = True
                continue
            else:
                continue
            known[cell] = found[cell] = value
            progress = True
    return found


def assert_protected(values: dict, lines: list[Line], hidden: set) -> None:
    # Primary: every count of 1–4 is hidden; zeros are shown.
    assert all(c in hidden for c, v in values.items() if 0 < v < SMALLEST_SHOWN)
    assert all(values[c] > 0 for c in hidden)
    for line in lines:
        if line.whole in hidden:
            continue
        hidden_parts = [c for c in line.parts if c in hidden]
        if hidden_parts:
            hidden_sum = sum(values[c] for c in hidden_parts)
            assert len(hidden_parts) >= 2, (line, hidden_parts)
            assert hidden_sum >= SMALLEST_SHOWN, (line, hidden_sum)
    assert subtraction_attack(values, lines, hidden) == {}
    assert public.recoverable(values, lines, hidden) == {}


# Counts as census tables have them: many zeros and small counts, some large.
counts = st.one_of(st.integers(0, 0), st.integers(1, 4), st.integers(5, 9), st.integers(10, 500))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 6).flatmap(lambda cols: st.lists(st.lists(counts, min_size=cols, max_size=cols),
                                                        min_size=1, max_size=8)))
def test_no_hidden_count_can_be_recovered_from_any_published_total(interior):
    values, lines, _rows, _cols = with_margins(interior)
    hidden = suppress(values, lines)
    assert_protected(values, lines, hidden)


@settings(max_examples=200, deadline=None)
@given(st.lists(counts, min_size=1, max_size=21))
def test_a_single_column_with_its_total_gives_nothing_away(column):
    """The portal's staff columns: only a column total, no row total."""
    values = {(r, 0): v for r, v in enumerate(column)}
    values[(len(column), 0)] = sum(column)
    lines = [Line((len(column), 0), tuple((r, 0) for r in range(len(column))))]
    hidden = suppress(values, lines)
    assert_protected(values, lines, hidden)


def test_two_hidden_cells_summing_to_2_or_8_are_no_longer_given_away():
    """The issue's case: a column total shown with two hidden cells of 1 + 1 (or 4 + 4) — the total
    minus the shown cells said 2 (or 8), i.e. both were 1 (or both 4, each being "<5")."""
    for pair in ((1, 1), (4, 4)):
        column = [120, pair[0], 37, pair[1], 0, 9]
        values = {(r, 0): v for r, v in enumerate(column)}
        values[(len(column), 0)] = sum(column)
        lines = [Line((len(column), 0), tuple((r, 0) for r in range(len(column))))]
        old_rule = {(1, 0), (3, 0)}  # one cell at a time: exactly the two small counts
        assert len(subtraction_attack(values, lines, old_rule)) == 2 if pair == (1, 1) else True
        assert values[(len(column), 0)] - sum(v for c, v in values.items() if c not in old_rule and c[0] < len(column)) == sum(pair)

        hidden = suppress(values, lines)
        assert {(1, 0), (3, 0)} <= hidden and (5, 0) in hidden  # and the smallest other count (9)
        assert sum(values[c] for c in hidden) - 0 >= SMALLEST_SHOWN
        assert_protected(values, lines, hidden)


def test_a_line_with_one_small_count_hides_the_next_smallest_not_the_total():
    interior = [[50, 3, 20], [60, 40, 30], [70, 80, 90]]
    values, lines, n_rows, n_cols = with_margins(interior)
    hidden = suppress(values, lines)
    assert (0, 1) in hidden
    # Row 0 (50, 3, 20 | 73) hides 20 too; column 1 (3, 40, 80 | 123) hides 40; the totals stay.
    assert (0, 2) in hidden and (1, 1) in hidden
    assert (0, n_cols) not in hidden and (n_rows, 1) not in hidden
    assert_protected(values, lines, hidden)


def test_the_portal_table_hides_a_second_count_beside_a_lone_small_one(world, django_capture_on_commit_callbacks):
    """Guangzhou with 3 primary pupils and Shenzhen with 12: the province's 小学 total (15) is shown,
    so Shenzhen's 12 is withheld too — subtraction gives neither away."""
    county = world.user("county_a_stat")
    for seq in range(1, 4):
        committed(django_capture_on_commit_callbacks, lambda seq=seq: services.enrol_student(
            actor=county, school=world.school_a1, data=student_row(seq)))
    shenzhen = Organization.objects.get(school_code="2144000003")  # 福田测试小学 (tests/world.py)
    for seq in range(20, 32):
        committed(django_capture_on_commit_callbacks, lambda seq=seq: services.enrol_student(
            actor=world.user("county_c_stat"), school=shenzhen, data=student_row(seq)))
    officer = world.user("province")
    snapshot = signed_off(take_snapshot(actor=officer, census_date=timezone.localdate()), actor=officer)
    table = public.city_table(snapshot)
    primary = table.columns.index("小学")
    by_city = {row.city: row.cells[primary] for row in table.rows}
    assert by_city["广州市"] is None and by_city["深圳市"] is None and table.total.cells[primary] == 15
    shown = [*table.rows, table.total]
    values = {(r, c): (v if v is not None else -1) for r, row in enumerate(shown) for c, v in enumerate(row.cells)}
    hidden = {c for c, v in values.items() if v == -1}
    assert subtraction_attack(values, table_lines(len(table.rows), len(table.columns)), hidden) == {}
    assert table.hidden == len(hidden)
