from django.urls import path

from eduplatform.web import views
from eduplatform.web.navigation import PLACEHOLDER_AREAS

app_name = "web"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("focus/", views.set_focus, name="set_focus"),
] + [path(f"{area.slug}/", views.placeholder_view(area.slug), name=f"area_{area.slug}") for area in PLACEHOLDER_AREAS]
