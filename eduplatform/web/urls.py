from django.urls import path

from eduplatform.web import inbox, views
from eduplatform.web.navigation import PLACEHOLDER_AREAS

app_name = "web"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("focus/", views.set_focus, name="set_focus"),
    path("inbox/", inbox.inbox_page, name="inbox"),
    path("inbox/badge/", inbox.inbox_badge, name="inbox_badge"),
    path("inbox/notice/", inbox.inbox_notice, name="inbox_notice"),
] + [path(f"{area.slug}/", views.placeholder_view(area.slug), name=f"area_{area.slug}") for area in PLACEHOLDER_AREAS]
