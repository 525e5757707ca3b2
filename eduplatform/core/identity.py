"""A person's identifiers as the platform keeps them: the ID number and the phone sealed.

No ID number is stored in the clear: ``seal_id_number`` gives the ciphertext, the blind index that
finds and de-duplicates it, and the masked form every page shows. Students and staff use the same
index (document type + number), so one person is found the same way in both registers.
"""

from __future__ import annotations

from dataclasses import dataclass

from eduplatform.core import crypto, masking
from eduplatform.core.masking import VIEW_SENSITIVE, mask_staff_number  # noqa: F401 — re-exported
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
    """The functions below with the keys looked up once, for a batch of people."""

    def __init__(self, keys: crypto.FieldKeys | None = None) -> None:
        # ``keys``: another key set (the blind-index rebuild computes the old index beside the new).
        self._cipher = crypto.Cipher(keys)

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
# What a reader is shown: the rules live in ``core.masking`` (one table for pages, exports and the
# API); these names stay for the callers that predate it.


def sees_identifiers(actor: masking.Reader | None) -> bool:
    """Whether ``actor`` may read identifiers that embed an ID number in full."""
    return masking.sees_clear(actor)


def student_number_for(actor: masking.Reader | None, number: str) -> str:
    """A 学籍号 as ``actor`` may see it (a G number masked like its ID number for most roles)."""
    return masking.show_to(actor, masking.PersonalField.STUDENT_NUMBER, number)


def staff_number_for(actor: masking.Reader | None, number: str) -> str:
    return masking.show_to(actor, masking.PersonalField.STAFF_NUMBER, number)


def text_for(actor: masking.Reader | None, text: str) -> str:
    """Free text that may quote identifiers (an audit label, a note, a before/after value)."""
    return masking.show_to(actor, masking.PersonalField.FREE_TEXT, text)
