"""Requirements for identifier validation (GB 11643-1999, 学籍号, 学校标识码).

Pure functions: no database, no Django settings needed.
"""

from __future__ import annotations

import datetime
import pickle

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from eduplatform.standards.validators import (
    ID_NUMBER_CHECKSUM_MESSAGE,
    ID_NUMBER_STORED_AS_NUMBER,
    IdentifierError,
    id_number_birth_date,
    id_number_check_char,
    id_number_sex,
    is_valid_id_number,
    mask_id_number,
    normalize_identifier,
    student_number_kind,
    upgrade_15_to_18,
    validate_id_number,
    validate_school_code,
    validate_student_number,
)

# Public examples (DOMAIN.md).
FEMALE_1949 = "11010519491231002X"
HISTORICAL_440524 = "440524188001010014"
WRONG_CHECK_DIGIT = "440308199901011237"  # correct check digit is 4

PROVINCE_CODES = [
    *range(11, 16),
    *range(21, 24),
    *range(31, 38),
    *range(41, 47),
    *range(50, 55),
    *range(61, 66),
    71,
    81,
    82,
    83,
]
CHECK_CHARS = "0123456789X"


def with_check_char(body17: str) -> str:
    return body17 + id_number_check_char(body17)


def error_of(func, value: str) -> IdentifierError:
    with pytest.raises(IdentifierError) as excinfo:
        func(value)
    return excinfo.value


# --- strategies -------------------------------------------------------------

area_codes = st.builds(
    lambda province, rest: f"{province:02d}{rest:04d}",
    st.sampled_from(PROVINCE_CODES),
    st.integers(min_value=0, max_value=9999),
)
id_birth_dates = st.dates(min_value=datetime.date(1800, 1, 1), max_value=datetime.date.today())
student_birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date.today())
sequences = st.integers(min_value=0, max_value=999).map(lambda n: f"{n:03d}")


@st.composite
def valid_id_numbers(
    draw: st.DrawFn, dates: st.SearchStrategy[datetime.date] = id_birth_dates
) -> str:
    body17 = draw(area_codes) + draw(dates).strftime("%Y%m%d") + draw(sequences)
    return with_check_char(body17)


# --- IdentifierError ----------------------------------------------------------


def test_error_carries_machine_code_and_chinese_message() -> None:
    err = IdentifierError("id_number.checksum", "身份证号校验位错误")
    assert err.code == "id_number.checksum"
    assert err.message == "身份证号校验位错误"
    assert str(err) == "身份证号校验位错误"
    assert isinstance(err, ValueError)


def test_error_survives_pickling_for_task_queues() -> None:
    payload = pickle.dumps(IdentifierError("school_code.format", "学校标识码应为10位数字"))
    err = pickle.loads(payload)  # noqa: S301 -- our own payload, not untrusted data
    assert (err.code, err.message) == ("school_code.format", "学校标识码应为10位数字")


# --- normalisation ----------------------------------------------------------


def test_normalize_removes_ascii_fullwidth_and_nbsp_spaces() -> None:
    raw = " 440106\u30001999\u00a00101 123x\t\u200b"
    assert normalize_identifier(raw) == "44010619990101123X"


def test_normalize_converts_fullwidth_digits_and_letters() -> None:
    assert normalize_identifier("１２３ｘＸａＺ") == "123XXAZ"


def test_normalize_does_not_turn_circled_or_superscript_digits_into_digits() -> None:
    assert normalize_identifier("①²") == "①²"


# --- ID number: fixed public cases -------------------------------------------


def test_public_example_ids_are_valid() -> None:
    assert validate_id_number(FEMALE_1949) == FEMALE_1949
    assert validate_id_number(HISTORICAL_440524) == HISTORICAL_440524


def test_historical_area_code_440524_stays_valid() -> None:
    # 440524 is no longer a current division; numbers issued under it stay valid for life.
    assert validate_id_number(HISTORICAL_440524) == HISTORICAL_440524
    assert validate_id_number(with_check_char("44052420100101123")).startswith("440524")


