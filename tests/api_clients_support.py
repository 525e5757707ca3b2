"""External systems for the API tests: register a client through the service, get a token over
the real ``/oauth/token/`` endpoint, call the API with it."""

from __future__ import annotations

from eduplatform.accounts import services as accounts
from eduplatform.accounts.roles import Role
from eduplatform.exchange import clients as services
from eduplatform.exchange import resources
from eduplatform.exchange.clients import GrantSpec
from eduplatform.orgs import capabilities
from tests.world import PASSWORD, World

# A resource of the registry for these tests (registered by ``api_resource``, removed afterwards):
# the record resources themselves come from exchange.record_resources.
SCHOOLS_FOR_TESTS = resources.ApiResource(
    key="test_schools", label="学校（测试）", description="测试用资源", natural_key=("school_code",), fields=(),
    read_capability=capabilities.VIEW_RECORDS, write_capability=capabilities.MANAGE_SCHOOLS, import_kind="schools",
)


def install_test_resource(monkeypatch) -> resources.ApiResource:
    monkeypatch.setitem(resources._RESOURCES, SCHOOLS_FOR_TESTS.key, SCHOOLS_FOR_TESTS)
    return SCHOOLS_FOR_TESTS


def county_security_admin(world: World, county: str = "a"):
    """A security administrator of county A's (or B's) bureau."""
    from eduplatform.accounts.models import User

    org = world.county_a if county == "a" else world.county_b
    username = f"secadmin_{county}"
    found = User.objects.filter(username=username).first()
    if found is not None:
        return found
    user = accounts.create_user(actor=None, username=username, password=PASSWORD, organization=org,
                                display_name=f"{org.name}安全管理员")
    accounts.grant_role(actor=None, user=user, role=Role.SECURITY_ADMIN)
    return User.objects.get(pk=user.pk)


def register(world: World, *, name: str = "天河区学籍系统", organization=None, read: bool = True, write: bool = False,
             rate_limit: int = 600, actor=None, may_see_personal: bool = False):
    grants = {SCHOOLS_FOR_TESTS.key: GrantSpec(read=read, write=write)} if read or write else {}
    return services.register_client(
        actor=actor or world.user("secadmin"), name=name, organization=organization or world.county_a,
        grants=grants, vendor="某软件公司", contact="李工 020-1234567", rate_limit=rate_limit,
        may_see_personal=may_see_personal,
    )


def token_response(http, client_id: str, secret: str):
    return http.post("/oauth/token/", {"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": secret})


def obtain_token(http, api_client, secret: str) -> str:
    response = token_response(http, api_client.application.client_id, secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"].lower() == "bearer" and body["expires_in"] > 0
    return body["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


