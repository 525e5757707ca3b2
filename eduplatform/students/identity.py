"""A student's identifiers: the sealed ID number and phone (``core.identity``), and the lifelong 学籍号."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from django.utils.translation import gettext

from eduplatform.core.identity import RESIDENT_ID_CARD

# The one masking rule of the 学籍号 (a G number is masked like the ID number it embeds); who sees
# it masked is decided by ``core.identity.student_number_for``.
from eduplatform.standards.validators import mask_student_number

__all__ = ["issue_student_number", "mask_student_number"]


def issue_student_number(
    *, id_type: str, id_number: str, region_code: str, birth_date: dt.date, is_taken: Callable[[str], bool]
) -> str:
    """G + ID number for a resident ID card; otherwise a temporary L number (region, birth date,
    4 random digits) that a later L → G event replaces. ``is_taken`` covers numbers in use and
    retired ones: a 学籍号 is never issued twice (so when G + this ID already belongs to someone
    whose ID number was since corrected, the newcomer gets an L number)."""
    if id_type == RESIDENT_ID_CARD and len(id_number) == 18 and not is_taken("G" + id_number):
        return "G" + id_number
    stem = f"L{region_code[:6]}{birth_date:%Y%m%d}"
    for _ in range(200):
        candidate = f"{stem}{secrets.randbelow(10_000):04d}"
        if not is_taken(candidate):
            return candidate
    raise RuntimeError(gettext("该地区该出生日期的临时学籍号已用尽"))
