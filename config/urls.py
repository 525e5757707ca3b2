from django.urls import include, path

from config.api import api
from eduplatform.exchange.client_urls import oauth_urlpatterns

urlpatterns = [
    path("accounts/", include("eduplatform.accounts.urls")),
    path("standards/", include("eduplatform.standards.urls")),
    path("orgs/", include("eduplatform.orgs.urls")),
    path("students/", include("eduplatform.students.urls")),
    path("imports/", include("eduplatform.imports.urls")),
    path("exports/", include("eduplatform.core.export_views")),
    path("staff/", include("eduplatform.staff.urls")),
    path("facilities/", include("eduplatform.facilities.urls")),
    path("assets/", include("eduplatform.assets.urls")),
    path("statistics/", include("eduplatform.stats.urls")),
    path("statistics/", include("eduplatform.funding.urls")),
    path("reports/", include("eduplatform.reporting.urls")),
    path("public/", include("eduplatform.portal.urls")),
    path("api/v1/", api.urls),
    path("oauth/", include((oauth_urlpatterns, "oauth2_provider"))),  # token endpoints only
    path("exchange/clients/", include("eduplatform.exchange.client_urls")),
    path("exchange/standard/", include("eduplatform.exchange.standard_urls")),
    path("nodes/", include("eduplatform.nodes.urls")),
    path("quality/", include("eduplatform.quality.urls")),
    path("progress/", include("eduplatform.quality.progress_urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's language switch
    path("", include("eduplatform.web.urls")),
]
