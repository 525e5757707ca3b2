from django.urls import path

from eduplatform.web import views as web

app_name = "assets"

urlpatterns = [
    path("", web.placeholder_view("assets"), name="list"),
]