def test_wrong_check_digit_is_reported_without_the_digit_it_should_be() -> None:
    # Naming the expected digit ("应为 4") would invite a clerk to forge a valid-looking number.
    err = error_of(validate_id_number, WRONG_CHECK_DIGIT)
    assert err.code == "id_number.checksum"
    assert err.message == ID_NUMBER_CHECKSUM_MESSAGE
    assert "应为" not in err.message and "4" not in err.message


def test_check_char_matches_gb11643_examples() -> None:
    assert id_number_check_char(FEMALE_1949[:17]) == "X"
    assert id_number_check_char(HISTORICAL_440524[:17]) == "4"
    assert id_number_check_char(WRONG_CHECK_DIGIT[:17]) == "4"


def test_check_char_requires_17_ascii_digits() -> None:
    for bad in ["1234567890123456", "123456789012345678", "1234567890123456X", "١" * 17]:
        assert error_of(id_number_check_char, bad).code == "id_number.format"


def test_lowercase_x_is_normalised_to_uppercase() -> None:
    assert validate_id_number("11010519491231002x") == FEMALE_1949


def test_fullwidth_digits_and_spaces_are_normalised() -> None:
    assert validate_id_number("１１０１０５\u3000１９４９１２３１ ００２ｘ") == FEMALE_1949


# --- ID number: length and format ------------------------------------------


def test_wrong_length_message_shows_given_and_allowed_length() -> None:
    err = error_of(validate_id_number, "4401061999")
    assert err.code == "id_number.length"
    assert "18位" in err.message
    assert "10位" in err.message


def test_old_15_digit_number_is_rejected_with_upgrade_hint() -> None:
    err = error_of(validate_id_number, "110105491231002")
    assert err.code == "id_number.length"
    assert "15位旧号码需转换为18位" in err.message


def test_error_messages_never_echo_the_full_id_number() -> None:
    for bad in [WRONG_CHECK_DIGIT, "44010619990230123X", "99010619990101123X"]:
        assert bad not in error_of(validate_id_number, bad).message


@pytest.mark.parametrize(
    "bad",
    [
        "44010619990101123Y",  # last char neither digit nor X
        "4401061999010112X3",  # X only allowed in last position
        "44010619990101١234",  # Arabic-Indic digit is not an ASCII digit
        "440106-99901011234",
    ],
)
def test_non_digit_body_or_bad_last_char_is_a_format_error(bad: str) -> None:
    err = error_of(validate_id_number, bad)
    assert err.code == "id_number.format"
    assert "前17位必须是数字，最后一位是数字或X" in err.message


# --- ID number: area code ------------------------------------------------------


@pytest.mark.parametrize("area", ["000000", "990106", "100106", "160106", "720106", "910106"])
def test_area_code_must_start_with_a_province_code(area: str) -> None:
    err = error_of(validate_id_number, with_check_char(area + "19990101123"))
    assert err.code == "id_number.area"


@pytest.mark.parametrize(
    "area", ["110000", "440106", "650100", "710000", "810000", "820000", "830000"]
)
def test_all_listed_province_codes_are_accepted(area: str) -> None:
    assert validate_id_number(with_check_char(area + "19990101123"))


# --- ID number: birth date -----------------------------------------------------


@pytest.mark.parametrize(
    "yyyymmdd", ["20230230", "19990231", "19991301", "19990001", "19990100", "19000229"]
)
def test_impossible_calendar_dates_are_rejected(yyyymmdd: str) -> None:
    err = error_of(validate_id_number, with_check_char("440106" + yyyymmdd + "123"))
    assert err.code == "id_number.birth_date"


def test_leap_day_in_leap_year_is_valid() -> None:
    assert validate_id_number(with_check_char("44010620000229123"))


def test_future_birth_date_is_rejected() -> None:
    # A whole year ahead so the test cannot flip around midnight.
    future = datetime.date(datetime.date.today().year + 1, 1, 1).strftime("%Y%m%d")
    err = error_of(validate_id_number, with_check_char("440106" + future + "123"))
    assert err.code == "id_number.birth_date"


