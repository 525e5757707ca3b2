"""A person's identifiers as the platform keeps them: the ID number and the phone sealed.

No ID number is stored in the clear: ``seal_id_number`` gives the ciphertext, the blind index that
finds and de-duplicates it, and the masked form every page shows. Students and staff use the same
index (document type + number), so one person is found the same way in both registers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from eduplatform.core import crypto
from eduplatform.standards.validators import mask_id_number, mask_student_number, redact_identifiers

# The right to read identifiers in full (accounts.roles grants it; named here so that every layer
# can check it without importing accounts).
VIEW_SENSITIVE = "records.view_sensitive"

RESIDENT_ID_CARD = "1"  # 居民身份证 in the id_type table
NO_DOCUMENT = "Z"  # 其他: the ID number may be missing


@dataclass(frozen=True)
class Sealed:
    cipher: str
    index: str
    masked: str


EMPTY = Sealed("", "", "")


class Sealer:
    """The functions below with the keys looked up once, for a batch of people."""

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


# --------------------------------------------------------------------------------------------
# What a reader is shown. A role without the sensitive-view right (a principal, a statistician,
# the security auditor …) sees every identifier that embeds an ID number masked like the ID
# number itself: on pages, in exports, in history and audit views. The masking rules are
# ``standards.validators.mask_student_number`` / ``redact_identifiers`` and ``mask_staff_number``.


class _Reader(Protocol):
    def can(self, capability: str) -> bool: ...


def sees_identifiers(actor: _Reader | None) -> bool:
    """Whether ``actor`` may read identifiers that embed an ID number in full."""
    return actor is not None and getattr(actor, "is_authenticated", True) and actor.can(VIEW_SENSITIVE)


def student_number_for(actor: _Reader | None, number: str) -> str:
    """A 学籍号 as ``actor`` may see it (a G number masked like its ID number for most roles)."""
    return number if sees_identifiers(actor) else mask_student_number(number)


_ID_SHAPED = re.compile(r"[0-9]{17}[0-9Xx]")


def mask_staff_number(number: str) -> str:
    """A 教职工号 masked where it holds an ID number: the platform issues county + year + sequence,
    but a unit may have typed its staff's ID numbers as their 工号 (any 18-character run shaped like
    an ID number is masked like one)."""
    return _ID_SHAPED.sub(lambda m: mask_id_number(m.group(0)), number or "")


def staff_number_for(actor: _Reader | None, number: str) -> str:
    return number if sees_identifiers(actor) else mask_staff_number(number)


def text_for(actor: _Reader | None, text: str) -> str:
    """Free text that may quote identifiers (an audit label, a note, a before/after value)."""
    if not text or sees_identifiers(actor):
        return text
    return redact_identifiers(text)
