"""Fast, deterministic generators of synthetic Chinese personal and school data.

Used to fill the Guangdong education platform demo with realistic-looking rows
(schools, principals, students, staff) -- potentially millions of them, so every
function here is cheap:

* the caller passes a ``random.Random`` instance; nothing touches the global RNG,
  so a fixed seed always reproduces the same data set;
* all word lists are module-level tuples, and weighted choices use
  ``rng.choices`` with cumulative weights computed once at import time;
* no Faker, no I/O, no per-call parsing.

Sex codes follow GB/T 2261.1: ``"1"`` male, ``"2"`` female (``"0"`` unknown and
``"9"`` unspecified are accepted and draw from both given-name pools).

All generated data is fictional; any resemblance to real people, phone numbers
or addresses is coincidental.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterable
from functools import lru_cache
from itertools import accumulate
from typing import Final, NamedTuple

__all__ = [
    "chinese_numeral",
    "landline",
    "person_name",
    "phone_number",
    "school_name",
    "street_address",
    "surname_of",
]


def _cumulative(weights: Iterable[int]) -> tuple[int, ...]:
    return tuple(accumulate(weights))


# ---------------------------------------------------------------------------
# Chinese numerals
# ---------------------------------------------------------------------------

_DIGITS: Final = "零一二三四五六七八九"


def _build_numeral(n: int) -> str:
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    head = "十" if tens == 1 else _DIGITS[tens] + "十"
    return head + (_DIGITS[ones] if ones else "")


# Index 0 is unused; 1..99 are precomputed.
_CN_NUMERALS: Final[tuple[str, ...]] = ("",) + tuple(_build_numeral(n) for n in range(1, 100))


def chinese_numeral(n: int) -> str:
    """Return the Chinese numeral for ``1 <= n <= 99`` (10 -> 十, 11 -> 十一, 21 -> 二十一)."""
    if not 1 <= n <= 99:
        raise ValueError(f"chinese_numeral supports 1..99, got {n!r}")
    return _CN_NUMERALS[n]


def _ordinal(n: int) -> str:
    """Numeral for "第n": Chinese up to 99, Arabic digits beyond (still unique)."""
    return _CN_NUMERALS[n] if n <= 99 else str(n)


# ---------------------------------------------------------------------------
# Person names
# ---------------------------------------------------------------------------

# Approximate relative frequencies for Guangdong (roughly per 10,000 people):
# the provincial pattern (陈 黄 李 张 梁 林 刘 ...) blended with the national one to
# reflect in-province migration. Compound surnames (欧阳, 司徒 -- the latter
# notably Cantonese) are rare and give the occasional 4-character name.
_SURNAME_WEIGHTS: Final[tuple[tuple[str, int], ...]] = (
    ("陈", 900), ("李", 660), ("黄", 640), ("张", 480), ("梁", 400), ("林", 380),
    ("刘", 360), ("吴", 270), ("王", 250), ("罗", 240), ("何", 240), ("杨", 210),
    ("郑", 200), ("钟", 190), ("曾", 180), ("周", 180), ("谢", 160), ("叶", 160),
    ("郭", 150), ("邓", 140), ("蔡", 130), ("冯", 120), ("潘", 110), ("许", 100),
    ("朱", 100), ("黎", 100), ("卢", 100), ("彭", 90), ("苏", 90), ("余", 90),
    ("谭", 90), ("廖", 90), ("徐", 80), ("胡", 80), ("赵", 80), ("温", 80),
    ("赖", 80), ("江", 70), ("邱", 70), ("肖", 70), ("高", 60), ("唐", 60),
    ("邹", 60), ("莫", 60), ("孙", 50), ("马", 50), ("袁", 50), ("陆", 50),
    ("方", 50), ("麦", 50), ("宋", 40), ("曹", 40), ("杜", 40), ("姚", 40),
    ("韦", 40), ("覃", 40), ("洪", 40), ("庄", 40), ("韩", 30), ("田", 30),
    ("董", 30), ("蒋", 30), ("程", 30), ("魏", 30), ("吕", 30), ("丁", 30),
    ("沈", 30), ("范", 30), ("石", 30), ("熊", 30), ("雷", 30), ("龙", 30),
    ("严", 30), ("戴", 30), ("汤", 30), ("欧", 30), ("翁", 30), ("詹", 30),
    ("古", 30), ("于", 20), ("任", 20), ("姜", 20), ("汪", 20), ("夏", 20),
    ("尹", 20), ("陶", 20), ("龚", 20), ("崔", 15), ("金", 15), ("付", 15),
    ("秦", 15), ("段", 15), ("侯", 15), ("贺", 15), ("毛", 15), ("邵", 15),
    ("万", 15), ("孔", 15), ("向", 15), ("贾", 10), ("白", 10), ("孟", 10),
    ("薛", 10), ("史", 10), ("顾", 10), ("钱", 10), ("武", 10), ("闫", 8),
    ("郝", 8), ("欧阳", 30), ("司徒", 12), ("司马", 3), ("上官", 2), ("诸葛", 1),
)
_SURNAMES: Final[tuple[str, ...]] = tuple(s for s, _ in _SURNAME_WEIGHTS)
_SURNAME_CUM: Final[tuple[int, ...]] = _cumulative(w for _, w in _SURNAME_WEIGHTS)

# Given-name characters: tier 1 is drawn three times as often as tier 2.
# Characters that are also common surnames (林, 江, 龙 ...) are deliberately left
# out so that names like "林林" cannot appear.
_MALE_TIER1: Final = "伟俊浩杰明志文华建家嘉子梓锦永宇健辉斌涛鹏峰军强荣耀泽轩睿博豪彬智鑫晨宏毅航"
_MALE_TIER2: Final = (
    "勇超磊亮平刚国德成安铭皓坤乐卓熙瀚哲栋楷锐伦炜钊晖昊辰宸烨灏威海东新振兴福祥坚达炳基贤源韬骏然逸恒朗立聪贵生胜标光"
)
_FEMALE_TIER1: Final = "芳丽敏静婷娟燕霞玲琳雪慧颖欣怡晴悦萱涵洁琪莹倩嘉诗思雨梓彤妍馨瑶佳晓雅"
_FEMALE_TIER2: Final = (
    "红秀婉淑艳蓉凤美梦紫语琦蕾薇璐露月珊菲春桂兰梅珍翠丹贞宁霏如可依蔓沁灵冰桐晶茵岚柔琴玉媛娜莉清心艺"
)

_SINGLE_CHAR_GIVEN_RATE: Final = 0.25  # ~75% of given names have two characters


def _given_pool(*tiers: tuple[str, int]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    weights: dict[str, int] = {}
    for chars, weight in tiers:
        for ch in chars:
            weights[ch] = weights.get(ch, 0) + weight
    return tuple(weights), _cumulative(weights.values())


_MALE_POOL: Final = _given_pool((_MALE_TIER1, 3), (_MALE_TIER2, 1))
_FEMALE_POOL: Final = _given_pool((_FEMALE_TIER1, 3), (_FEMALE_TIER2, 1))
_ANY_POOL: Final = _given_pool(
    (_MALE_TIER1, 3), (_MALE_TIER2, 1), (_FEMALE_TIER1, 3), (_FEMALE_TIER2, 1)
)
_GIVEN_POOLS: Final[dict[str, tuple[tuple[str, ...], tuple[int, ...]]]] = {
    "1": _MALE_POOL,
    "2": _FEMALE_POOL,
    "0": _ANY_POOL,
    "9": _ANY_POOL,
}


_COMPOUND_SURNAMES: Final[frozenset[str]] = frozenset(s for s in _SURNAMES if len(s) > 1)


def person_name(rng: random.Random, sex: str, *, surname: str | None = None) -> str:
    """Return a full name (surname + 1-2 character given name), 2-4 characters.

    ``sex`` is a GB/T 2261.1 code: ``"1"`` male, ``"2"`` female. ``surname`` keeps a family's
    surname (a father and his child); without it one is drawn, so existing seeds give the same names.
    """
    try:
        chars, cum = _GIVEN_POOLS[sex]
    except KeyError:
        raise ValueError(f"unknown GB/T 2261.1 sex code: {sex!r}") from None
    choices = rng.choices
    if surname is None:
        surname = choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
    if rng.random() < _SINGLE_CHAR_GIVEN_RATE:
        return surname + choices(chars, cum_weights=cum)[0]
    first, second = choices(chars, cum_weights=cum, k=2)
    # Reduplicated given names (婷婷, 欣欣) are a female pattern; redraw otherwise.
    while first == second and sex != "2":
        second = choices(chars, cum_weights=cum)[0]
    return surname + first + second


def surname_of(name: str) -> str:
    """The surname of a name made by :func:`person_name` (compound surnames such as 欧阳 included)."""
    return name[:2] if name[:2] in _COMPOUND_SURNAMES else name[:1]


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------

# Allocated mainland mobile prefixes (China Mobile / Unicom / Telecom / Broadnet),
# weighted by how common they are in practice. Virtual-operator (170/171) and
# satellite (174) segments are excluded.
_MOBILE_PREFIX_WEIGHTS: Final[tuple[tuple[str, int], ...]] = (
    *((f"13{d}", 6) for d in range(10)),
    *((f"15{d}", 5) for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
    *((f"18{d}", 6) for d in range(10)),
    *((f"17{d}", 2) for d in (2, 3, 5, 6, 7, 8)),
    *((f"19{d}", 2) for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
)
_MOBILE_PREFIXES: Final[tuple[str, ...]] = tuple(p for p, _ in _MOBILE_PREFIX_WEIGHTS)
_MOBILE_PREFIX_CUM: Final[tuple[int, ...]] = _cumulative(w for _, w in _MOBILE_PREFIX_WEIGHTS)


def phone_number(rng: random.Random) -> str:
    """Return an 11-digit mainland mobile number such as ``"13812345678"``."""
    prefix = rng.choices(_MOBILE_PREFIXES, cum_weights=_MOBILE_PREFIX_CUM)[0]
    return f"{prefix}{rng.randrange(100_000_000):08d}"


# Four-digit area codes whose local numbers have eight digits (Guangdong's large
# cities); all three-digit area codes (010, 020, 021 ...) have eight digits too.
# Other areas use seven digits. This is an approximation, good enough for a demo.
_EIGHT_DIGIT_AREA_CODES: Final = frozenset({"0755", "0757", "0769", "0760", "0756", "0754"})
_LOCAL_FIRST_DIGITS: Final = "2345678"


def landline(rng: random.Random, area_code: str) -> str:
    """Return a fixed-line number such as ``"020-83456789"`` for the given area code."""
    first = rng.choice(_LOCAL_FIRST_DIGITS)
    if len(area_code) <= 3 or area_code in _EIGHT_DIGIT_AREA_CODES:
        return f"{area_code}-{first}{rng.randrange(10_000_000):07d}"
    return f"{area_code}-{first}{rng.randrange(1_000_000):06d}"


# ---------------------------------------------------------------------------
# Village names (shared by addresses and school names)
# ---------------------------------------------------------------------------

# Typical Guangdong village-name building blocks (涌, 滘, 沥, 圳, 埔 are very local).
_VILLAGE_HEADS: Final = "上下大小新东西南北石水龙凤黄白长马禾竹沙"
_VILLAGE_TAILS: Final = "塘坑岗围田坪湾洞头寨岭冲埔溪尾边圳涌滘沥"


def _build_villages() -> tuple[str, ...]:
    names = [h + t for h in _VILLAGE_HEADS for t in _VILLAGE_TAILS]
    # Fixed-seed shuffle so consecutive picks do not share a head character.
    random.Random(202406).shuffle(names)
    return tuple(names)


_VILLAGES: Final[tuple[str, ...]] = _build_villages()


# ---------------------------------------------------------------------------
# Street addresses
# ---------------------------------------------------------------------------

_ROAD_BASES: Final[tuple[str, ...]] = (
    "文明", "中山", "解放", "人民", "建设", "新华", "东风", "环城", "府前", "学府",
    "迎宾", "工业", "沿江", "滨江", "江南", "育才", "兴华", "朝阳", "光明", "和平",
    "友谊", "幸福", "振兴", "青年", "金沙", "东华", "南华", "前进", "胜利", "康乐",
    "新城", "文化", "体育", "站前", "龙腾", "凤凰", "翠竹", "桂花", "木棉", "荔枝",
    "榕树", "紫荆", "华侨", "商业", "东堤", "西堤", "丰乐", "同德", "长寿", "永安",
)


def _build_roads() -> tuple[tuple[str, ...], tuple[int, ...]]:
    roads: list[tuple[str, int]] = []
    road_dirs = (("", 12), ("东", 2), ("西", 2), ("南", 2), ("北", 2), ("中", 2),
                 ("一", 1), ("二", 1), ("三", 1))
    avenue_dirs = (("", 6), ("东", 1), ("西", 1), ("南", 1), ("北", 1), ("中", 2))
    for base in _ROAD_BASES:
        roads.extend((f"{base}{d}路", 6 * w) for d, w in road_dirs)  # 人民北路, 中山一路
        roads.extend((f"{base}大道{d}", 4 * w) for d, w in avenue_dirs)  # 江南大道中
        roads.append((f"{base}街", 24))
        roads.append((f"{base}大街", 12))
    return tuple(r for r, _ in roads), _cumulative(w for _, w in roads)


_ROADS, _ROAD_CUM = _build_roads()

_ESTATES: Final[tuple[str, ...]] = (
    "锦绣花园", "丽景花园", "翠苑小区", "阳光花园", "江畔花园", "华景新城", "滨江豪庭",
    "海怡花园", "东湖小区", "新都名苑", "富康苑", "金沙湾", "御景湾", "紫荆苑", "康乐园",
    "幸福家园", "南苑小区", "怡景花园", "荔景苑", "碧水湾", "棕榈园", "君悦华庭",
    "星河湾", "岭南雅苑", "教师新村", "职工宿舍",
)

_PROVINCE_PREFIX: Final = "广东省"


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


@lru_cache(maxsize=8192)
def _town_prefix(town_name: str) -> str:
    """Prefix that guarantees >= 6 CJK characters when the town name is too short.

    Every address pattern below contributes at least four CJK characters on its
    own, so a town name with two or more CJK characters is always sufficient.
    """
    return "" if sum(map(_is_cjk, town_name)) >= 2 else _PROVINCE_PREFIX


def street_address(rng: random.Random, town_name: str) -> str:
    """Return an address inside ``town_name`` with at least six CJK characters.

    Patterns: ``沙面文明路128号`` (road), ``沙面锦绣花园3栋1502房`` (housing
    estate), ``沙面石岗村三巷12号`` (village).
    """
    prefix = _town_prefix(town_name) + town_name
    roll = rng.random()
    if roll < 0.55:
        road = rng.choices(_ROADS, cum_weights=_ROAD_CUM)[0]
        number = 1 + int(rng.random() ** 2 * 398)  # skewed towards small numbers
        return f"{prefix}{road}{number}号"
    if roll < 0.8:
        estate = _ESTATES[int(rng.random() * len(_ESTATES))]
        building = rng.randint(1, 30)
        floor = rng.randint(1, 33)
        room = rng.randint(1, 8)
        return f"{prefix}{estate}{building}栋{floor}{room:02d}房"
    village = _VILLAGES[int(rng.random() * len(_VILLAGES))]
    lane = _CN_NUMERALS[rng.randint(1, 12)]
    return f"{prefix}{village}村{lane}巷{rng.randint(1, 60)}号"


# ---------------------------------------------------------------------------
# School names
# ---------------------------------------------------------------------------

# Form types.
_FIXED: Final = 0  # f"{place}{suffix}" -- only used for index 1
_NUMBERED: Final = 1  # f"{place}第{n}{suffix}" with n = index
_WORD: Final = 2  # f"{place}{pool[...]}{suffix}", the word is picked by index


class _Form(NamedTuple):
    type: int
    suffix: str
    pool: tuple[str, ...] = ()
    stride: int = 1  # coprime with len(pool): consecutive indexes spread over the pool


class _KindSpec(NamedTuple):
    first: tuple[_Form, ...]  # forms available for index 1
    first_cum: tuple[int, ...]
    rest: tuple[_Form, ...]  # forms available for index >= 2
    rest_cum: tuple[int, ...]
    fallback: str  # numbered suffix used when a word pool is exhausted


def _spec(
    first: tuple[tuple[_Form, int], ...], rest: tuple[tuple[_Form, int], ...], fallback: str
) -> _KindSpec:
    return _KindSpec(
        tuple(f for f, _ in first),
        _cumulative(w for _, w in first),
        tuple(f for f, _ in rest),
        _cumulative(w for _, w in rest),
        fallback,
    )


# Word pools. Pools that share a suffix across kinds (中学, 学校) are disjoint, so
# different kinds never produce the same name in one place (checked by tests).
_KINDERGARTEN_WORDS: Final = (
    "阳光", "蓓蕾", "育才", "星星", "小太阳", "启智", "童心", "金色摇篮", "小天使", "七色花",
    "彩虹", "向日葵", "春苗", "新苗", "明珠", "英才", "博雅", "爱心", "快乐", "幸福",
    "晨曦", "朝阳", "小海豚", "百合", "贝贝", "金太阳", "小精灵", "小博士", "蒲公英", "绿茵",
    "春晖", "晨光", "童趣", "育苗", "蓝天", "翠苑", "锦绣", "实验", "机关", "双语",
    "艺术", "小红花", "小百灵", "红苹果", "好儿童", "童乐", "童梦", "嘉禾", "华苑", "未来星",
)
_PRIMARY_WORDS: Final = (
    "实验", "育英", "培英", "东风", "红星", "育才", "新华", "光明", "朝阳", "向阳",
    "启明", "华侨", "文华", "英华", "崇文", "育华", "明德", "博文", "致远", "东方",
    "前进", "红旗", "胜利", "人民", "南华", "新城", "城南", "城北", "滨江", "江南",
    "立德", "树人", "外国语", "德才", "培正",
)
_JUNIOR_WORDS: Final = (
    "联合", "城东", "城西", "城南", "城北", "育英", "培英", "崇文", "振华", "侨联",
    "东风", "红旗", "新民", "光华", "育贤",
)
_COMPLETE_WORDS: Final = (
    "华侨", "育才", "新华", "明德", "思源", "博文", "华英", "岭南", "崇德", "立德",
    "致远", "光明",
)
_SENIOR_WORDS: Final = ("实验", "外国语", "英才", "求是", "卓越", "南方", "侨心", "华附")
_NINE_YEAR_WORDS: Final = (
    "育才", "英豪", "博雅", "华英", "明德", "育贤", "新世纪", "华南", "东方", "思源",
)
_TWELVE_YEAR_WORDS: Final = (
    "碧桂园", "英华", "博文", "华美", "南湖", "星海", "凤凰", "滨海", "翠园", "紫荆",
)
_VOCATIONAL_WORDS: Final = (
    "理工", "商贸", "信息", "工贸", "旅游", "财经", "机电", "艺术", "卫生", "交通",
    "农业", "建筑", "电子",
)
_TECHNICAL_WORDS: Final = (
    "工贸", "机电", "交通", "电子", "轻工", "建筑", "信息", "商业", "化工", "工业",
)
_HIGHER_VOC_WORDS: Final = (
    "城市", "工贸", "科技", "信息", "理工", "财经", "工程", "轻工", "农工商", "南华", "岭南",
)
_HIGHER_ACADEMIC_WORDS: Final = ("师范", "科技", "理工", "医", "财经", "文理")
_SPECIAL_WORDS: Final = ("启聪", "启明", "培智", "育智")


def _fixed(suffix: str) -> _Form:
    return _Form(_FIXED, suffix)


def _numbered(suffix: str) -> _Form:
    return _Form(_NUMBERED, suffix)


def _word(pool: tuple[str, ...], suffix: str) -> _Form:
    size = len(pool)
    stride = next(p for p in (13, 11, 7, 5, 3, 1) if p == 1 or (p < size and math.gcd(p, size) == 1))
    return _Form(_WORD, suffix, pool, stride)


_KINDS: Final[dict[str, _KindSpec]] = {
    "kindergarten": _spec(
        first=((_fixed("中心幼儿园"), 5), (_fixed("幼儿园"), 1), (_numbered("幼儿园"), 1),
               (_word(_KINDERGARTEN_WORDS, "幼儿园"), 4)),
        rest=((_numbered("幼儿园"), 2), (_word(_KINDERGARTEN_WORDS, "幼儿园"), 6)),
        fallback="幼儿园",
    ),
    "primary": _spec(
        first=((_fixed("中心小学"), 5), (_fixed("小学"), 1), (_numbered("小学"), 2),
               (_word(_PRIMARY_WORDS, "小学"), 2), (_word(_VILLAGES, "小学"), 2)),
        rest=((_numbered("小学"), 3), (_word(_PRIMARY_WORDS, "小学"), 3),
              (_word(_VILLAGES, "小学"), 4)),
        fallback="小学",
    ),
    "junior": _spec(
        first=((_fixed("初级中学"), 3), (_fixed("实验学校"), 1), (_numbered("初级中学"), 1),
               (_word(_JUNIOR_WORDS, "中学"), 2), (_word(_VILLAGES, "中学"), 2)),
        rest=((_numbered("初级中学"), 2), (_word(_JUNIOR_WORDS, "中学"), 2),
              (_word(_VILLAGES, "中学"), 3)),
        fallback="初级中学",
    ),
    # "第n中学" belongs to complete secondary schools from n = 2 on; senior high
    # schools only use the bare "第一中学", so the two kinds never collide.
    "complete_secondary": _spec(
        first=((_fixed("中学"), 5), (_word(_COMPLETE_WORDS, "中学"), 3)),
        rest=((_numbered("中学"), 4), (_word(_COMPLETE_WORDS, "中学"), 3)),
        fallback="中学",
    ),
    "senior": _spec(
        first=((_fixed("高级中学"), 3), (_fixed("第一中学"), 3), (_numbered("高级中学"), 1),
               (_word(_SENIOR_WORDS, "中学"), 2), (_word(_SENIOR_WORDS, "高级中学"), 1)),
        rest=((_numbered("高级中学"), 2), (_word(_SENIOR_WORDS, "中学"), 2),
              (_word(_SENIOR_WORDS, "高级中学"), 1)),
        fallback="高级中学",
    ),
    "nine_year": _spec(
        first=((_fixed("九年一贯制学校"), 3), (_fixed("学校"), 1),
               (_word(_NINE_YEAR_WORDS, "学校"), 2)),
        rest=((_numbered("九年一贯制学校"), 1), (_word(_NINE_YEAR_WORDS, "学校"), 3)),
        fallback="九年一贯制学校",
    ),
    "twelve_year": _spec(
        first=((_fixed("外国语学校"), 3), (_fixed("国际学校"), 1),
               (_word(_TWELVE_YEAR_WORDS, "外国语学校"), 2), (_word(_TWELVE_YEAR_WORDS, "学校"), 1)),
        rest=((_numbered("外国语学校"), 1), (_word(_TWELVE_YEAR_WORDS, "外国语学校"), 3),
              (_word(_TWELVE_YEAR_WORDS, "学校"), 2)),
        fallback="外国语学校",
    ),
    "vocational": _spec(
        first=((_fixed("职业技术学校"), 4), (_fixed("中等专业学校"), 2),
               (_word(_VOCATIONAL_WORDS, "职业技术学校"), 2),
               (_word(_VOCATIONAL_WORDS, "中等专业学校"), 1)),
        rest=((_numbered("职业技术学校"), 1), (_word(_VOCATIONAL_WORDS, "职业技术学校"), 3),
              (_word(_VOCATIONAL_WORDS, "中等专业学校"), 1)),
        fallback="职业技术学校",
    ),
    "technical": _spec(
        first=((_fixed("技工学校"), 4), (_fixed("高级技工学校"), 1), (_fixed("技师学院"), 1),
               (_word(_TECHNICAL_WORDS, "技工学校"), 2)),
        rest=((_numbered("技工学校"), 1), (_word(_TECHNICAL_WORDS, "技工学校"), 3)),
        fallback="技工学校",
    ),
    "higher": _spec(
        first=((_fixed("职业技术学院"), 4), (_fixed("学院"), 2), (_fixed("职业学院"), 1),
               (_word(_HIGHER_VOC_WORDS, "职业技术学院"), 2),
               (_word(_HIGHER_ACADEMIC_WORDS, "学院"), 1)),
        rest=((_word(_HIGHER_VOC_WORDS, "职业技术学院"), 3),
              (_word(_HIGHER_ACADEMIC_WORDS, "学院"), 1)),
        fallback="职业技术学院",
    ),
    "special": _spec(
        first=((_fixed("特殊教育学校"), 5), (_fixed("启智学校"), 2),
               (_word(_SPECIAL_WORDS, "学校"), 1)),
        rest=((_numbered("特殊教育学校"), 1), (_word(_SPECIAL_WORDS, "学校"), 2)),
        fallback="特殊教育学校",
    ),
    "teaching_point": _spec(
        first=((_word(_VILLAGES, "村教学点"), 1),),
        rest=((_word(_VILLAGES, "村教学点"), 1),),
        fallback="教学点",
    ),
}

SCHOOL_KINDS: Final[tuple[str, ...]] = tuple(_KINDS)


def _render(place: str, kind: str, spec: _KindSpec, form: _Form, index: int) -> str:
    if form.type == _FIXED:
        return place + form.suffix
    if form.type == _WORD:
        pool = form.pool
        size = len(pool)
        if index <= size:
            # Index-driven pick: distinct indexes get distinct words, while the
            # per-place offset varies the words between places.
            offset = zlib.crc32(f"{place}|{kind}".encode())
            return f"{place}{pool[(offset + index * form.stride) % size]}{form.suffix}"
        return f"{place}第{_ordinal(index)}{spec.fallback}"
    return f"{place}第{_ordinal(index)}{form.suffix}"


def _lookup(kind: str, index: int) -> _KindSpec:
    try:
        spec = _KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown school kind: {kind!r}") from None
    if index < 1:
        raise ValueError(f"school index must be >= 1, got {index!r}")
    return spec


def school_name(rng: random.Random, *, place: str, kind: str, index: int) -> str:
    """Return a realistic school name such as ``"番禺第二小学"`` or ``"沙面阳光幼儿园"``.

    ``place`` is a short place name (suffixes like 镇/街道/区 already stripped),
    ``kind`` one of :data:`SCHOOL_KINDS`, ``index`` the school's 1-based ordinal
    within ``(place, kind)``. Within one place, distinct ``(kind, index)`` pairs
    never produce the same name; index 1 may get the canonical name (中心小学,
    第一中学 ...). Exactly one ``rng`` draw is consumed per call.
    """
    spec = _lookup(kind, index)
    if index == 1:
        form = rng.choices(spec.first, cum_weights=spec.first_cum)[0]
    else:
        form = rng.choices(spec.rest, cum_weights=spec.rest_cum)[0]
    return _render(place, kind, spec, form, index)


def _possible_school_names(place: str, kind: str, index: int) -> frozenset[str]:
    """Every name :func:`school_name` can return for these arguments (for tests)."""
    spec = _lookup(kind, index)
    forms = spec.first if index == 1 else spec.rest
    return frozenset(_render(place, kind, spec, form, index) for form in forms)
