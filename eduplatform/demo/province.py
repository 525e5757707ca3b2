"""A synthetic Guangdong: authorities, schools of every type, demo accounts.

The school mix follows the province's published counts (DOMAIN.md §1, 2023 bulletin: 38,200
institutions, 21,700 kindergartens, 10,700 primary, 3,945 junior secondary); the senior,
vocational, higher-education and special-education counts are estimates, flagged as such in
data/demo/README.md. Everything else (names, places, phones) is invented with a fixed seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from eduplatform.accounts import services as account_services
from eduplatform.accounts import twofactor
from eduplatform.accounts.models import User
from eduplatform.accounts.roles import Role
from eduplatform.demo import names, places
from eduplatform.orgs import services as org_services
from eduplatform.orgs.models import Organization, OrgKind, Region, RegionLevel
from eduplatform.orgs.stages import K12

# School type → (count in a province-size data set, name-generator kind, 2-digit category for the code).
SCHOOL_MIX: tuple[tuple[str, int, str], ...] = (
    ("111", 21700, "kindergarten"),
    ("211", 10700, "primary"),
    ("311", 2600, "junior"),
    ("312", 1345, "nine_year"),
    ("342", 600, "senior"),
    ("341", 400, "complete_secondary"),
    ("345", 100, "twelve_year"),
    ("365", 150, "vocational"),
    ("361", 150, "vocational"),
    ("366", 100, "technical"),
    ("411", 40, "higher"),
    ("412", 30, "higher"),
    ("415", 90, "higher"),
    ("514", 120, "special"),
    ("512", 15, "special"),
    ("511", 10, "special"),
)
PROVINCE_SIZE = sum(n for _, n, _ in SCHOOL_MIX)

# Long-distance area codes of the 21 cities, for landline numbers.
AREA_CODES = {
    "4401": "020", "4402": "0751", "4403": "0755", "4404": "0756", "4405": "0754", "4406": "0757",
    "4407": "0750", "4408": "0759", "4409": "0668", "4412": "0758", "4413": "0752", "4414": "0753",
    "4415": "0660", "4416": "0762", "4417": "0662", "4418": "0763", "4419": "0769", "4420": "0760",
    "4451": "0768", "4452": "0663", "4453": "0766",
}
# Synthetic weighting only: the four largest cities get more schools per town.
CITY_WEIGHT = {"4401": 2.0, "4403": 2.0, "4406": 1.6, "4419": 1.6}

DEMO_PASSWORD = "Demo@2026pass"  # noqa: S105 (documented demo password, printed at start-up)
PRODUCTION_REFUSAL = (
    "生产环境（EDU_ENV=production）不能生成演示数据和演示账号（其密码是公开的）。 / "
    "Demo data and demo accounts (with their public password) cannot be created in production."
)
DEMO_COUNTY = "440106000000"  # 广州市天河区
OTHER_COUNTY = "440304000000"  # 深圳市福田区


@dataclass
class DemoAccount:
    username: str
    role: str
    organization: str
    note: str = ""
    # Base32 TOTP secret of an account that must log in with a second factor (三员, province users):
    # printed beside the password so the demo can be tried with any authenticator app.
    totp_secret: str = ""


def _city_centres() -> dict[str, tuple[float, float]]:
    path = Path(settings.DATA_DIR) / "reference" / "gd_cities.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return {f["properties"]["adcode"][:4]: tuple(f["properties"]["center"]) for f in features}


def _short_place(name: str) -> str:
    for suffix in ("街道办事处", "街道", "镇", "乡", "民族乡", "自治县", "区", "县", "市"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _urban_rural(town: Region, rng: random.Random) -> str:
    if town.town_type == "街道":
        return rng.choice(("111", "111", "112"))
    if town.town_type == "镇":
        return rng.choice(("121", "122", "210", "220"))
    if town.town_type in {"乡", "民族乡"}:
        return rng.choice(("210", "220"))
    return "123"


def _sponsor(type_code: str, rng: random.Random) -> str:
    if type_code.startswith("4"):
        return rng.choice(("811", "821"))
    if type_code == "111":
        return "999" if rng.random() < 0.45 else "831"
    if type_code.startswith("3") and type_code >= "34":
        return rng.choice(("821", "831", "831", "999"))
    return "999" if rng.random() < 0.08 else "831"


def authorities() -> tuple[Organization, dict[str, Organization]]:
    """The province department with its divisions, and one bureau per city and county."""
    province = Region.objects.get(level=RegionLevel.PROVINCE)
    department = Organization.objects.filter(kind=OrgKind.DEPARTMENT, region=province).first()
    if department is None:
        department = org_services.create_authority(
            actor=None, kind=OrgKind.DEPARTMENT, name="广东省教育厅", region=province
        )
    divisions = {}
    for name in ("发展规划处", "基础教育处", "职业教育与终身教育处", "高等教育处", "教师工作处", "办公室"):
        org = Organization.objects.filter(kind=OrgKind.DIVISION, name=name).first()
        divisions[name] = org or org_services.create_authority(
            actor=None, kind=OrgKind.DIVISION, name=name, region=province, parent=department
        )
    existing = set(Organization.objects.filter(kind=OrgKind.BUREAU).values_list("region_id", flat=True))
    for region in Region.objects.filter(level__in=[RegionLevel.CITY, RegionLevel.COUNTY]).order_by("code"):
        if region.pk not in existing:
            parent = Organization.objects.filter(kind=OrgKind.BUREAU, region=region.parent).first() or department
            org_services.create_authority(
                actor=None, kind=OrgKind.BUREAU, name=f"{region.name}教育局", region=region, parent=parent
            )
    return department, divisions


def school_rows(scale: float, seed: int) -> list[dict[str, object]]:
    """Rows for ``register_schools``: every type, in the province's proportions, over all counties."""
    rng = random.Random(seed)
    towns = list(Region.objects.filter(level=RegionLevel.TOWN).select_related("parent").order_by("code"))
    weights = [CITY_WEIGHT.get(t.code[:4], 1.0) for t in towns]
    centres = _city_centres()
    per_kind_index: dict[tuple[str, str], int] = {}
    serial: dict[str, int] = {}
    rows: list[dict[str, object]] = []
    # Every county gets at least one primary school and one kindergarten, whatever the scale.
    counties = {t.code[:6]: t for t in towns}
    plan: list[tuple[str, str, Region]] = []
    for town in counties.values():
        plan += [("111", "kindergarten", town), ("211", "primary", town)]
    for type_code, count, kind in SCHOOL_MIX:
        wanted = max(1, round(count * scale))
        already = sum(1 for p in plan if p[0] == type_code)
        for town in rng.choices(towns, weights=weights, k=max(0, wanted - already)):
            plan.append((type_code, kind, town))
    for type_code, kind, town in plan:
        place = _short_place(town.name)
        key = (place, kind)
        per_kind_index[key] = per_kind_index.get(key, 0) + 1
        category = type_code[:2]
        serial[category] = serial.get(category, 0) + 1
        lon0, lat0 = centres.get(town.code[:4], (113.27, 23.13))
        # Drawn in the order the row used to draw them, so every other value keeps its seed.
        name = names.school_name(rng, place=place, kind=kind, index=per_kind_index[key])
        sponsor, urban_rural = _sponsor(type_code, rng), _urban_rural(town, rng)
        address = names.street_address(rng, town.name)
        du, dv = rng.uniform(-0.12, 0.12), rng.uniform(-0.1, 0.1)
        # A point inside the school's county (东莞/中山: the city), so the county map shows it there.
        place_xy = places.point_in_county(town.parent.code, (du + 0.12) / 0.24, (dv + 0.1) / 0.2) or (lon0 + du, lat0 + dv)
        rows.append(
            {
                "school_code": f"{category}44{serial[category]:06d}",
                "name": name,
                "school_type_code": type_code,
                "sponsor_code": sponsor,
                "urban_rural_code": urban_rural,
                "town_code": town.code,
                "address": address,
                "longitude": str(Decimal(str(round(place_xy[0], 6)))),
                "latitude": str(Decimal(str(round(place_xy[1], 6)))),
                "principal_name": names.person_name(rng, rng.choice("12")),
                "phone": names.landline(rng, AREA_CODES.get(town.code[:4], "020")),
                "founded_on": dt.date(rng.randint(1950, 2022), rng.randint(1, 12), rng.randint(1, 28)),
            }
        )
    return rows