def test_born_today_is_valid() -> None:
    today = datetime.date.today().strftime("%Y%m%d")
    assert validate_id_number(with_check_char("440106" + today + "123"))


def test_birth_year_before_1800_is_rejected() -> None:
    err = error_of(validate_id_number, with_check_char("44010617991231123"))
    assert err.code == "id_number.birth_date"


# --- ID number: properties -----------------------------------------------------


@given(valid_id_numbers())
def test_any_well_formed_number_with_computed_check_char_validates(number: str) -> None:
    assert validate_id_number(number) == number


@given(valid_id_numbers(), st.sampled_from(CHECK_CHARS))
def test_any_other_check_char_fails_with_checksum_code(number: str, other: str) -> None:
    assume(other != number[17])
    err = error_of(validate_id_number, number[:17] + other)
    # One fixed sentence whatever the number: it cannot carry the right check character. A body
    # ending in 00 with a final 0 is also what Excel leaves of a number, and said to be so.
    if (number[15:17] + other) == "000":
        assert (err.code, err.message) == ("id_number.stored_as_number", ID_NUMBER_STORED_AS_NUMBER)
    else:
        assert (err.code, err.message) == ("id_number.checksum", ID_NUMBER_CHECKSUM_MESSAGE)


@given(valid_id_numbers(), st.integers(min_value=0, max_value=16), st.integers(0, 9))
def test_any_single_digit_change_in_body_is_detected(
    number: str, position: int, digit: int
) -> None:
    assume(number[position] != str(digit))
    mutated = number[:position] + str(digit) + number[position + 1 :]
    # MOD 11-2 alone detects every single substitution ...
    assert id_number_check_char(mutated[:17]) != number[17]
    # ... so the validator rejects it (possibly earlier, via area or date).
    err = error_of(validate_id_number, mutated)
    assert err.code in {"id_number.area", "id_number.birth_date", "id_number.checksum", "id_number.stored_as_number"}


