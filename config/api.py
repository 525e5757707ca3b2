"""The /api/v1/ API: core machinery plus each app's router."""

from eduplatform.core.api import make_api
from eduplatform.orgs.api import router as orgs_router

api = make_api()
api.add_router("/", orgs_router)
