from django.urls import path

from eduplatform.quality import views

app_name = "quality"

urlpatterns = [
    path("", views.issue_list, name="issues"),
]
