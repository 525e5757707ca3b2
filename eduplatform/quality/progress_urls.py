from django.urls import path

from eduplatform.quality import progress_views

app_name = "progress"

urlpatterns = [
    path("", progress_views.overview, name="overview"),
]
