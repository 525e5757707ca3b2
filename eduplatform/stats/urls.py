from django.urls import path

from eduplatform.stats import views

app_name = "stats"

urlpatterns = [
    path("", views.live, name="live"),
]
