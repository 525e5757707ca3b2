"""A demo external system: 天河区's 学籍 system, registered by the demo security administrator with
read and write grants on 天河区's records, so that `make demo` can print a working client_id and
secret and the curl lines to try the open API (docs/api.md)."""

from __future__ import annotations

from eduplatform.accounts.models import User
from eduplatform.exchange import clients
from eduplatform.exchange.models import ApiClient
from eduplatform.exchange.resources import all_resources
from eduplatform.orgs.models import Organization, OrgKind

CLIENT_NAME = "天河区学籍管理系统（演示）"
# Published with the demo accounts: production refuses demo data (EDU_ENV), so this secret never
# reaches a real deployment. A real client's secret is generated and shown once.
DEMO_SECRET = "demo-tianhe-api-secret"  # noqa: S105 — the demo's published secret
COUNTY_PREFIX = "440106"


def generate(*, seed: int) -> ApiClient | None:
    """Register the demo client once (its secret then set to the published demo one)."""
    found = ApiClient.objects.filter(name=CLIENT_NAME).select_related("application").first()
    if found is not None:
        return found
    admin = User.objects.filter(username="secadmin").first()
    bureau = Organization.objects.filter(kind=OrgKind.BUREAU, region__code__startswith=COUNTY_PREFIX,
                                         region__level="county").first()
    if admin is None or bureau is None:
        return None
    grants = {r.key: clients.GrantSpec(read=True, write=r.writable) for r in all_resources()}
    client, _ = clients.register_client(actor=admin, name=CLIENT_NAME, organization=bureau, grants=grants,
                                        vendor="演示", may_see_personal=False, rate_limit=600)
    application = client.application
    application.client_secret = DEMO_SECRET  # hashed again on save
    application.hash_client_secret = True
    application.save(update_fields=["client_secret", "hash_client_secret"])
    return client


def describe(client: ApiClient) -> list[str]:
    client_id = client.application.client_id
    return [
        f"\n演示接口客户端：{client.name}（{client.organization.name}，可读写其管辖范围内的记录）",
        f"  client_id     {client_id}",
        f"  client_secret {DEMO_SECRET}",
        "  试用：",
        f"  TOKEN=$(curl -s -X POST http://127.0.0.1:8000/oauth/token/ -u '{client_id}:{DEMO_SECRET}'"
        " -d grant_type=client_credentials | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        "  curl -s -H \"Authorization: Bearer $TOKEN\" 'http://127.0.0.1:8000/api/v1/students?limit=2'",
        "  接口文档 http://127.0.0.1:8000/api/v1/docs ，数据标准 http://127.0.0.1:8000/exchange/standard/",
    ]
