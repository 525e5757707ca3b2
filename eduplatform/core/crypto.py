"""Personal data at rest: AES-GCM encryption with rotating keys, and an HMAC blind index.

A ciphertext is stored as ``"<key id>:<base64(nonce || ciphertext+tag)>"``: the key id says which key
decrypts it, so a new key can be put first in ``FIELD_ENCRYPTION_KEYS`` while old rows still read.
Encrypted values cannot be compared in SQL, so each also gets a *blind index*: an HMAC of the
normalised plain value under a separate fixed key. Equal values have equal indexes, which is what
look-ups ("find the student with this ID number") and de-duplication (一人一号) need, without the
database ever holding the plain value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class FieldKeys:
    current_id: str
    keys: dict[str, AESGCM]
    index_key: bytes


def _parse_keys(spec: str) -> tuple[str, dict[str, bytes]]:
    raw: dict[str, bytes] = {}
    current = ""
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        if not sep or not key_id:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS 的格式应为 “密钥编号:base64密钥,…”")
        key = base64.b64decode(encoded)
        if len(key) not in (16, 24, 32):
            raise ImproperlyConfigured(f"密钥 {key_id} 的长度须为 16、24 或 32 字节")
        raw[key_id] = key
        current = current or key_id
    if not raw:
        raise ImproperlyConfigured("未配置 FIELD_ENCRYPTION_KEYS")
    return current, raw


@lru_cache(maxsize=4)
def _keys_for(spec: str, index_spec: str) -> FieldKeys:
    current, raw = _parse_keys(spec)
    if not index_spec:
        # Never derived from an encryption key: rotating that key would silently change every index.
        raise ImproperlyConfigured("未配置 FIELD_INDEX_KEY（盲索引密钥，base64）")
    index_key = base64.b64decode(index_spec)
    if len(index_key) < 16:
        raise ImproperlyConfigured("FIELD_INDEX_KEY 至少应为 16 字节")
    return FieldKeys(current, {k: AESGCM(v) for k, v in raw.items()}, index_key)


def field_keys() -> FieldKeys:
    return _keys_for(settings.FIELD_ENCRYPTION_KEYS, settings.FIELD_INDEX_KEY)


class Cipher:
    """``encrypt`` and ``blind_index`` with the keys looked up once: for batches, where reading the
    settings and building the HMAC for each of 150,000 values costs more than the cryptography."""

    def __init__(self, keys: FieldKeys | None = None) -> None:
        keys = keys or field_keys()
        self._prefix = f"{keys.current_id}:"
        self._aead = keys.keys[keys.current_id]
        self._mac = hmac.new(keys.index_key, digestmod=hashlib.sha256)

    def encrypt(self, plain: str) -> str:
        if not plain:
            return ""
        nonce = os.urandom(12)
        return self._prefix + base64.b64encode(nonce + self._aead.encrypt(nonce, plain.encode(), None)).decode()

    def blind_index(self, plain: str, purpose: str) -> str:
        if not plain:
            return ""
        digest = self._mac.copy()
        digest.update(f"{purpose}|{plain}".encode())
        return digest.hexdigest()[:40]


def encrypt(plain: str) -> str:
    """Ciphertext for storage; the empty string stays empty (nothing to protect)."""
    return Cipher().encrypt(plain) if plain else ""


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    key_id, _, encoded = stored.partition(":")
    keys = field_keys()
    if key_id not in keys.keys:
        raise ImproperlyConfigured(f"缺少解密所需的密钥 {key_id}，请检查 FIELD_ENCRYPTION_KEYS")
    blob = base64.b64decode(encoded)
    return keys.keys[key_id].decrypt(blob[:12], blob[12:], None).decode()


def blind_index(plain: str, purpose: str) -> str:
    """HMAC-SHA256 of a normalised value, per purpose so equal phones and IDs do not collide."""
    if not plain:
        return ""
    return hmac.new(field_keys().index_key, f"{purpose}|{plain}".encode(), hashlib.sha256).hexdigest()[:40]


def needs_rotation(stored: str) -> bool:
    """True when ``stored`` was sealed with a key other than the current one."""
    return bool(stored) and stored.partition(":")[0] != field_keys().current_id


def mask_phone(phone: str) -> str:
    """``138****5678``: enough to recognise a number, not to call it."""
    if not phone:
        return ""
    if len(phone) <= 4:
        return "*" * len(phone)
    keep_head = 3 if len(phone) >= 11 else max(0, len(phone) - 4 - 4)
    return phone[:keep_head] + "*" * (len(phone) - keep_head - 4) + phone[-4:]


# Uploaded files (spreadsheets of students with ID numbers) sealed the same way as fields: a short
# header names the format and the key, so files sealed before a key rotation still open.
_FILE_MAGIC = b"EDUSEAL1:"


def seal_file(data: bytes) -> bytes:
    """``data`` encrypted with the current field key (AES-GCM, the file name is not included)."""
    keys = field_keys()
    nonce = os.urandom(12)
    sealed = keys.keys[keys.current_id].encrypt(nonce, data, _FILE_MAGIC)
    return _FILE_MAGIC + keys.current_id.encode() + b":" + nonce + sealed


def open_file(stored: bytes) -> bytes:
    """The plain bytes of a sealed file; a file stored before sealing existed is returned as is."""
    stored = bytes(stored)
    if not stored.startswith(_FILE_MAGIC):
        return stored
    key_id, _, rest = stored[len(_FILE_MAGIC):].partition(b":")
    keys = field_keys()
    if key_id.decode() not in keys.keys:
        raise ImproperlyConfigured(f"缺少解密所需的密钥 {key_id.decode()}，请检查 FIELD_ENCRYPTION_KEYS")
    return keys.keys[key_id.decode()].decrypt(rest[:12], rest[12:], _FILE_MAGIC)
