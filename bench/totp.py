"""The 6-digit TOTP code (RFC 6238: HMAC-SHA1, 30-second steps, as django-otp's TOTP devices) of a
device key given in hex: what the load test's simulated officers type at the login's code step.
Standard library only, as bench/load_users.py runs under locust's gevent patching."""

from __future__ import annotations

import hashlib
import hmac
import struct
import time


def totp_now(key_hex: str, *, step: int = 30, digits: int = 6) -> str:
    counter = struct.pack(">Q", int(time.time()) // step)
    digest = hmac.new(bytes.fromhex(key_hex), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)
