"""A person's identifiers as the platform keeps them: the ID number and the phone sealed.

No ID number is stored in the clear: ``seal_id_number`` gives the ciphertext, the blind index that
finds and de-duplicates it, and the masked form every page shows. Students and staff use the same
index (document type + number), so one person is found the same way in both registers.
"""

from __future__ import annotations

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
