"""The simulated users of the load test (bench/load.py runs ``locust -f bench/load_users.py``).

Not imported by anything else: locust patches the standard library (gevent) when imported.
``LOAD_CONFIG`` names the JSON file bench/load.py wrote (accounts, records to open, API client);
``LOAD_SAMPLES`` the file every request's (time, name, milliseconds, ok) is written to at the end,
from which bench/load.py computes its percentiles over the steady state only.

The measured window starts when the last user has signed in (``LOAD_USERS_TARGET``) and lasts
``LOAD_MEASURE_SECONDS``; the run then stops itself.

The mix, per simulated person, with a think time between clicks (``LOAD_WAIT``, default 1–3 s):
officers (province, city, county statisticians: 60 %) open list pages, record pages, statistics
pages and the home page; school clerks (30 %) open their school's students, a student's record and
edit a student through the form (GET the form, POST it back with one field changed — validation,
audit, change feed and roll-up refresh included); API clients (10 %) read students through
``/api/v1/students`` with a client-credentials token.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from html.parser import HTMLParser

import gevent
from locust import FastHttpUser, between, events, task
from totp import totp_now  # bench/ is first on sys.path when locust runs this file

CONFIG = json.loads(open(os.environ["LOAD_CONFIG"], encoding="utf-8").read())  # noqa: SIM115
WAIT = tuple(float(x) for x in os.environ.get("LOAD_WAIT", "1-3").split("-"))
_OFFICER_SEATS = itertools.count()  # each simulated officer signs in with an account of its own
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SAMPLES: list[tuple[float, str, float, bool]] = []
MARKS: dict[str, float] = {}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    SAMPLES.append((time.time(), name, float(response_time), exception is None))


USERS = int(os.environ.get("LOAD_USERS_TARGET", "1"))
SECONDS = float(os.environ.get("LOAD_MEASURE_SECONDS", "60"))
READY: list[float] = []


@events.spawning_complete.add_listener
def _spawned(user_count, **kwargs):
    MARKS.setdefault("spawned", time.time())


def _logged_in(user: FastHttpUser) -> None:
    """Once the last user has signed in (logins hash passwords: Argon2 keeps the cores busy for a
    while), the measured window starts, and the run ends SECONDS later."""
    READY.append(time.time())
    if len(READY) == USERS:
        MARKS["measure"] = time.time()
        gevent.spawn_later(SECONDS, user.environment.runner.quit)


@events.quitting.add_listener
def _dump(environment, **kwargs):
    with open(os.environ["LOAD_SAMPLES"], "w", encoding="utf-8") as out:
        json.dump({"marks": MARKS, "samples": SAMPLES}, out)


class _Form(HTMLParser):
    """The fields of each form of a page, as a browser would submit them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str]] = []
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def with_field(self, name: str) -> dict[str, str] | None:
        return next((form for form in self.forms if name in form), None)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "form":
            self.fields = {}
            self.forms.append(self.fields)
        elif tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            if kind in {"submit", "button", "file"}:
                return
            self.fields[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self.fields[self._select] = value
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.fields.setdefault(self._select, self._first_option or "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data


class _Person(FastHttpUser):
    abstract = True
    wait_time = between(*WAIT)
    accounts: list[str] = []

    def account(self) -> tuple[str, str | None]:
        """(username, TOTP key or None): clerks share their account; officers each take their own."""
        return random.choice(self.accounts), None

    def on_start(self) -> None:
        username, totp_key = self.account()
        page = self.client.get("/accounts/login/", name="login")
        token = CSRF.search(page.text or "")
        with self.client.post("/accounts/login/", name="login", allow_redirects=False, catch_response=True,
                              data={"username": username, "password": CONFIG["password"],
                                    "csrfmiddlewaretoken": token.group(1) if token else ""}) as response:
            if response.status_code != 302:
                response.failure(f"login of {username} answered {response.status_code}")
        if totp_key:  # the code step, as the officer types the authenticator's code
            page = self.client.get("/accounts/login/code/", name="login")
            token = CSRF.search(page.text or "")
            with self.client.post("/accounts/login/code/", name="login", allow_redirects=False, catch_response=True,
                                  data={"token": totp_now(totp_key),
                                        "csrfmiddlewaretoken": token.group(1) if token else ""}) as response:
                if response.status_code != 302:
                    response.failure(f"code step of {username} answered {response.status_code}")
        _logged_in(self)

    def page(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{url} answered {response.status_code}")
            elif "/accounts/login" in (response.url or ""):  # sent to a login step: not the page measured
                response.failure(f"{url} ended at {response.url}")


class Officer(_Person):
    """Province, city and county statisticians reading lists, records and statistics."""

    weight = 6

    def account(self) -> tuple[str, str | None]:
        taken = int(os.environ.get("LOAD_SEAT_OFFSET", "0")) + next(_OFFICER_SEATS)
        officer = CONFIG["officers"][taken % (len(CONFIG["officers"]) - 1)]  # the last is the warm-up's
        return officer["username"], officer["totp_key"]

    @task(3)
    def student_list(self):
        self.page("/students/", "list:students")

    @task(2)
    def school_list(self):
        self.page("/orgs/schools/", "list:schools")

    @task(1)
    def staff_list(self):
        self.page("/staff/", "list:staff")

    @task(3)
    def student_record(self):
        self.page(f"/students/{random.choice(CONFIG['students'])}/", "record:student")

    @task(2)
    def school_record(self):
        self.page(f"/orgs/schools/{random.choice(CONFIG['schools'])}/", "record:school")

    @task(2)
    def statistics(self):
        self.page("/statistics/", "stats:live")

    @task(1)
    def pivot(self):
        self.page("/statistics/pivot/", "stats:pivot")

    @task(1)
    def indicators(self):
        self.page("/statistics/indicators/", "stats:indicators")

    @task(1)
    def home(self):
        self.page("/", "home")


class Clerk(_Person):
    """A school's data clerk: its students, a record, and an edit through the form."""

    weight = 3
    accounts = CONFIG["clerks"]

    @task(2)
    def student_list(self):
        self.page("/students/", "list:students")

    @task(3)
    def student_record(self):
        self.page(f"/students/{random.choice(CONFIG['clerk_students'])}/", "record:student")

    @task(2)
    def edit_student(self):
        ref = random.choice(CONFIG["clerk_students"])
        form_page = self.client.get(f"/students/{ref}/edit/", name="edit:form")
        if form_page.status_code != 200:
            return
        form = _Form()
        form.feed(form_page.text or "")
        field = CONFIG["edit_field"]
        data = form.with_field(field)
        if data is None:
            self.environment.events.request.fire(request_type="POST", name="edit:student", response_time=0,
                                                 response_length=0, exception=RuntimeError("no edit form"))
            return
        # Alternate the field between two values: every edit is a real change (audit, feed, refresh).
        old = data.get(field, "")
        data[field] = CONFIG["edit_values"][1] if old == CONFIG["edit_values"][0] else CONFIG["edit_values"][0]
        with self.client.post(f"/students/{ref}/edit/", name="edit:student", data=data, allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"edit of {ref} answered {response.status_code} (form refused?)")

    @task(1)
    def home(self):
        self.page("/", "home")


class ApiClient(_Person):
    """A school system reading students through the open API."""

    weight = 1

    def on_start(self) -> None:
        api = CONFIG["api"]
        with self.client.post("/oauth/token/", name="token", catch_response=True,
                              data={"grant_type": "client_credentials", "client_id": api["client_id"],
                                    "client_secret": api["client_secret"]}) as response:
            if response.status_code != 200:
                response.failure(f"token answered {response.status_code}")
                self.token = ""
            else:
                self.token = response.json()["access_token"]
        _logged_in(self)

    @task
    def students(self):
        with self.client.get("/api/v1/students?limit=50", name="api:students", catch_response=True,
                             headers={"Authorization": f"Bearer {self.token}"}) as response:
            if response.status_code != 200:
                response.failure(f"api answered {response.status_code}")
