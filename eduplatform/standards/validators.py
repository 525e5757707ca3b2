"""Validators for identifiers used across the Guangdong education platform.

Covered identifiers and the standards they come from:

* 公民身份号码 (citizen ID number) -- GB 11643-1999, check character per
  ISO 7064:1983 MOD 11-2; the old 15-digit form is GB 11643-1989.
  Area codes are GB/T 2260 administrative division codes; sex codes are GB/T 2261.1.
* 全国中小学生学籍号 (national primary/secondary student number) -- the G/J/L
  prefixed 19-character number issued by the national student-registry system.
* 学校(机构)标识码 (school / institution identifier) -- a 10-digit code issued by
  the Ministry of Education.

Every failure raises :class:`IdentifierError`, which carries a stable machine
``code`` (for APIs, logs and tests) and a user-facing Simplified Chinese ``message``.

Privacy note: ID numbers are sensitive personal information under PIPL, so
error messages describe *what is wrong* (length, which check failed) but never
echo the submitted ID number back; messages may end up in logs.

Nor do they ever name the check character a number *should* have: a clerk told
"应为 4" would type 4 and turn a wrong number into a valid-looking wrong number.
A number mangled by a spreadsheet's number format is told apart from a typo
(``id_number.stored_as_number``) and the message says how to fix the column.
"""

from __future__ import annotations

import datetime
import functools
import operator
import re
from collections.abc import Sequence
from typing import Final

from django.utils.translation import gettext, gettext_noop

__all__ = [
    "ID_NUMBER_STORED_AS_NUMBER",
    "IdentifierError",
    "id_number_birth_date",
    "id_number_cell_is_number",
    "id_number_stored_as_number",
    "id_number_check_char",
    "id_number_sex",
    "mask_id_number",
    "mask_student_number",
    "redact_identifiers",
    "normalize_identifier",
    "student_number_kind",
    "upgrade_15_to_18",
    "validate_id_number",
    "validate_school_code",
    "validate_student_number",
]


class IdentifierError(ValueError):
    """An identifier failed validation.

    ``code`` is stable and meant for machines (e.g. ``"id_number.checksum"``);
    ``message`` is Simplified Chinese text meant for the end user.
    Subclassing ValueError lets generic callers treat it as bad input.
    """

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[IdentifierError], tuple[str, str]]:
        # The default Exception pickling replays ``args`` (== (message,)) into
        # __init__, which needs two arguments; errors must survive pickling
        # for multiprocessing / task queues.
        return (self.__class__, (self.code, self.message))


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

# Explicit full-width -> ASCII table instead of unicodedata NFKC: NFKC would
# also turn things like "①" or "²" into digits, silently accepting input that
# is not an identifier at all.  Chinese IMEs commonly produce full-width
# digits and letters, which is the only case we want to forgive.
_FULLWIDTH_TO_ASCII: Final = {
    **{0xFF10 + i: ord("0") + i for i in range(10)},  # ０-９
    **{0xFF21 + i: ord("A") + i for i in range(26)},  # Ａ-Ｚ
    **{0xFF41 + i: ord("a") + i for i in range(26)},  # ａ-ｚ (incl. ｘ)
}

# Zero-width characters are not str.isspace() but are routinely carried along
# when a number is copied from web pages, Word or Excel.
_INVISIBLE_CHARS: Final = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"}

