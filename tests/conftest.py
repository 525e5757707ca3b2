from __future__ import annotations

import time

import pytest
from django.test import Client

from eduplatform.funding.loading import load_default_rates
from eduplatform.orgs.loading import load_divisions
from eduplatform.standards import codebook
from eduplatform.standards.loading import load_code_tables
from tests.world import World, build_world


def load_reference() -> None:
    load_code_tables()
    load_divisions()
    load_default_rates()  # the demo's rates, so the funding pages have something to calculate
    codebook.forget()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Code tables and the 1,901 divisions are loaded once; each test runs in a rolled-back transaction."""
    with django_db_blocker.unblock():
        load_reference()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A test that really commits (``tests/concurrency.py``) ends with every table emptied: load the
    reference data again, after pytest-django's flush, for the tests that follow. (pytest-django runs
    such tests last; after the last one the session has already dropped the test database.)"""
    yield
    marker = item.get_closest_marker("django_db")
    if nextitem is not None and marker is not None and (marker.kwargs.get("transaction") or "transactional_db" in item.fixturenames):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            load_reference()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Argon2 is the production hasher (checked in test_accounts); tests hash with MD5 for speed.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_codebook():
    codebook.forget()
    yield
    codebook.forget()


@pytest.fixture
def world(db) -> World:
    return build_world()


# --- passing the second factor in tests (issue 17) -------------------------------------------------


def totp_device(user):
    """The user's confirmed TOTP device, created if they have none (as enrolment would)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="测试验证器", confirmed=True)


def totp_code(device) -> str:
    """A code the device accepts now, as an authenticator app would show it. A code is accepted
    once (django-otp remembers the last time step); a second login within the same 30 s uses the
    next step, inside the device's tolerance, and a third waits for the clock."""
    from django_otp.oath import TOTP

    device.refresh_from_db()
    while True:
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        now = totp.t()
        drift = max(0, device.last_t + 1 - now)
        if drift <= device.tolerance:
            totp.drift = device.drift + drift
            return f"{totp.token():0{device.digits}d}"
        time.sleep(1)


@pytest.fixture(autouse=True)
def two_factor_on_force_login(monkeypatch):
    """``client.force_login(user)`` also completes the code step for a user who needs one, the way
    a real login with a TOTP code ends (django_otp.login). ``two_factor=False`` stops after the
    password, to test the gate itself."""
    original = Client.force_login

    def force_login(self, user, backend=None, *, two_factor=True):
        original(self, user, backend)
        from eduplatform.accounts.twofactor import needs_code_step

        if two_factor and needs_code_step(user):
            from django_otp import DEVICE_ID_SESSION_KEY

            session = self.session
            session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)
