"""The UI shell: navigation to every area, the dashboard, the data dictionary, light pages."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from eduplatform.web.navigation import AREAS, PLACEHOLDER_AREAS

pytestmark = pytest.mark.django_db


def test_navigation_lists_every_area_of_the_platform(client, world):
    client.force_login(world.user("county_a_stat"))
    body = client.get("/").content.decode()
    for label in ("学生", "教职工", "教育管理干部", "校舍与土地", "资产与设备", "统计分析", "报表与审核", "数据质量", "建库进度", "数据交换", "数据字典"):
        assert f">{label}<" in body, label
    assert len(AREAS) == 13


def test_every_area_opens_and_none_is_marked_unbuilt(client, world):
    client.force_login(world.user("county_a_stat"))
    assert PLACEHOLDER_AREAS == ()  # every area has its own app now
    body = client.get("/").content.decode()
    assert "建设中" not in body  # no area is badged as unbuilt in the menu
    for area in AREAS:
        response = client.get(reverse(area.url_name), follow=True)  # 学校与区划 opens at the user's region
        assert response.status_code == 200, area.slug
        assert "本模块尚在建设中" not in response.content.decode(), area.slug


def test_dashboard_counts_only_the_users_jurisdiction(client, world):
    client.force_login(world.user("county_a_stat"))
    body = client.get("/").content.decode()
    assert re.search(r'data-testid="count-schools">3<', body)  # a1, a2 and the college, all in 天河区
    client.force_login(world.user("city_stat"))
    assert re.search(r'data-testid="count-schools">4<', client.get("/").content.decode())


def test_data_dictionary_finds_codes_by_name(client, world):
    client.force_login(world.user("clerk_a1"))
    body = client.get("/standards/?q=壮族").content.decode()
    assert "民族" in body and "壮族" in body
    body = client.get("/standards/school_type/").content.decode()
    assert "九年一贯制学校" in body and "312" in body


def test_a_list_page_stays_under_500_kb_transferred(client, world):
    """Schools in poorer areas work on slow networks: HTML plus every script and style it loads."""
    client.force_login(world.user("province"))
    response = client.get("/orgs/schools/")
    html = response.content
    total = len(gzip.compress(html))
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', html.decode())
    assert any(a.endswith("tabler.min.css") for a in assets)
    assert not any("echarts" in a for a in assets), "charts are loaded only on pages that draw them"
    for asset in assets:
        path = _static_file(asset)
        total += len(gzip.compress(path.read_bytes()))
    assert total < 500 * 1024, f"{total / 1024:.0f} KB"


def _static_file(asset: str) -> Path:
    from django.contrib.staticfiles import finders

    found = finders.find(asset)
    assert found, f"static file {asset} not found (run make install); STATICFILES_DIRS={settings.STATICFILES_DIRS}"
    return Path(found)