_ASCII_LOWER_TO_UPPER: Final = str.maketrans(
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def normalize_identifier(raw: str) -> str:
    """Canonical form of a typed/pasted identifier.

    Removes all whitespace anywhere in the value (ASCII spaces, tabs, the
    ideographic space U+3000, NBSP U+00A0, ...) and zero-width characters,
    maps full-width digits/letters to ASCII and upper-cases ASCII letters.
    Only ASCII is upper-cased so that non-ASCII garbage keeps its length
    (e.g. "ß".upper() == "SS") and error messages report what was typed.
    """
    if raw.isascii() and raw.isalnum():  # the usual case, already clean: skip the character loop
        return raw.translate(_ASCII_LOWER_TO_UPPER)
    cleaned = "".join(ch for ch in raw if not ch.isspace() and ch not in _INVISIBLE_CHARS)
    return cleaned.translate(_FULLWIDTH_TO_ASCII).translate(_ASCII_LOWER_TO_UPPER)


# ---------------------------------------------------------------------------
# Citizen ID number (GB 11643-1999)
# ---------------------------------------------------------------------------

ID_NUMBER_LENGTH: Final = 18
OLD_ID_NUMBER_LENGTH: Final = 15

# ISO 7064 MOD 11-2 weights are 2**(17-i) mod 11 for positions i = 0..16,
# exactly the table printed in GB 11643-1999 section 8.2.
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_WEIGHT_OFFSET: Final = ord("0") * sum(_ID_WEIGHTS)
# Check value is (12 - r) mod 11 with 10 written as "X"; indexed by r.
_ID_CHECK_CHARS: Final = "10X98765432"

# GB/T 2260 province-level codes (first two digits of the area code).
# 71 Taiwan, 81 Hong Kong, 82 Macao; 83 is used by residence permits issued
# to Taiwan residents.  Only the province is checked: county codes are
# retired over time (e.g. 440524, former Chaoyang County, Shantou) but ID
# numbers issued under them remain valid for life, so a list of *current*
# divisions must never be used here.
_PROVINCE_CODES: Final = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47)]
    + [*range(50, 55), *range(61, 66), 71, 81, 82, 83]
)

# The lower bound is 1800, not 1900, because the public GB 11643 example
# 440524188001010014 carries birth year 1880 and must validate.
ID_NUMBER_MIN_BIRTH_YEAR: Final = 1800
# 学籍号 belong to school-age people; 1900 already is extremely generous.
STUDENT_NUMBER_MIN_BIRTH_YEAR: Final = 1900

# [0-9] rather than \d: in Python str patterns \d matches any Unicode digit
# (e.g. Arabic-Indic "٣"), which int() would accept but no standard allows.
_ID18_RE: Final = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS_RE: Final = re.compile(r"[0-9]+")


