from django.urls import path

from eduplatform.quality import progress_views

app_name = "progress"

urlpatterns = [
    path("", progress_views.overview, name="overview"),
    path("school/<int:school_id>/", progress_views.school, name="school"),
    path("scores/", progress_views.scores, name="scores"),
]
