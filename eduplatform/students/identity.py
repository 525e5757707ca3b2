"""A student's identifiers: the sealed ID number and phone, and the lifelong 学籍号.

The platform never stores an ID number in the clear: ``seal_id_number`` gives the ciphertext, the
blind index that finds and de-duplicates it, and the masked form every page shows.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from eduplatform.core import crypto
from eduplatform.standards.validators import mask_id_number

RESIDENT_ID_CARD = "1"  # 居民身份证 in the id_type table
NO_DOCUMENT = "Z"  # 其他: the ID number may be missing


@dataclass(frozen=True)
class Sealed:
    cipher: str
    index: str
    masked: str


EMPTY = Sealed("", "", "")


class Sealer:
    """The functions below with the keys looked up once, for a batch of students."""

    def __init__(self) -> None:
        self._cipher = crypto.Cipher()

    def id_index(self, id_type: str, number: str) -> str:
        # The type is part of the indexed value: a passport and an ID card may share digits.
        return self._cipher.blind_index(f"{id_type}:{number}", "id") if number else ""

    def id_number(self, id_type: str, number: str, *, index: str | None = None) -> Sealed:
        """``index`` may be passed when already computed (a batch computes it once for its checks)."""
        if not number:
            return EMPTY
        return Sealed(self._cipher.encrypt(number), index or self.id_index(id_type, number), mask_id_number(number))

    def phone(self, phone: str) -> Sealed:
        if not phone:
            return EMPTY
        return Sealed(self._cipher.encrypt(phone), "", crypto.mask_phone(phone))


def seal_id_number(id_type: str, number: str, *, index: str | None = None) -> Sealed:
    return Sealer().id_number(id_type, number, index=index) if number else EMPTY


def id_index(id_type: str, number: str) -> str:
    return Sealer().id_index(id_type, number) if number else ""


def seal_phone(phone: str) -> Sealed:
    return Sealer().phone(phone) if phone else EMPTY


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
    raise RuntimeError("该地区该出生日期的临时学籍号已用尽")
