"""The /api/v1/ API: core machinery plus each app's router."""

from eduplatform.core.api import make_api
from eduplatform.exchange.api_feed import router as feed_router
from eduplatform.exchange.api_records import router as records_router
from eduplatform.exchange.api_reference import router as reference_router
from eduplatform.orgs.api import router as orgs_router

api = make_api()
api.add_router("/", orgs_router)
api.add_router("/", records_router)
api.add_router("/", feed_router)
api.add_router("/", reference_router)
