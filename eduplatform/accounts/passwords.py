"""Password policy of the platform: at least 10 characters from at least 3 of 4 character classes,
not a common password, not a sequence or keyboard walk."""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy

MIN_LENGTH = 10
CLASSES = (
    (re.compile(r"[a-z]"), gettext_lazy("小写字母")),
    (re.compile(r"[A-Z]"), gettext_lazy("大写字母")),
    (re.compile(r"[0-9]"), gettext_lazy("数字")),
    (re.compile(r"[^a-zA-Z0-9]"), gettext_lazy("特殊字符")),
)


class ComplexityPasswordValidator:
    def validate(self, password: str, user=None) -> None:
        problems = []
        if len(password) < MIN_LENGTH:
            problems.append(gettext("密码长度至少 %(min_length)s 位（当前 %(count)s 位）") % {"min_length": MIN_LENGTH, "count": len(password)})
        present = [name for pattern, name in CLASSES if pattern.search(password)]
        if len(present) < 3:
            missing = "、".join(str(name) for pattern, name in CLASSES if not pattern.search(password))
            problems.append(gettext("密码须包含大写字母、小写字母、数字、特殊字符中的至少3类（缺少：%(missing)s）") % {"missing": missing})
        if problems:
            raise ValidationError("；".join(problems), code="password_policy")

    def get_help_text(self) -> str:
        return gettext("密码至少 %(min_length)s 位，且包含大写字母、小写字母、数字、特殊字符中的至少3类。") % {"min_length": MIN_LENGTH}


# --- common passwords and predictable patterns (issue 17) ------------------------------------------

# Shifted digit keys typed instead of the digit ("1qaz@WSX" is the walk 1qaz2wsx).
_SHIFTED = dict(zip("!@#$%^&*()", "1234567890", strict=True))
# Letter look-alikes: P@ssw0rd is password.
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "3": "e", "$": "s", "5": "s", "7": "t", "!": "i"})
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_COLUMNS = ("1qaz", "2wsx", "3edc", "4rfv", "5tgb", "6yhn", "7ujm", "8ik", "9ol", "0p")
_EDGE = re.compile(r"^[^a-z]+|[^a-z]+$")
COMMON_ZH_LIST = Path(__file__).resolve().parents[2] / "data" / "security" / "common-passwords-zh.txt"


def _neighbours() -> dict[str, set[str]]:
    near: dict[str, set[str]] = {}
    for line in _ROWS + _COLUMNS:
        for a, b in itertools.pairwise(line):
            near.setdefault(a, set()).add(b)
            near.setdefault(b, set()).add(a)
    return near


_NEAR = _neighbours()


def _adjacent(a: str, b: str) -> bool:
    """Same key, next in the alphabet or digits (either way), or next on the keyboard."""
    if a == b or b in _NEAR.get(a, ()):
        return True
    return a.isalnum() and b.isalnum() and a.isdigit() == b.isdigit() and abs(ord(a) - ord(b)) == 1


def predictable_share(password: str) -> tuple[int, int]:
    """(characters inside runs of 3+ sequential, repeated or keyboard-adjacent keys, total length)."""
    text = "".join(_SHIFTED.get(c, c) for c in password.lower())
    covered, start = 0, 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not _adjacent(text[i - 1], text[i]):
            if i - start >= 3:
                covered += i - start
            start = i
    return covered, len(text)


@functools.cache
def _common_passwords() -> frozenset[str]:
    from django.contrib.auth.password_validation import CommonPasswordValidator as DjangoCommon

    words = set(DjangoCommon().passwords)  # Django's 20,000 (from Royal Bank of Scotland's list)
    for line in COMMON_ZH_LIST.read_text(encoding="utf-8").splitlines():
        line = line.strip().lower()
        if line and not line.startswith("#"):
            words.add(line)
    return frozenset(words)


def _variants(password: str) -> set[str]:
    """The forms of a password an attacker's list would hold: as typed, without the digits and
    symbols added at either end (Qwerty123! → qwerty), and with look-alikes undone (P@ssw0rd → password)."""
    lower = password.lower().strip()
    forms = {lower, _EDGE.sub("", lower), lower.translate(_LEET)}
    forms.add(_EDGE.sub("", lower.translate(_LEET)))
    forms.add(re.sub(r"[^a-z0-9]+$", "", lower))
    return {f for f in forms if f}


class CommonPasswordValidator:
    """Refuses passwords from Django's list and from data/security/common-passwords-zh.txt, also
    when decorated with digits/symbols at the ends or written with look-alike characters."""

    def validate(self, password: str, user=None) -> None:
        common = _common_passwords()
        if any(form in common for form in _variants(password)):
            raise ValidationError(
                gettext("密码过于常见（属于常用密码或其简单变形，如 Qwerty123!、P@ssw0rd12），容易被猜中，请换一个"), code="password_common"
            )

    def get_help_text(self) -> str:
        return gettext("不能使用常用密码及其简单变形。")


class SequencePasswordValidator:
    """Refuses passwords made (almost) only of sequences and keyboard walks: abcd, 1234, qwerty, 1qaz."""

    MIN_UNPREDICTABLE = 4

    def validate(self, password: str, user=None) -> None:
        covered, total = predictable_share(password)
        if total - covered < self.MIN_UNPREDICTABLE:
            raise ValidationError(
                gettext("密码主要由连续字符、重复字符或键盘相邻按键组成（如 abcd、1234、qwerty、1qaz@WSX），容易被猜中，请换一个"),
                code="password_sequence",
            )

    def get_help_text(self) -> str:
        return gettext("不能主要由连续、重复字符或键盘相邻按键组成。")
