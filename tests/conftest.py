from __future__ import annotations

import pytest

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
