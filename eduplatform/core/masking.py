"""Who reads which personal field in clear and who reads it masked: the one table (``RULES``).

Pages, exports and the API ask this module instead of deciding for themselves. The only right that
matters is the sensitive-view right (``records.view_sensitive``, granted to the school data clerk
and the province officer; for the API, the client must also be allowed personal data —
``exchange.rights.may_see_personal``). docs/personal-data.md prints the table.

Three outcomes:

* ``CLEAR`` — the value as stored;
* ``MASKED`` — the masked form (``440106********123X``, ``138****8000``, ``广州市越秀区****``, ``张*``);
* ``REVEAL`` — masked, and in clear only through the record's "show in full" button, which writes an
  audit entry each time (``students.services.reveal_identifiers``, ``staff.services.reveal_identifiers``).
  Lists and exports never show these in clear: a list of a school's pupils with full ID numbers is
  the most valuable thing to leak, and a purpose-stated export is still a copy outside the platform.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Protocol

from eduplatform.core import crypto
from eduplatform.standards.validators import mask_id_number, mask_student_number, redact_identifiers

# The right to read identifiers in full (accounts.roles grants it; named here so that every layer
# can check it without importing accounts).
VIEW_SENSITIVE = "records.view_sensitive"


class PersonalField(StrEnum):
    ID_NUMBER = "id_number"  # 身份证件号 (students, staff, administrators)
    PHONE = "phone"  # 联系电话
    GUARDIAN_PHONE = "guardian_phone"  # 家庭成员联系电话
    GUARDIAN_NAME = "guardian_name"  # 家庭成员姓名
    ADDRESS = "address"  # 现住址、通信地址、家庭地址
    STUDENT_NUMBER = "student_number"  # 学籍号: a G number is "G" + the ID number
    STAFF_NUMBER = "staff_number"  # 教职工号: some units typed ID numbers as 工号
    FREE_TEXT = "free_text"  # notes, audit labels and before/after values that may quote identifiers


class Channel(StrEnum):
    PAGE = "page"
    EXPORT = "export"
    API = "api"


class Shown(StrEnum):
    CLEAR = "clear"
    MASKED = "masked"
    REVEAL = "reveal"


_M, _C, _R = Shown.MASKED, Shown.CLEAR, Shown.REVEAL
_SEALED = {Channel.PAGE: (_M, _R), Channel.EXPORT: (_M, _M), Channel.API: (_M, _C)}
_BY_RIGHT = {Channel.PAGE: (_M, _C), Channel.EXPORT: (_M, _C), Channel.API: (_M, _C)}

# field → channel → (reader without the sensitive right, reader with it)
RULES: dict[PersonalField, dict[Channel, tuple[Shown, Shown]]] = {
    PersonalField.ID_NUMBER: _SEALED,
    PersonalField.PHONE: _SEALED,
    PersonalField.GUARDIAN_PHONE: _SEALED,
    PersonalField.GUARDIAN_NAME: _BY_RIGHT,
    PersonalField.ADDRESS: _BY_RIGHT,
    PersonalField.STUDENT_NUMBER: _BY_RIGHT,
    PersonalField.STAFF_NUMBER: _BY_RIGHT,
    PersonalField.FREE_TEXT: _BY_RIGHT,
}


class Reader(Protocol):
    def can(self, capability: str) -> bool: ...


def sees_clear(reader: Reader | None) -> bool:
    """Whether ``reader`` holds the sensitive-view right (an anonymous reader never does)."""
    return reader is not None and getattr(reader, "is_authenticated", True) and reader.can(VIEW_SENSITIVE)


def rule(field: PersonalField, *, sensitive: bool, channel: Channel = Channel.PAGE) -> Shown:
    return RULES[field][channel][1 if sensitive else 0]


# --------------------------------------------------------------------------------------------
# The masked forms

_ID_SHAPED = re.compile(r"[0-9]{17}[0-9Xx]")


def mask_staff_number(number: str) -> str:
    """A 教职工号 masked where it holds an ID number: the platform issues county + year + sequence,
    but a unit may have typed its staff's ID numbers as their 工号 (any 18-character run shaped like
    an ID number is masked like one)."""
    return _ID_SHAPED.sub(lambda m: mask_id_number(m.group(0)), number or "")


def mask_address(text: str) -> str:
    """The district part of an address, the street and number hidden: enough to see where a pupil
    lives, not to find the house."""
    if not text:
        return ""
    keep = min(6, max(0, len(text) - 4))
    return text[:keep] + "****"


def mask_name(name: str) -> str:
    """``张*``, ``欧**``: the first character kept, the rest hidden (a surname is not always one character)."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


MASKS = {
    PersonalField.ID_NUMBER: mask_id_number,
    PersonalField.PHONE: crypto.mask_phone,
    PersonalField.GUARDIAN_PHONE: crypto.mask_phone,
    PersonalField.GUARDIAN_NAME: mask_name,
    PersonalField.ADDRESS: mask_address,
    PersonalField.STUDENT_NUMBER: mask_student_number,
    PersonalField.STAFF_NUMBER: mask_staff_number,
    PersonalField.FREE_TEXT: redact_identifiers,
}


# --------------------------------------------------------------------------------------------
# Applying the table


def show(field: PersonalField, value: str, *, sensitive: bool, channel: Channel = Channel.PAGE) -> str:
    """A plain value as this reader is shown it (``REVEAL`` fields are masked: the reveal is a
    separate, audited request)."""
    if not value:
        return value or ""
    return value if rule(field, sensitive=sensitive, channel=channel) == Shown.CLEAR else MASKS[field](value)


def show_to(reader: Reader | None, field: PersonalField, value: str, *, channel: Channel = Channel.PAGE) -> str:
    return show(field, value, sensitive=sees_clear(reader), channel=channel)


def show_sealed(field: PersonalField, cipher: str, masked: str, *, sensitive: bool,
                channel: Channel = Channel.PAGE) -> str:
    """A sealed field (ciphertext and its stored masked form): decrypted only where the table says
    ``CLEAR``."""
    if rule(field, sensitive=sensitive, channel=channel) == Shown.CLEAR:
        return crypto.decrypt(cipher) if cipher else ""
    return masked or ""


def guardians_to(reader: Reader | None, guardians: list[dict] | None) -> list[dict]:
    """A pupil's family members for a page: names per the table, phones in their masked form."""
    sensitive = sees_clear(reader)
    return [{**g, "name": show(PersonalField.GUARDIAN_NAME, g.get("name", ""), sensitive=sensitive)}
            for g in guardians or [] if isinstance(g, dict)]
