"""Tests for the synthetic demo-data generators in eduplatform.demo.names (no database)."""

from __future__ import annotations

import random
import re
import time
from collections import Counter

import pytest

from eduplatform.demo import names
from eduplatform.demo.names import (
    chinese_numeral,
    landline,
    person_name,
    phone_number,
    school_name,
    street_address,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
ALL_CJK_2_TO_4 = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")

KINDS = (
    "kindergarten", "primary", "junior", "nine_year", "complete_secondary", "senior",
    "twelve_year", "vocational", "technical", "higher", "special", "teaching_point",
)
SUFFIXES: dict[str, tuple[str, ...]] = {
    "kindergarten": ("幼儿园",),
    "primary": ("小学",),
    "junior": ("中学", "实验学校"),
    "nine_year": ("学校",),
    "complete_secondary": ("中学",),
    "senior": ("中学",),
    "twelve_year": ("外国语学校", "国际学校", "学校"),
    "vocational": ("职业技术学校", "中等专业学校"),
    "technical": ("技工学校", "技师学院"),
    "higher": ("学院",),
    "special": ("特殊教育学校", "启智学校", "学校"),
    "teaching_point": ("村教学点", "教学点"),
}
PLACES = ("沙面", "番禺", "石龙", "大沥", "从化", "北")


def _sample(seed: int) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(200):
        out.append(person_name(rng, "1" if i % 2 else "2"))
        out.append(phone_number(rng))
        out.append(landline(rng, "020"))
        out.append(street_address(rng, "沙面"))
        out.append(school_name(rng, place="番禺", kind=KINDS[i % len(KINDS)], index=i % 7 + 1))
    return out


# --- determinism -----------------------------------------------------------


def test_same_seed_gives_same_data() -> None:
    assert _sample(42) == _sample(42)


def test_different_seeds_give_different_data() -> None:
    assert _sample(1) != _sample(2)


def test_school_name_depends_only_on_arguments_and_rng_state() -> None:
    for kind in KINDS:
        for index in (1, 2, 5, 40, 120):
            a = school_name(random.Random(7), place="番禺", kind=kind, index=index)
            b = school_name(random.Random(7), place="番禺", kind=kind, index=index)
            assert a == b


def test_module_kind_list_matches_contract() -> None:
    assert set(names.SCHOOL_KINDS) == set(KINDS)


# --- person names ----------------------------------------------------------


@pytest.mark.parametrize("sex", ["1", "2"])
def test_person_names_are_2_to_4_chinese_characters(sex: str) -> None:
    rng = random.Random(3)
    for _ in range(5000):
        name = person_name(rng, sex)
        assert ALL_CJK_2_TO_4.match(name), name


def test_given_name_length_mix_is_about_three_quarters_two_characters() -> None:
    rng = random.Random(4)
    single = {s for s in names._SURNAMES if len(s) == 1}
    draws = [person_name(rng, "1") for _ in range(10_000)]
    plain = [n for n in draws if n[0] in single and n[:2] not in names._SURNAMES]
    two_char_share = sum(len(n) == 3 for n in plain) / len(plain)
    assert 0.70 < two_char_share < 0.80


def test_guangdong_surnames_are_most_common() -> None:
    rng = random.Random(5)
    counts = Counter(person_name(rng, rng.choice("12"))[0] for _ in range(10_000))
    top5 = [s for s, _ in counts.most_common(5)]
    assert {"陈", "李", "黄"} <= set(top5), top5
    assert counts.most_common(1)[0][0] == "陈"
    # Every surname in the brief's list actually occurs.
    assert len(counts) > 80


def test_surname_table_has_no_duplicates() -> None:
    assert len(names._SURNAMES) == len(set(names._SURNAMES))


def test_given_name_pools_avoid_single_character_surnames() -> None:
    surnames = {s for s in names._SURNAMES if len(s) == 1}
    for pool, _cum in (names._MALE_POOL, names._FEMALE_POOL):
        assert not surnames & set(pool)


def test_female_and_male_given_names_differ() -> None:
    rng = random.Random(6)
    male = [person_name(rng, "1") for _ in range(5000)]
    female = [person_name(rng, "2") for _ in range(5000)]
    male_chars = Counter(ch for n in male for ch in n[1:])
    female_chars = Counter(ch for n in female for ch in n[1:])
    # Typical characters stay on their side.
    for ch in "伟俊浩杰军强":
        assert male_chars[ch] > 0 and female_chars[ch] == 0, ch
    for ch in "芳婷娟燕霞萱":
        assert female_chars[ch] > 0 and male_chars[ch] == 0, ch
    # Only a handful of unisex characters (嘉, 梓 ...) are shared.
    male_pool, female_pool = set(names._MALE_POOL[0]), set(names._FEMALE_POOL[0])
    assert len(male_pool & female_pool) / len(male_pool | female_pool) < 0.1


def test_male_given_names_are_never_reduplicated() -> None:
    rng = random.Random(8)
    for _ in range(20_000):
        name = person_name(rng, "1")
        assert not (len(name) == 3 and name[1] == name[2] and name[0] + name[1] not in names._SURNAMES)


def test_unknown_sex_code_is_rejected() -> None:
    with pytest.raises(ValueError):
        person_name(random.Random(0), "M")
    assert ALL_CJK_2_TO_4.match(person_name(random.Random(0), "9"))


# --- phone numbers ---------------------------------------------------------


def test_phone_numbers_are_mainland_mobiles() -> None:
    rng = random.Random(9)
    numbers = [phone_number(rng) for _ in range(10_000)]
    for number in numbers:
        assert MOBILE.match(number), number
        assert number[:2] in {"13", "15", "17", "18", "19"}
        assert number[:3] not in {"170", "171", "174", "154"}
    assert len(set(numbers)) > 9_990
    assert {n[:2] for n in numbers} == {"13", "15", "17", "18", "19"}


@pytest.mark.parametrize(
    ("area_code", "local_digits"),
    [("020", 8), ("0755", 8), ("0769", 8), ("0751", 7), ("0668", 7)],
)
def test_landline_format(area_code: str, local_digits: int) -> None:
    rng = random.Random(10)
    for _ in range(200):
        number = landline(rng, area_code)
        code, local = number.split("-")
        assert code == area_code
        assert local.isdigit() and len(local) == local_digits
        assert local[0] in "2345678"


# --- addresses -------------------------------------------------------------


@pytest.mark.parametrize("town", ["沙面", "番禺", "石龙", "东", "", "A1"])
def test_addresses_have_at_least_six_chinese_characters(town: str) -> None:
    rng = random.Random(11)
    for _ in range(3000):
        address = street_address(rng, town)
        assert len(CJK.findall(address)) >= 6, address
        assert town in address


def test_addresses_start_with_town_and_vary() -> None:
    rng = random.Random(12)
    addresses = [street_address(rng, "沙面") for _ in range(2000)]
    assert all(a.startswith("沙面") for a in addresses)
    assert len(set(addresses)) > 1900
    assert any(a.endswith("号") for a in addresses)
    assert any(a.endswith("房") for a in addresses)
    assert any("村" in a for a in addresses)


# --- school names ----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_school_names_end_with_kind_suffix(kind: str) -> None:
    rng = random.Random(13)
    for place in PLACES:
        for index in range(1, 130):
            name = school_name(rng, place=place, kind=kind, index=index)
            assert name.startswith(place), name
            assert name.endswith(SUFFIXES[kind]), name


def test_specific_suffix_rules() -> None:
    rng = random.Random(14)
    for index in range(1, 60):
        assert "高级中学" not in school_name(rng, place="番禺", kind="junior", index=index)
        assert "初级中学" not in school_name(rng, place="番禺", kind="senior", index=index)
        assert school_name(rng, place="番禺", kind="higher", index=index).endswith(
            ("职业技术学院", "职业学院", "学院")
        )
    canonical = {school_name(random.Random(s), place="番禺", kind="primary", index=1) for s in range(200)}
    assert "番禺中心小学" in canonical
    assert "番禺第一小学" in canonical
    kg = {school_name(random.Random(s), place="番禺", kind="kindergarten", index=1) for s in range(200)}
    assert "番禺中心幼儿园" in kg


def test_numbered_school_names_use_chinese_numerals() -> None:
    seen = set()
    for seed in range(300):
        seen.add(school_name(random.Random(seed), place="番禺", kind="primary", index=11))
    assert "番禺第十一小学" in seen
    assert not any(re.search(r"\d", n) for n in seen)
    # Beyond 99 Arabic digits keep names unique.
    assert school_name(random.Random(0), place="番禺", kind="complete_secondary", index=150) in {
        "番禺第150中学"
    }


@pytest.mark.parametrize("place", PLACES)
def test_distinct_kind_index_pairs_never_share_a_name(place: str) -> None:
    # Exhaustive over every form school_name can choose, not just sampled ones.
    owner: dict[str, tuple[str, int]] = {}
    for kind in KINDS:
        for index in range(1, 131):
            for name in names._possible_school_names(place, kind, index):
                assert owner.setdefault(name, (kind, index)) == (kind, index), (
                    name, owner[name], (kind, index)
                )


def test_sampled_names_match_possible_names() -> None:
    rng = random.Random(15)
    for kind in KINDS:
        for index in (1, 2, 3, 17, 101):
            name = school_name(rng, place="沙面", kind=kind, index=index)
            assert name in names._possible_school_names("沙面", kind, index)


def test_school_names_unique_within_place_and_kind() -> None:
    rng = random.Random(16)
    for kind in KINDS:
        generated = [school_name(rng, place="从化", kind=kind, index=i) for i in range(1, 120)]
        assert len(set(generated)) == len(generated), kind


def test_word_names_vary_between_places() -> None:
    # The index-driven word pick is offset per place, so towns do not all get the
    # same kindergarten names in the same order.
    per_place = {
        place: [
            school_name(random.Random(0), place=place, kind="kindergarten", index=i)[len(place):]
            for i in range(2, 12)
        ]
        for place in PLACES
    }
    assert len({tuple(v) for v in per_place.values()}) > 1


def test_school_name_rejects_bad_arguments() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError):
        school_name(rng, place="番禺", kind="university", index=1)
    with pytest.raises(ValueError):
        school_name(rng, place="番禺", kind="primary", index=0)


