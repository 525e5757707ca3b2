from django.urls import path

from eduplatform.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("<int:year>/", views.home, name="year"),
    path("<int:year>.csv", views.download, name="csv"),
]
