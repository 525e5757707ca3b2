"""Second factor (TOTP, django-otp): who needs it, enrolment, and the QR code shown to enrol."""

from __future__ import annotations

import base64
import io

import segno
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from eduplatform.accounts.roles import TWO_FACTOR_ROLES
from eduplatform.orgs.models import OrgKind

ISSUER = "广东省教育信息平台"
# Session key set at login: whether this session must pass the code step before anything else.
# Decided once per login (roles, unit, enrolled device) so ordinary requests cost no query; a grant
# that makes 2FA necessary ends the user's sessions (services.grant_role), so it applies at once.
SESSION_REQUIRED_KEY = "otp_required"


def requires_two_factor(user) -> bool:
    """三员 and province users must use a second factor (等保2.0 level 3 for administrators)."""
    if user.role_set & TWO_FACTOR_ROLES:
        return True
    org = user.organization if user.organization_id else None
    return org is not None and org.kind in (OrgKind.DEPARTMENT, OrgKind.DIVISION)


def confirmed_device(user) -> TOTPDevice | None:
    return next(iter(devices_for_user(user, confirmed=True)), None)


def needs_code_step(user) -> bool:
    """Whether a login of this user goes through the code step: required, or enrolled by choice."""
    return requires_two_factor(user) or confirmed_device(user) is not None


def pending_device(user) -> TOTPDevice:
    """The unconfirmed device being enrolled (a fresh secret each time none is pending)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()


def provisioning_uri(device: TOTPDevice) -> str:
    # django-otp's config_url uses the username and settings.OTP_TOTP_ISSUER.
    return device.config_url


def qr_data_uri(device: TOTPDevice) -> str:
    """The enrolment QR code as an SVG data URI, drawn on the server (no script, CSP-safe)."""
    buffer = io.BytesIO()
    segno.make(provisioning_uri(device), error="m").save(buffer, kind="svg", scale=5, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