# --- chinese_numeral -------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "一"), (2, "二"), (9, "九"), (10, "十"), (11, "十一"), (15, "十五"), (19, "十九"),
        (20, "二十"), (21, "二十一"), (30, "三十"), (45, "四十五"), (90, "九十"), (99, "九十九"),
    ],
)
def test_chinese_numeral(n: int, expected: str) -> None:
    assert chinese_numeral(n) == expected


def test_chinese_numerals_are_distinct_and_have_no_zero() -> None:
    numerals = [chinese_numeral(n) for n in range(1, 100)]
    assert len(set(numerals)) == 99
    assert not any("零" in x for x in numerals)


@pytest.mark.parametrize("n", [0, -1, 100])
def test_chinese_numeral_out_of_range(n: int) -> None:
    with pytest.raises(ValueError):
        chinese_numeral(n)


# --- speed (reported, not asserted) ------------------------------------------


def test_speed_report(capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(17)
    start = time.perf_counter()
    for i in range(100_000):
        person_name(rng, "1" if i & 1 else "2")
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(100_000):
        street_address(rng, "沙面")
    addr_elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\n[demo.names] 100,000 person_name: {elapsed:.3f}s "
            f"({elapsed * 10:.2f} µs/call); 100,000 street_address: {addr_elapsed:.3f}s"
        )