@functools.lru_cache(maxsize=8192)  # an import checks tens of thousands of IDs born on a few hundred days
def _parse_date(yyyymmdd: str) -> datetime.date | None:
    """Return the calendar date for an 8-digit YYYYMMDD string, or None if not a real date."""
    try:
        return datetime.date(int(yyyymmdd[0:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None


def _birth_date_problem(yyyymmdd: str, min_year: int) -> str | None:
    """Describe why ``yyyymmdd`` is not an acceptable birth date, or None if it is."""
    born = _parse_date(yyyymmdd)
    if born is None:
        return gettext("出生日期「%(yyyymmdd)s」不是有效的日期") % {"yyyymmdd": yyyymmdd}
    if born.year < min_year:
        return gettext("出生年份 %(year)s 早于 %(min_year)s 年") % {"year": born.year, "min_year": min_year}
    if born > datetime.date.today():
        return gettext("出生日期 %(date)s 晚于今天") % {"date": born.isoformat()}
    return None


def id_number_check_char(body17: str) -> str:
    """Check character for the first 17 digits of an ID number (ISO 7064 MOD 11-2)."""
    if len(body17) != 17 or not _DIGITS_RE.fullmatch(body17):
        raise IdentifierError("id_number.format", gettext("身份证号本体码应为17位数字"))
    return _check_char_of_digits(body17)


def _check_char_of_digits(body17: str) -> str:
    # The digits' code points are 48 + digit: one C-level pass, then subtract 48 × the weights' sum.
    remainder = (sum(map(operator.mul, body17.encode(), _ID_WEIGHTS)) - _ID_WEIGHT_OFFSET) % 11
    return _ID_CHECK_CHARS[remainder]


def _area_code_is_valid(area: str) -> bool:
    # "000000" is covered by the province check (00 is not a province), kept
    # explicit because it is the typical placeholder in bad legacy data.
    return (
        len(area) == 6
        and _DIGITS_RE.fullmatch(area) is not None
        and area != "000000"
        and int(area[:2]) in _PROVINCE_CODES
    )


# The check character a number should have is never named (see the module docstring).
ID_NUMBER_CHECKSUM_MESSAGE: Final = gettext_noop("身份证号校验位错误：号码中至少有一位与证件不符，请对照居民身份证或户口簿逐位核对")
# What Excel makes of an 18-digit number typed into a General or Number cell: it keeps 15
# significant digits, shows "4.40106E+17", and writes the number back to CSV either that way, in
# full with the last three digits zeroed, or (through other tools) with a ".0" tail. A final X cannot
# be a number at all: such a cell never becomes a number unless the X was dropped first.
# Marked with gettext_noop: shown translated where a message is put together (core/rows.py).
ID_NUMBER_STORED_AS_NUMBER: Final = gettext_noop(
    "表格把身份证号存成了数字：数字格式只保留15位有效数字，号码末几位已变成0（末位的X也会丢失），"
    "号码已不完整。请把该列的单元格格式设置为“文本”，再重新录入或从原始资料复制身份证号；"
    "不要按校验规则自行补写末位"
)
_SCIENTIFIC: Final = re.compile(r"[0-9]+(\.[0-9]+)?E\+?[0-9]+")
_DECIMAL_TAIL: Final = re.compile(r"[0-9]{15,18}\.0+")
# Beyond 15 significant digits a number cell cannot hold an ID number exactly.
_EXACT_LIMIT: Final = 10**15


def id_number_cell_is_number(raw: object) -> bool:
    """Whether a cell certainly holds an ID number a number format has cut: a number of 16 digits or
    more (an int or float, as calamine reads a number cell), or text in scientific notation
    ("4.40106E+17") or with a decimal tail ("440106201905120012.0")."""
    if isinstance(raw, bool):
        return False
    if isinstance(raw, (int, float)):
        return abs(raw) >= _EXACT_LIMIT
    if not isinstance(raw, str) or raw.isdigit():  # the usual ID cell: digits, nothing to look at
        return False
    text = normalize_identifier(raw).lstrip("'")
    return bool(_SCIENTIFIC.fullmatch(text) or _DECIMAL_TAIL.fullmatch(text))


def id_number_stored_as_number(raw: object) -> bool:
    """Whether ``raw`` is what a spreadsheet's number format made of an ID number.

    True for a number (int or float, as calamine reads a number cell) of 16 digits or more, for
    text in scientific notation ("4.40106E+17") or with a decimal tail ("440106201905120012.0"),
    and for the digits Excel writes back once the precision is gone: 18 digits ending in 000 or 17
    ending in 00 (a final X dropped as well). Text of those last two shapes is also a valid ID
    number now and then, so ``validate_id_number`` applies this only to numbers that fail.
    """
    if id_number_cell_is_number(raw):
        return True
    if not isinstance(raw, str):
        return False
    text = normalize_identifier(raw).lstrip("'")
    return text.isdigit() and (
        (len(text) == ID_NUMBER_LENGTH and text.endswith("000"))
        or (len(text) == ID_NUMBER_LENGTH - 1 and text.endswith("00"))
    )


def _stored_as_number() -> IdentifierError:
    return IdentifierError("id_number.stored_as_number", ID_NUMBER_STORED_AS_NUMBER)


# The fast check's parts: the weighted digit sum of a valid area code, of an acceptable birth day and
# of the three sequence digits, each computed once (a county's pupils share a few hundred area codes
# and a few thousand birth days), so that a stored number is judged by three look-ups and a sum.
_AREA_SUMS: dict[str, int | None] = {}
_BIRTH_SUMS: dict[tuple[str, str], int | None] = {}
_REMEMBERED = 100_000  # entries per table before it is emptied (a province scan meets 73,000 birth days)


def _weighted(digits: str, weights: Sequence[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


_SEQUENCE_SUMS: Final = {f"{n:03d}": _weighted(f"{n:03d}", _ID_WEIGHTS[14:17]) for n in range(1000)}


_UNKNOWN: Final = object()


def _remember(table: dict, key: object, value: int | None) -> int | None:
    if len(table) >= _REMEMBERED:
        table.clear()
    table[key] = value
    return value


def _acceptable_birth_day(yyyymmdd: str, today: str) -> bool:
    return (len(yyyymmdd) == 8 and _DIGITS_RE.fullmatch(yyyymmdd) is not None
            and (born := _parse_date(yyyymmdd)) is not None and born.year >= ID_NUMBER_MIN_BIRTH_YEAR
            and yyyymmdd <= today)


def is_valid_id_number(number: str, today: str | None = None) -> bool:
    """True when ``validate_id_number(number)`` would accept ``number`` as it is (already in its
    normalised 18-character form): the same checks as a boolean, from remembered parts. For scans
    over hundreds of thousands of stored numbers; False says only "ask ``validate_id_number``",
    which may still accept a number written in another form. ``today`` (``YYYYMMDD``) spares a
    scan reading the clock per number."""
    if len(number) != ID_NUMBER_LENGTH:
        return False
    area_code = number[:6]
    area = _AREA_SUMS.get(area_code, _UNKNOWN)
    if area is _UNKNOWN:
        area = _remember(_AREA_SUMS, area_code, _weighted(area_code, _ID_WEIGHTS[:6])
                         if _area_code_is_valid(area_code) else None)
    if area is None:
        return False
    today = today or datetime.date.today().strftime("%Y%m%d")
    day = (number[6:14], today)
    birth = _BIRTH_SUMS.get(day, _UNKNOWN)
    if birth is _UNKNOWN:
        birth = _remember(_BIRTH_SUMS, day, _weighted(day[0], _ID_WEIGHTS[6:14])
                          if _acceptable_birth_day(*day) else None)
    if birth is None:
        return False
    sequence = _SEQUENCE_SUMS.get(number[14:17])  # only three ASCII digits are keys
    return sequence is not None and number[17] == _ID_CHECK_CHARS[(area + birth + sequence) % 11]


def validate_id_number(raw: str) -> str:
    """Validate a citizen ID number and return its normalised 18-character form.

    Checks, in order: length, character format, GB/T 2260 province, birth date
    (real date, 1800..today) and the MOD 11-2 check character.  A lower-case
    check character "x" is accepted and returned as "X". A number that fails and
    looks like what a spreadsheet's number format leaves of an ID number
    (:func:`id_number_stored_as_number`) fails as ``id_number.stored_as_number``.
    """
    number = normalize_identifier(raw)

    if len(number) != ID_NUMBER_LENGTH:
        if id_number_stored_as_number(number):
            raise _stored_as_number()
        message = gettext("身份证号长度应为18位，实际为%(count)s位") % {"count": len(number)}
        if len(number) == OLD_ID_NUMBER_LENGTH and _DIGITS_RE.fullmatch(number):
            # 15-digit numbers (GB 11643-1989) were superseded; storing them
            # would break uniqueness against the 18-digit form of the same person.
            message += gettext("；15位旧号码需转换为18位")
        raise IdentifierError("id_number.length", message)

    if not _ID18_RE.fullmatch(number):
        raise IdentifierError(
            "id_number.format", gettext("身份证号格式错误：前17位必须是数字，最后一位是数字或X")
        )

    if not _area_code_is_valid(number[:6]):
        raise IdentifierError(
            "id_number.area",
            gettext("身份证号地址码「%(value)s」无效：前两位不是有效的省级行政区划代码") % {"value": number[:6]},
        )

    problem = _birth_date_problem(number[6:14], ID_NUMBER_MIN_BIRTH_YEAR)
    if problem is not None:
        raise IdentifierError("id_number.birth_date", gettext("身份证号中的%(problem)s") % {"problem": problem})

    if number[17] != _check_char_of_digits(number[:17]):  # the pattern above: 17 digits
        if id_number_stored_as_number(number):
            raise _stored_as_number()
        raise IdentifierError("id_number.checksum", gettext(ID_NUMBER_CHECKSUM_MESSAGE))
    return number


def upgrade_15_to_18(raw15: str) -> str:
    """Convert a GB 11643-1989 15-digit number to the GB 11643-1999 18-digit form.

    The old form stores a 2-digit year that always means 19xx; the new form
    inserts "19" after the 6-digit area code and appends the check character.
    The result is run through :func:`validate_id_number`, so bad area codes or
    dates raise the usual ``id_number.*`` errors.
    """
    number = normalize_identifier(raw15)
    if len(number) != OLD_ID_NUMBER_LENGTH:
        raise IdentifierError(
            "id_number.length", gettext("15位旧身份证号长度应为15位，实际为%(count)s位") % {"count": len(number)}
        )
    if not _DIGITS_RE.fullmatch(number):
        raise IdentifierError("id_number.format", gettext("15位旧身份证号必须全部是数字"))
    body17 = number[:6] + "19" + number[6:]
    return validate_id_number(body17 + id_number_check_char(body17))


def id_number_birth_date(id18: str) -> datetime.date:
    """Birth date encoded in an ID number (validated first, so the date is real)."""
    number = validate_id_number(id18)
    born = _parse_date(number[6:14])
    if born is None:  # unreachable after validate_id_number; narrows the type without assert
        raise IdentifierError("id_number.birth_date", gettext("身份证号中的出生日期无效"))
    return born


def id_number_sex(id18: str) -> str:
    """GB/T 2261.1 sex code from an ID number: "1" male, "2" female.

    GB 11643-1999 assigns odd sequence codes (17th digit) to men and even
    ones to women.
    """
    number = validate_id_number(id18)
    return "1" if int(number[16]) % 2 == 1 else "2"


def mask_id_number(id18: str) -> str:
    """Mask an ID number for display, e.g. "440106********123X".

    Deliberately does not validate: legacy or invalid values must be
    displayable too, and must never be shown in full.  18-character numbers
    keep the area code and the last 4 characters (the convention users
    recognise); other lengths keep the first 3 and last 2, and values too
    short to hide anything that way are masked completely.
    """
    number = normalize_identifier(id18)
    if len(number) == ID_NUMBER_LENGTH:
        return number[:6] + "*" * 8 + number[-4:]
    if len(number) <= 5:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 5) + number[-2:]


# ---------------------------------------------------------------------------
# National student number (全国中小学生学籍号)
# ---------------------------------------------------------------------------


def mask_student_number(number: str) -> str:
    """The one masking rule of the 学籍号, e.g. "G440106********123X".

    A G number *is* "G" + the person's ID number (possibly one since corrected), so it is masked
    exactly like the ID number. J and L numbers are issued by the register from a region code and
    the birth date (plus a sequence) and embed no ID number: they are shown as they are — the
    region and the birth date are on the same page anyway. Like ``mask_id_number`` this never
    validates: a malformed G number is still masked.
    """
    number = (number or "").strip()
    if number[:1].upper() == "G" and len(number) > 1:
        return number[0] + mask_id_number(number[1:])
    return number


# An ID-number-like run inside free text: 15–20 digits (the last may be X), optionally behind a
# 学籍号 letter, not glued to other letters or digits.
_IDENTIFIER_IN_TEXT: Final = re.compile(r"(?<![0-9A-Za-z])([GJLgjl]?)([0-9]{14,19}[0-9Xx])(?![0-9A-Za-z])")


def _looks_like_old_id(digits: str) -> bool:
    """A 15-digit run that could be a GB 11643-1989 number (area, then a real 19YYMMDD date);
    the platform's own 15-digit staff numbers (county + year + sequence) do not."""
    return digits.isdigit() and _area_code_is_valid(digits[:6]) and _parse_date("19" + digits[6:12]) is not None


def _redact_match(match: re.Match[str]) -> str:
    prefix, digits = match.group(1), match.group(2)
    if prefix.upper() in ("J", "L") and len(digits) == ID_NUMBER_LENGTH:
        return match.group(0)  # a register-issued number, no ID inside
    if len(digits) == OLD_ID_NUMBER_LENGTH and not prefix and not _looks_like_old_id(digits):
        return match.group(0)
    return prefix + mask_id_number(digits)


def redact_identifiers(text: str) -> str:
    """``text`` with every ID number (and G 学籍号) in it masked: for messages, reports and audit
    views that may quote one. Runs of 16–20 digits are masked whatever they are (a mistyped ID
    number is one digit off a real person's); 15-digit runs only when shaped like an old ID number."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    return _IDENTIFIER_IN_TEXT.sub(_redact_match, text)


STUDENT_NUMBER_LENGTH: Final = 19
_STUDENT_NUMBER_KINDS: Final = ("G", "J", "L")


def validate_student_number(raw: str) -> str:
    """Validate a 全国中小学生学籍号 and return it normalised (upper case).

    * ``G`` + the student's 18-character citizen ID number;
    * ``J`` + 6-digit region code + 8-digit birth date + 3-digit sequence +
      MOD 11-2 check character (built like an ID number, for students
      without one);
    * ``L`` + 6-digit region code + 8-digit birth date + 4 digits (temporary
      number, no check character).

    Birth dates must be real dates between 1900 and today for all kinds.
    """
    number = normalize_identifier(raw)

    if len(number) != STUDENT_NUMBER_LENGTH:
        raise IdentifierError("student_number.length", gettext("学籍号长度应为19位，实际为%(count)s位") % {"count": len(number)})

    kind = number[0]
    if kind not in _STUDENT_NUMBER_KINDS:
        raise IdentifierError(
            "student_number.prefix", gettext("学籍号首字母必须是 G、J 或 L，实际为「%(kind)s」") % {"kind": kind}
        )

    if kind == "G":
        try:
            validate_id_number(number[1:])
        except IdentifierError as exc:
            # Say which ID check failed so staff can fix the right digit. A G number is text (its
            # letter), so a spreadsheet cannot have made a number of it: trailing zeros are a typo.
            message = gettext(ID_NUMBER_CHECKSUM_MESSAGE) if exc.code == "id_number.stored_as_number" else exc.message
            raise IdentifierError(
                "student_number.embedded_id", gettext("学籍号中的身份证号无效：%(message)s") % {"message": message}
            ) from exc
    elif kind == "J":
        if not _ID18_RE.fullmatch(number[1:]):
            raise IdentifierError(
                "student_number.format",
                gettext("J字头学籍号格式错误：J后应为17位数字加1位校验位（数字或X）"),
            )
    elif not _DIGITS_RE.fullmatch(number[1:]):
        raise IdentifierError("student_number.format", gettext("L字头学籍号格式错误：L后应为18位数字"))

    # Checked for G too: the embedded ID accepts births back to 1800, which
    # is not plausible for a school student.
    problem = _birth_date_problem(number[7:15], STUDENT_NUMBER_MIN_BIRTH_YEAR)
    if problem is not None:
        raise IdentifierError("student_number.birth_date", gettext("学籍号中的%(problem)s") % {"problem": problem})

    if kind == "J" and number[18] != id_number_check_char(number[1:18]):
        raise IdentifierError(
            "student_number.checksum",
            gettext("学籍号校验位错误：号码中至少有一位与学籍系统中的不符，请对照学籍系统逐位核对"),
        )
    return number


def student_number_kind(number: str) -> str:
    """Kind of a student number: "G" (citizen ID based), "J" or "L" (temporary).

    Validates first so that a kind is never reported for an invalid number.
    """
    return validate_student_number(number)[0]


# ---------------------------------------------------------------------------
# School (institution) identifier (学校(机构)标识码)
# ---------------------------------------------------------------------------

SCHOOL_CODE_LENGTH: Final = 10
_SCHOOL_CODE_RE: Final = re.compile(r"[0-9]{10}")
# Echoed values are truncated so a pasted paragraph cannot bloat messages/logs.
_MAX_ECHO_CHARS: Final = 20


def validate_school_code(raw: str) -> str:
    """Validate a 10-digit 学校(机构)标识码 and return it normalised."""
    code = normalize_identifier(raw)
    if not _SCHOOL_CODE_RE.fullmatch(code):
        shown = code if len(code) <= _MAX_ECHO_CHARS else code[:_MAX_ECHO_CHARS] + "…"
        raise IdentifierError("school_code.format", gettext("学校标识码应为10位数字，实际为「%(shown)s」") % {"shown": shown})
    return code
