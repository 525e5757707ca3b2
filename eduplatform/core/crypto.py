"""Personal data at rest: authenticated encryption with rotating keys, and an HMAC blind index.

A ciphertext is stored as ``"<key id>:<base64(nonce || ciphertext+tag)>"``: the key id says which key
— and so which algorithm — decrypts it, so a new key can be put first in ``FIELD_ENCRYPTION_KEYS``
while old rows still read, and a database can hold AES-GCM and SM4-GCM (国密) ciphertexts side by
side while it moves from one to the other (``manage.py rotate_field_keys``).

``FIELD_ENCRYPTION_KEYS`` lists ``<key id>:<base64 key>`` (AES-GCM, 16/24/32 bytes) or
``<key id>:sm4:<base64 key>`` (SM4-GCM, GB/T 32907, 16 bytes), the current key first.

Encrypted values cannot be compared in SQL, so each also gets a *blind index*: an HMAC of the
normalised plain value under a separate fixed key (``FIELD_INDEX_KEY``). Equal values have equal
indexes, which is what look-ups ("find the student with this ID number") and de-duplication (一人一号)
need, without the database ever holding the plain value. ``FIELD_CRYPTO_SUITE`` chooses the HMAC:
``"aes"`` → HMAC-SHA-256, ``"sm"`` → HMAC-SM3 (GB/T 32905), and with ``"sm"`` the current encryption
key must be an SM4 key. Changing the index key or the suite changes every index value: see
docs/personal-data.md for why that is an offline step.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher as _BlockCipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

AES = "aes"
SM4 = "sm4"
SUITES = {"aes": AES, "sm": SM4}  # FIELD_CRYPTO_SUITE → the algorithm its current key must use
_TAG = 16


class Aead(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...
    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


class SM4GCM:
    """SM4 in GCM mode with AESGCM's interface (ciphertext || 16-byte tag); ``cryptography`` has no
    SM4 AEAD class, but its OpenSSL build offers SM4 with ``modes.GCM`` (RFC 8998)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ValueError("SM4 keys are 16 bytes")
        self._key = key

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        enc = _BlockCipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        if associated_data:
            enc.authenticate_additional_data(associated_data)
        out = enc.update(data) + enc.finalize()
        return out + enc.tag

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        dec = _BlockCipher(algorithms.SM4(self._key), modes.GCM(nonce, data[-_TAG:])).decryptor()
        if associated_data:
            dec.authenticate_additional_data(associated_data)
        return dec.update(data[:-_TAG]) + dec.finalize()


@dataclass(frozen=True)
class FieldKeys:
    current_id: str
    keys: dict[str, Aead]
    algorithms: dict[str, str]  # key id → AES | SM4
    index_key: bytes
    suite: str  # "aes" | "sm": the blind index's HMAC

    def new_index_mac(self) -> _Mac:
        return _Mac(self.index_key, self.suite)


class _Mac:
    """HMAC-SHA-256 or HMAC-SM3 keyed once; ``copy`` per value is cheaper than re-keying."""

    def __init__(self, key: bytes, suite: str) -> None:
        self._sm = suite == "sm"
        self._mac = crypto_hmac.HMAC(key, hashes.SM3()) if self._sm else hmac.new(key, digestmod=hashlib.sha256)

    def hexdigest(self, message: bytes) -> str:
        mac = self._mac.copy()
        mac.update(message)
        return mac.finalize().hex() if self._sm else mac.hexdigest()


def _parse_keys(spec: str) -> tuple[str, dict[str, tuple[str, bytes]]]:
    raw: dict[str, tuple[str, bytes]] = {}
    current = ""
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        fields = part.split(":")
        if len(fields) == 2:
            key_id, algorithm, encoded = fields[0], AES, fields[1]
        elif len(fields) == 3 and fields[1] in (AES, SM4):
            key_id, algorithm, encoded = fields
        else:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS 的格式应为 “密钥编号:base64密钥” 或 “密钥编号:sm4:base64密钥”，以逗号分隔")
        if not key_id:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS 中有密钥缺少编号")
        if key_id in raw:
            raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS 中密钥编号 {key_id} 重复")
        key = base64.b64decode(encoded)
        if algorithm == AES and len(key) not in (16, 24, 32):
            raise ImproperlyConfigured(f"密钥 {key_id} 的长度须为 16、24 或 32 字节")
        if algorithm == SM4 and len(key) != 16:
            raise ImproperlyConfigured(f"SM4 密钥 {key_id} 的长度须为 16 字节")
        raw[key_id] = (algorithm, key)
        current = current or key_id
    if not raw:
        raise ImproperlyConfigured("未配置 FIELD_ENCRYPTION_KEYS")
    return current, raw