@given(valid_id_numbers(), st.integers(min_value=0, max_value=15))
def test_any_adjacent_transposition_in_body_is_detected(number: str, position: int) -> None:
    assume(number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert id_number_check_char(swapped[:17]) != number[17]


# --- 15 -> 18 upgrade ------------------------------------------------------------


def test_upgrade_15_to_18_reproduces_public_example() -> None:
    assert upgrade_15_to_18("110105491231002") == FEMALE_1949


@given(valid_id_numbers(st.dates(datetime.date(1900, 1, 1), datetime.date(1999, 12, 31))))
def test_upgrade_15_to_18_gives_valid_number_with_same_birth_date(number18: str) -> None:
    old15 = number18[:6] + number18[8:17]
    upgraded = upgrade_15_to_18(old15)
    assert upgraded == number18
    assert validate_id_number(upgraded) == upgraded
    assert id_number_birth_date(upgraded) == id_number_birth_date(number18)


def test_upgrade_rejects_wrong_length_and_non_digits() -> None:
    assert error_of(upgrade_15_to_18, FEMALE_1949).code == "id_number.length"
    assert error_of(upgrade_15_to_18, "11010549123100X").code == "id_number.format"


def test_upgrade_rejects_impossible_old_dates() -> None:
    assert error_of(upgrade_15_to_18, "110105490231002").code == "id_number.birth_date"


# --- extraction and masking ------------------------------------------------------


def test_birth_date_is_extracted() -> None:
    assert id_number_birth_date(FEMALE_1949) == datetime.date(1949, 12, 31)
    assert id_number_birth_date(HISTORICAL_440524) == datetime.date(1880, 1, 1)


def test_sex_follows_gb_t_2261_1_from_sequence_parity() -> None:
    assert id_number_sex(FEMALE_1949) == "2"  # sequence 002: even
    assert id_number_sex(HISTORICAL_440524) == "1"  # sequence 001: odd


@given(valid_id_numbers())
def test_sex_is_male_exactly_when_17th_digit_is_odd(number: str) -> None:
    assert id_number_sex(number) == ("1" if int(number[16]) % 2 else "2")


def test_extraction_rejects_invalid_numbers() -> None:
    assert error_of(id_number_birth_date, WRONG_CHECK_DIGIT).code == "id_number.checksum"
    assert error_of(id_number_sex, WRONG_CHECK_DIGIT).code == "id_number.checksum"


def test_mask_keeps_area_code_and_last_four() -> None:
    assert mask_id_number("44010619991231123X") == "440106********123X"
    assert mask_id_number("11010519491231002x") == "110105********002X"


def test_mask_other_lengths_keeps_first_three_and_last_two() -> None:
    assert mask_id_number("110105491231002") == "110**********02"
    assert mask_id_number("123456") == "123*56"


def test_mask_never_reveals_very_short_values() -> None:
    assert mask_id_number("12345") == "*****"
    assert mask_id_number("") == ""


# --- 学籍号 ---------------------------------------------------------------------------

VALID_G = "G" + FEMALE_1949
VALID_J = "J" + with_check_char("44010620150901123")
VALID_L = "L440106201509011234"


def test_valid_student_numbers_of_each_kind() -> None:
    for number in (VALID_G, VALID_J, VALID_L):
        assert validate_student_number(number) == number


def test_student_number_is_normalised_to_upper_case() -> None:
    assert validate_student_number("g11010519491231002x") == VALID_G
    assert validate_student_number(" ｊ" + VALID_J[1:]) == VALID_J


def test_student_number_kind() -> None:
    assert student_number_kind(VALID_G) == "G"
    assert student_number_kind(VALID_J.lower()) == "J"
    assert student_number_kind(VALID_L) == "L"
    assert error_of(student_number_kind, "X440106201509011234").code == "student_number.prefix"


@pytest.mark.parametrize("bad", [FEMALE_1949, VALID_L + "0", ""])
def test_student_number_must_have_19_characters(bad: str) -> None:
    err = error_of(validate_student_number, bad)
    assert err.code == "student_number.length"
    assert "19位" in err.message


def test_student_number_prefix_must_be_g_j_or_l() -> None:
    err = error_of(validate_student_number, "X440106201509011234")
    assert err.code == "student_number.prefix"
    assert "首字母必须是 G、J 或 L" in err.message


@pytest.mark.parametrize(
    "bad", ["L44010620150901123X", "LA40106201509011234", "J4401062015090112X3"]
)
def test_student_number_format_errors(bad: str) -> None:
    assert error_of(validate_student_number, bad).code == "student_number.format"


def test_g_number_with_bad_embedded_id_names_the_failed_check() -> None:
    err = error_of(validate_student_number, "G" + WRONG_CHECK_DIGIT)
    assert err.code == "student_number.embedded_id"
    assert ID_NUMBER_CHECKSUM_MESSAGE in err.message and "应为" not in err.message
    assert isinstance(err.__cause__, IdentifierError)
    assert err.__cause__.code == "id_number.checksum"


def test_g_number_embedded_area_or_format_errors_are_embedded_id_errors() -> None:
    assert error_of(validate_student_number, "G" + with_check_char("99010620150901123")).code == (
        "student_number.embedded_id"
    )
    assert error_of(validate_student_number, "G44010620150901123Y").code == (
        "student_number.embedded_id"
    )


def test_g_number_with_id_born_before_1900_is_a_birth_date_error() -> None:
    # The ID itself is valid (ID numbers allow 1800+), but no student is born in 1880.
    err = error_of(validate_student_number, "G" + HISTORICAL_440524)
    assert err.code == "student_number.birth_date"


@pytest.mark.parametrize("prefix", ["J", "L"])
@pytest.mark.parametrize("yyyymmdd", ["20230230", "18991231"])
def test_j_and_l_numbers_need_real_birth_date_from_1900(prefix: str, yyyymmdd: str) -> None:
    body = "440106" + yyyymmdd + "123"
    number = "J" + with_check_char(body) if prefix == "J" else "L" + body + "4"
    assert error_of(validate_student_number, number).code == "student_number.birth_date"


def test_j_and_l_numbers_reject_future_birth_dates() -> None:
    future = datetime.date(datetime.date.today().year + 1, 1, 1).strftime("%Y%m%d")
    j_number = "J" + with_check_char("440106" + future + "123")
    l_number = "L440106" + future + "1234"
    assert error_of(validate_student_number, j_number).code == "student_number.birth_date"
    assert error_of(validate_student_number, l_number).code == "student_number.birth_date"


def test_j_number_wrong_check_char_does_not_name_the_right_one() -> None:
    wrong = "0" if VALID_J[-1] != "0" else "1"
    err = error_of(validate_student_number, VALID_J[:-1] + wrong)
    assert err.code == "student_number.checksum"
    assert "校验位错误" in err.message
    assert "应为" not in err.message and VALID_J[-1] not in err.message


@given(valid_id_numbers(student_birth_dates))
def test_any_valid_id_prefixed_with_g_is_a_valid_student_number(number: str) -> None:
    assert validate_student_number("G" + number) == "G" + number


@given(valid_id_numbers(student_birth_dates), st.sampled_from(CHECK_CHARS))
def test_j_numbers_use_the_same_mod_11_2_check_as_id_numbers(number: str, other: str) -> None:
    assert validate_student_number("J" + number) == "J" + number
    assume(other != number[17])
    err = error_of(validate_student_number, "J" + number[:17] + other)
    assert err.code == "student_number.checksum"


@given(area_codes, student_birth_dates, st.integers(0, 9999))
def test_l_numbers_have_no_check_char(area: str, born: datetime.date, tail: int) -> None:
    number = f"L{area}{born:%Y%m%d}{tail:04d}"
    assert validate_student_number(number) == number


# --- 学校标识码 ------------------------------------------------------------------------


def test_ten_digit_school_code_is_valid() -> None:
    assert validate_school_code("3144000123") == "3144000123"


def test_school_code_fullwidth_digits_and_spaces_are_normalised() -> None:
    assert validate_school_code(" ３１４４０００１２３\u3000") == "3144000123"


@pytest.mark.parametrize("bad", ["314400012", "31440001234", "31440A0123", "", "３１４４-000123"])
def test_school_code_must_be_exactly_ten_digits(bad: str) -> None:
    err = error_of(validate_school_code, bad)
    assert err.code == "school_code.format"
    assert "10位" in err.message


def test_school_code_message_shows_what_was_given() -> None:
    assert "实际为「314400012」" in error_of(validate_school_code, "314400012").message


def test_school_code_message_truncates_long_input() -> None:
    err = error_of(validate_school_code, "9" * 500)
    assert "9" * 21 not in err.message
    assert "…" in err.message


def _accepted_as_is(value: str) -> bool:
    try:
        return validate_id_number(value) == value
    except IdentifierError:
        return False


@given(valid_id_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789Xx /-٣１²"))
def test_the_fast_check_says_valid_exactly_when_validation_accepts_the_number_as_it_is(
        number: str, position: int, char: str) -> None:
    """The quality scans skip the full validation when ``is_valid_id_number`` says yes: it must
    never say yes to a number the full check refuses, nor no to a stored valid one."""
    changed = number[:position] + char + number[position + 1:]
    for value in (number, changed, number[:17], number + "1", "000000" + number[6:], number[:6] + "18000230" + number[14:]):
        assert is_valid_id_number(value) == _accepted_as_is(value), value


def test_the_fast_check_refuses_a_birth_day_after_today() -> None:
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    number = with_check_char("440106" + tomorrow.strftime("%Y%m%d") + "123")
    assert not is_valid_id_number(number) and not _accepted_as_is(number)
    assert is_valid_id_number(number, today=tomorrow.strftime("%Y%m%d"))  # the day passed in is the bound