def _account(username: str, role: Role, org: Organization, accounts: list[DemoAccount], *,
             display: str, stage_mask: int | None = None, note: str = "") -> None:
    if settings.IS_PRODUCTION:  # the accounts' password is printed in the README
        raise ImproperlyConfigured(PRODUCTION_REFUSAL)
    user = User.objects.filter(username=username).first()
    if user is None:
        user = account_services.create_user(
            actor=None, username=username, password=DEMO_PASSWORD, organization=org,
            display_name=display, stage_mask=stage_mask,
        )
        account_services.grant_role(actor=None, user=user, role=role)
    if user.must_change_password:  # the demo password is public and documented: no change asked
        User.objects.filter(pk=user.pk).update(must_change_password=False)
    secret = _demo_totp_secret(user) if twofactor.requires_two_factor(user) else ""
    accounts.append(DemoAccount(username, str(role.label), org.name, note, secret))


def _demo_totp_secret(user: User) -> str:
    """A confirmed TOTP device with a key derived from the username, so the printed secret stays the
    same across `make demo` runs (demo only: generation refuses to run in production)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    key = hashlib.sha1(f"eduplatform-demo-totp:{user.username}".encode()).hexdigest()  # noqa: S324 — not a hash for security
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="演示验证器", key=key, confirmed=True)
    return twofactor.secret_base32(device)


def demo_accounts(divisions: dict[str, Organization], department: Organization) -> list[DemoAccount]:
    accounts: list[DemoAccount] = []
    city = Organization.objects.get(kind=OrgKind.BUREAU, region__code="440100000000")
    county = Organization.objects.get(kind=OrgKind.BUREAU, region__code=DEMO_COUNTY)
    other = Organization.objects.get(kind=OrgKind.BUREAU, region__code=OTHER_COUNTY)
    school = Organization.objects.filter(kind=OrgKind.SCHOOL, region_path__startswith=county.region_path,
                                         school_type_code="211").order_by("school_code").first()
    _account("sysadmin", Role.SYSTEM_ADMIN, department, accounts, display="系统管理员")
    _account("secadmin", Role.SECURITY_ADMIN, department, accounts, display="安全管理员")
    _account("auditor", Role.SECURITY_AUDITOR, department, accounts, display="安全审计员")
    _account("province", Role.PROVINCE_OFFICER, divisions["发展规划处"], accounts, display="省统计员",
             note="全省、全部学段")
    _account("k12", Role.PROVINCE_OFFICER, divisions["基础教育处"], accounts, display="基础教育处",
             stage_mask=int(K12), note="全省、仅基础教育学段")
    _account("gz_stat", Role.STATISTICIAN, city, accounts, display="广州市统计员")
    _account("gz_review", Role.REVIEWER, city, accounts, display="广州市审核员")
    _account("th_stat", Role.STATISTICIAN, county, accounts, display="天河区统计员")
    _account("th_review", Role.REVIEWER, county, accounts, display="天河区审核员")
    _account("ft_stat", Role.STATISTICIAN, other, accounts, display="福田区统计员", note="另一县区，用于核对数据隔离")
    town = Region.objects.filter(parent__code=DEMO_COUNTY).order_by("code").first()
    town_office = Organization.objects.filter(kind=OrgKind.BUREAU, region=town).first() or org_services.create_authority(
        actor=None, kind=OrgKind.BUREAU, name=f"{town.name}教育指导中心", region=town, parent=county
    )
    _account("town_stat", Role.STATISTICIAN, town_office, accounts, display=f"{town.name}统计员")
    if school is not None:
        _account("school_clerk", Role.SCHOOL_CLERK, school, accounts, display="学校数据管理员")
        _account("principal", Role.PRINCIPAL, school, accounts, display="校长")
    return accounts


@transaction.atomic
def generate(scale: float, seed: int) -> tuple[int, list[DemoAccount]]:
    department, divisions = authorities()
    created = 0
    if not Organization.objects.filter(kind=OrgKind.SCHOOL).exists():
        created = len(org_services.register_schools(actor=None, rows=school_rows(scale, seed)))
    return created, demo_accounts(divisions, department)
