"""A small, fully known slice of the province for tests: two counties in one city, a county in
another city, schools of several stages, and a user for every role.

County A = 广州市天河区, county B = 广州市越秀区, county C = 深圳市福田区. Names of B's school
carry a marker so a leak is visible in any page body.
"""

from __future__ import annotations

from dataclasses import dataclass

from eduplatform.accounts import services as accounts
from eduplatform.accounts.models import User
from eduplatform.accounts.roles import Role
from eduplatform.orgs import services as orgs
from eduplatform.orgs.models import Organization, OrgKind, Region
from eduplatform.orgs.stages import K12, Stage

PASSWORD = "Test@2026pass"
LEAK_MARKER_B = "越秀泄漏检测小学"
LEAK_MARKER_HIGHER = "天河泄漏检测学院"
TOWN_A = "440106001000"  # 天河区 五山街道
TOWN_A2 = "440106002000"
TOWN_B = "440104003000"  # 越秀区 … 街道
TOWN_C = "440304001000"


def school_row(code: str, name: str, type_code: str, town: str, **extra) -> dict[str, object]:
    row: dict[str, object] = {
        "school_code": code,
        "name": name,
        "school_type_code": type_code,
        "sponsor_code": "831",
        "urban_rural_code": "111",
        "town_code": town,
        "address": "广东省某市某区文明路一号",
        "longitude": "113.3",
        "latitude": "23.1",
        "principal_name": "张三",
        "phone": "020-12345678",
        "founded_on": "2001-09-01",
    }
    row.update(extra)
    return row


@dataclass
class World:
    department: Organization
    k12_division: Organization
    higher_division: Organization
    city_gz: Organization
    county_a: Organization
    county_b: Organization
    county_c: Organization
    school_a1: Organization  # primary, town A
    school_a2: Organization  # kindergarten, town A (same town as a1)
    school_b1: Organization  # primary, county B
    college_a: Organization  # higher education, county A
    users: dict[str, User]

    def user(self, key: str) -> User:
        return User.objects.get(pk=self.users[key].pk)


def build_world() -> World:
    region = Region.objects.get
    dept = orgs.create_authority(actor=None, kind=OrgKind.DEPARTMENT, name="广东省教育厅", region=region(code="440000000000"))
    k12 = orgs.create_authority(actor=None, kind=OrgKind.DIVISION, name="基础教育处", region=dept.region, parent=dept)
    higher = orgs.create_authority(actor=None, kind=OrgKind.DIVISION, name="高等教育处", region=dept.region, parent=dept)
    gz = orgs.create_authority(actor=None, kind=OrgKind.BUREAU, name="广州市教育局", region=region(code="440100000000"), parent=dept)
    sz = orgs.create_authority(actor=None, kind=OrgKind.BUREAU, name="深圳市教育局", region=region(code="440300000000"), parent=dept)
    a = orgs.create_authority(actor=None, kind=OrgKind.BUREAU, name="天河区教育局", region=region(code="440106000000"), parent=gz)
    b = orgs.create_authority(actor=None, kind=OrgKind.BUREAU, name="越秀区教育局", region=region(code="440104000000"), parent=gz)
    c = orgs.create_authority(actor=None, kind=OrgKind.BUREAU, name="福田区教育局", region=region(code="440304000000"), parent=sz)
    schools = orgs.register_schools(
        actor=None,
        rows=[
            school_row("2144000001", "天河测试小学", "211", TOWN_A),
            school_row("1144000001", "天河测试幼儿园", "111", TOWN_A),
            school_row("2144000002", LEAK_MARKER_B, "211", TOWN_B),
            school_row("4144000001", LEAK_MARKER_HIGHER, "412", TOWN_A2, sponsor_code="811"),
            school_row("2144000003", "福田测试小学", "211", TOWN_C),
        ],
    )
    by_code = {s.school_code: s for s in schools}
    users: dict[str, User] = {}

    def make(key: str, org: Organization, role: Role, stage_mask: int | None = None) -> None:
        user = accounts.create_user(actor=None, username=key, password=PASSWORD, organization=org,
                                    display_name=key, stage_mask=stage_mask)
        accounts.grant_role(actor=None, user=user, role=role)
        users[key] = user

    make("sysadmin", dept, Role.SYSTEM_ADMIN)
    make("secadmin", dept, Role.SECURITY_ADMIN)
    make("auditor", dept, Role.SECURITY_AUDITOR)
    make("province", dept, Role.PROVINCE_OFFICER)
    make("k12_officer", k12, Role.PROVINCE_OFFICER, stage_mask=int(K12))
    make("higher_officer", higher, Role.PROVINCE_OFFICER, stage_mask=int(Stage.HIGHER))
    make("city_stat", gz, Role.STATISTICIAN)
    make("county_a_stat", a, Role.STATISTICIAN)
    make("county_a_reviewer", a, Role.REVIEWER)
    make("county_b_stat", b, Role.STATISTICIAN)
    make("county_c_stat", c, Role.STATISTICIAN)
    make("clerk_a1", by_code["2144000001"], Role.SCHOOL_CLERK)
    make("principal_a1", by_code["2144000001"], Role.PRINCIPAL)
    make("clerk_b1", by_code["2144000002"], Role.SCHOOL_CLERK)
    return World(
        department=dept, k12_division=k12, higher_division=higher, city_gz=gz, county_a=a, county_b=b, county_c=c,
        school_a1=by_code["2144000001"], school_a2=by_code["1144000001"], school_b1=by_code["2144000002"],
        college_a=by_code["4144000001"], users=users,
    )
