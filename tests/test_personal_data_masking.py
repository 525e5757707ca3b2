"""Masking per role in one place (core.masking): every role × every personal field × pages, exports
and the API, against a table written out here; and the pages that use it."""

from __future__ import annotations

import datetime as dt

import pytest

from eduplatform.accounts.roles import Role, capabilities_of
from eduplatform.core import crypto, masking
from eduplatform.core.masking import Channel, PersonalField
from eduplatform.students import services as student_services
from tests.students_support import student_row

F = PersonalField
PLAIN = {
    F.ID_NUMBER: "44010620100101123X",
    F.PHONE: "13800138000",
    F.GUARDIAN_PHONE: "13900139000",
    F.GUARDIAN_NAME: "李建国",
    F.ADDRESS: "广州市越秀区中山一路1号",
    F.STUDENT_NUMBER: "G44010620100101123X",
    F.STAFF_NUMBER: "44010619800101123X",
    F.FREE_TEXT: "更正 44010620100101123X 的姓名",
}
MASKED = {
    F.ID_NUMBER: "440106********123X",
    F.PHONE: "138****8000",
    F.GUARDIAN_PHONE: "139****9000",
    F.GUARDIAN_NAME: "李**",
    F.ADDRESS: "广州市越秀区****",
    F.STUDENT_NUMBER: "G440106********123X",
    F.STAFF_NUMBER: "440106********123X",
    F.FREE_TEXT: "更正 440106********123X 的姓名",
}
# The roles holding the sensitive-view right (accounts.roles): everyone else reads masked.
SENSITIVE_ROLES = {Role.SCHOOL_CLERK, Role.PROVINCE_OFFICER}
SEALED = {F.ID_NUMBER, F.PHONE, F.GUARDIAN_PHONE}  # clear only via the audited reveal, or the API


def expected(field: PersonalField, channel: Channel, sensitive: bool) -> str:
    if not sensitive:
        return MASKED[field]
    if field in SEALED and channel != Channel.API:
        return MASKED[field]
    return PLAIN[field]


class Reader:
    def __init__(self, role: str) -> None:
        self.caps = capabilities_of({role})
        self.is_authenticated = True

    def can(self, capability: str) -> bool:
        return capability in self.caps


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reads_each_personal_field_as_the_table_says(role):
    reader = Reader(role)
    assert masking.sees_clear(reader) == (role in SENSITIVE_ROLES)
    for field in PersonalField:
        for channel in Channel:
            shown = masking.show_to(reader, field, PLAIN[field], channel=channel)
            assert shown == expected(field, channel, role in SENSITIVE_ROLES), (role, field, channel)


def test_the_three_security_duties_never_read_identifiers_in_clear():
    for role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.SECURITY_AUDITOR):
        assert all(masking.show_to(Reader(role), f, PLAIN[f]) == MASKED[f] for f in PersonalField)


def test_an_anonymous_reader_sees_everything_masked():
    assert all(masking.show_to(None, f, PLAIN[f], channel=c) == MASKED[f] for f in PersonalField for c in Channel)


def test_sealed_values_are_decrypted_only_where_the_table_says_clear():
    cipher = crypto.encrypt(PLAIN[F.PHONE])
    assert masking.show_sealed(F.PHONE, cipher, MASKED[F.PHONE], sensitive=True, channel=Channel.API) == PLAIN[F.PHONE]
    for sensitive, channel in ((True, Channel.PAGE), (True, Channel.EXPORT), (False, Channel.API)):
        assert masking.show_sealed(F.PHONE, cipher, MASKED[F.PHONE], sensitive=sensitive, channel=channel) == MASKED[F.PHONE]


def test_a_principal_reads_a_pupils_addresses_and_family_names_masked_the_clerk_in_clear(client, world):
    row = student_row(1, home_address="广州市越秀区中山一路1号")
    student = student_services.enrol_student(actor=world.user("clerk_a1"), school=world.school_a1, data=row,
                                             today=dt.date(2026, 3, 2)).student
    guardian = student.guardians[0]["name"]
    client.force_login(world.user("principal_a1"))
    page = client.get(f"/students/{student.public_id}/").content.decode()
    assert "广州市越秀区****" in page and "中山一路1号" not in page
    assert masking.mask_name(guardian) in page and guardian not in page
    client.force_login(world.user("clerk_a1"))
    page = client.get(f"/students/{student.public_id}/").content.decode()
    assert "广州市越秀区中山一路1号" in page and guardian in page