@lru_cache(maxsize=8)
def _keys_for(spec: str, index_spec: str, suite: str) -> FieldKeys:
    current, raw = _parse_keys(spec)
    if suite not in SUITES:
        raise ImproperlyConfigured("FIELD_CRYPTO_SUITE 只能是 aes（AES-GCM / HMAC-SHA-256）或 sm（SM4-GCM / HMAC-SM3）")
    if suite == "sm" and raw[current][0] != SM4:
        # A 国密 deployment that still seals new values with AES would claim what it does not do.
        raise ImproperlyConfigured("FIELD_CRYPTO_SUITE=sm 时，FIELD_ENCRYPTION_KEYS 的第一个（当前）密钥须为 sm4 密钥")
    if not index_spec:
        # Never derived from an encryption key: rotating that key would silently change every index.
        raise ImproperlyConfigured("未配置 FIELD_INDEX_KEY（盲索引密钥，base64）")
    index_key = base64.b64decode(index_spec)
    if len(index_key) < 16:
        raise ImproperlyConfigured("FIELD_INDEX_KEY 至少应为 16 字节")
    keys: dict[str, Aead] = {k: (SM4GCM(v) if alg == SM4 else AESGCM(v)) for k, (alg, v) in raw.items()}
    return FieldKeys(current, keys, {k: alg for k, (alg, _v) in raw.items()}, index_key, suite)


def field_keys() -> FieldKeys:
    return _keys_for(settings.FIELD_ENCRYPTION_KEYS, settings.FIELD_INDEX_KEY,
                     getattr(settings, "FIELD_CRYPTO_SUITE", "aes"))


class Cipher:
    """``encrypt`` and ``blind_index`` with the keys looked up once: for batches, where reading the
    settings and building the HMAC for each of 150,000 values costs more than the cryptography."""

    def __init__(self, keys: FieldKeys | None = None) -> None:
        keys = keys or field_keys()
        self.key_id = keys.current_id
        self._prefix = f"{keys.current_id}:"
        self._aead = keys.keys[keys.current_id]
        self._mac = keys.new_index_mac()
        self._keys = keys
        self._aeads: dict[str, Aead] = {}  # key id → its AEAD, for decrypt

    def encrypt(self, plain: str) -> str:
        if not plain:
            return ""
        nonce = os.urandom(12)
        return self._prefix + base64.b64encode(nonce + self._aead.encrypt(nonce, plain.encode(), None)).decode()

    def blind_index(self, plain: str, purpose: str) -> str:
        if not plain:
            return ""
        return self._mac.hexdigest(f"{purpose}|{plain}".encode())[:40]

    def decrypt(self, stored: str) -> str:
        """``decrypt`` with the keys looked up once: a quality scan opens hundreds of thousands of ID
        numbers, and reading the settings per value cost as much as the AES-GCM itself."""
        if not stored:
            return ""
        key_id, _, encoded = stored.partition(":")
        aead = self._aeads.get(key_id)
        if aead is None:  # the first value sealed with this key: look the key up once
            aead = self._aeads[key_id] = _aead_for(self._keys, key_id)
        return _open(aead, encoded)


def encrypt(plain: str) -> str:
    """Ciphertext for storage; the empty string stays empty (nothing to protect)."""
    return Cipher().encrypt(plain) if plain else ""


def key_id_of(stored: str | bytes) -> str:
    """The key id a stored value (field ciphertext or sealed file) names; "" for plain/empty."""
    if not stored:
        return ""
    if isinstance(stored, (bytes, bytearray, memoryview)):
        stored = bytes(stored)
        if not stored.startswith(_FILE_MAGIC):
            return ""
        return stored[len(_FILE_MAGIC):].partition(b":")[0].decode()
    return stored.partition(":")[0]


def _aead_for(keys: FieldKeys, key_id: str) -> Aead:
    if key_id not in keys.keys:
        raise ImproperlyConfigured(f"缺少解密所需的密钥 {key_id}，请检查 FIELD_ENCRYPTION_KEYS")
    return keys.keys[key_id]


def _open(aead: Aead, encoded: str) -> str:
    blob = binascii.a2b_base64(encoded)  # what base64.b64decode does, without its argument checks
    return aead.decrypt(blob[:12], blob[12:], None).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    key_id, _, encoded = stored.partition(":")
    return _open(_aead_for(field_keys(), key_id), encoded)


def blind_index(plain: str, purpose: str) -> str:
    """HMAC (SHA-256 or SM3, per ``FIELD_CRYPTO_SUITE``) of a normalised value, per purpose so equal
    phones and IDs do not collide."""
    if not plain:
        return ""
    return field_keys().new_index_mac().hexdigest(f"{purpose}|{plain}".encode())[:40]


def needs_rotation(stored: str | bytes) -> bool:
    """True when ``stored`` was sealed with a key other than the current one."""
    key_id = key_id_of(stored)
    return bool(key_id) and key_id != field_keys().current_id


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
    """``data`` encrypted with the current field key (the file name is not included)."""
    keys = field_keys()
    nonce = os.urandom(12)
    sealed = keys.keys[keys.current_id].encrypt(nonce, data, _FILE_MAGIC)  # AES-GCM or SM4-GCM
    return _FILE_MAGIC + keys.current_id.encode() + b":" + nonce + sealed


def open_file(stored: bytes) -> bytes:
    """The plain bytes of a sealed file; a file stored before sealing existed is returned as is."""
    stored = bytes(stored)
    if not stored.startswith(_FILE_MAGIC):
        return stored
    key_id, _, rest = stored[len(_FILE_MAGIC):].partition(b":")
    return _aead_for(field_keys(), key_id.decode()).decrypt(rest[:12], rest[12:], _FILE_MAGIC)
